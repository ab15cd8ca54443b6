"""Phone numbers: E.164 inside, masked in every log line."""
from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "CN"


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, default_region: str = DEFAULT_REGION) -> str:
    """Parse any common format ("138 0013 8000", "+86-138…", "0086…") into E.164."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"无法识别的号码 (unparseable phone number): {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("号码无效 (not a valid phone number)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str | None) -> str:
    """+8613800138000 -> +86138****8000: enough to tell numbers apart, not to dial them."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return phone[:2] + "*" * (len(phone) - 2)
    return phone[:-8] + "****" + phone[-4:]
