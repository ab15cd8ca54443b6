"""Display names of service codes, for SMS text and the console. Codes stay what the API and
the policy use; a code without a name here is shown as it is."""
from __future__ import annotations

SERVICE_NAMES = {
    "zh-CN": {
        "mobile_data": "移动数据", "mobile_voice": "移动语音", "core_network": "核心网", "broadband": "宽带",
        "sms": "短信", "iptv": "IPTV", "fixed_voice": "固定电话", "全业务": "全部业务",
    },
    "en": {
        "mobile_data": "mobile data", "mobile_voice": "mobile voice", "core_network": "core network",
        "broadband": "broadband", "sms": "SMS", "iptv": "IPTV", "fixed_voice": "fixed line", "全业务": "all services",
    },
}


def service_name(code: str, language: str = "zh-CN") -> str:
    return SERVICE_NAMES[language].get(code, code)


_CODES_BY_NAME = {name.casefold(): code for names in SERVICE_NAMES.values() for code, name in names.items()}


def service_code(text: str) -> str:
    """The code of a service typed by its name in either language ("移动数据", "Broadband");
    a code, or a name not in the table, is returned as it is."""
    return _CODES_BY_NAME.get(text.strip().casefold(), text.strip())
