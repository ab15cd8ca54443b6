"""Per-subscriber placeholders in a notice's text (RULES §6: "text is a template with placeholders").

A notice is rendered ONCE per (batch, language) at queue time, so queuing stays one
``INSERT … SELECT`` whatever the number of subscribers. The fields that differ per person
are left in that text as markers, and the sender fills them for the chunk it claimed
(``app.notify.personal.render_for_recipients``):

- ``greeting``      尊敬的张三 / "Dear Zhang San, " — the subscriber's name only when the policy's
                    ``notices.personal_name`` allows it; otherwise the neutral 尊敬的用户 / "" is
                    written straight into the batch text (no marker, nothing to fill);
- ``own_services``  the subscriber's own services among the incident's (移动数据、宽带);
- ``compensation``  the subscriber's own credit from the ledger (yuan and GB).

A marker is the field name between two private-use characters (U+E000 … U+E001): no template
or SMS text uses them, and they are stripped from operator-supplied context so an update's
message cannot smuggle one in.
"""
from __future__ import annotations

import re

OPEN, CLOSE = "\ue000", "\ue001"
FIELDS = ("greeting", "own_services", "compensation")
MARKER = re.compile(f"{OPEN}({'|'.join(FIELDS)}){CLOSE}")

# What the neutral greeting reads when the name is not used (or the subscriber has none).
NEUTRAL_GREETING = {"zh-CN": "尊敬的用户", "en": ""}
# What the compensation field reads for a subscriber with no ledger entry (never an invented amount).
GENERIC_COMPENSATION = {"zh-CN": "您的补偿已计入账户，明细可拨打客服热线查询",
                        "en": "your credit has been applied to your account"}


def defaults(context: dict, language: str) -> dict:
    """A render outside the outbox (the console's preview, a one-off text) with the neutral
    per-subscriber values where none is given: the incident's services, no name, no amount."""
    return {"own_services": context.get("services", ""), "greeting": NEUTRAL_GREETING.get(language, ""),
            "compensation": GENERIC_COMPENSATION.get(language, GENERIC_COMPENSATION["zh-CN"]), **context}


def marker(field: str) -> str:
    return f"{OPEN}{field}{CLOSE}"


def has_markers(text: str) -> bool:
    return OPEN in text


def fields_in(text: str) -> set[str]:
    return set(MARKER.findall(text))


def clean(value):
    """Operator text (an update's message, an explanation) with any marker character removed."""
    if isinstance(value, str):
        return value.replace(OPEN, "").replace(CLOSE, "")
    return value


def batch_context(context: dict, language: str, personal_name: bool) -> dict:
    """The context of one (batch, language) render: caller-given values win (e.g. a fixed
    ``compensation`` text), every other per-subscriber field becomes its marker."""
    values = {key: clean(value) for key, value in context.items()}
    values.setdefault("own_services", marker("own_services"))
    values.setdefault("compensation", marker("compensation"))
    values.setdefault("greeting", marker("greeting") if personal_name else NEUTRAL_GREETING.get(language, ""))
    return values


def typical(text: str, context: dict, language: str) -> str:
    """The text with the neutral values in place of its markers (the incident's services, no
    name, no amount): what ``notice_texts.segments`` counts, the estimate a projection made at
    queueing time can use. A subscriber's own count (stored per notice when sent) may differ:
    fewer services make it shorter, a long name or an amount longer."""
    values = defaults({"services": context.get("services", "")}, language)
    return MARKER.sub(lambda m: str(values[m.group(1)]), text)
