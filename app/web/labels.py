"""Display names for service codes. Codes stay what the API and the policy use; a code without
a name here is shown as it is."""
from __future__ import annotations

SERVICE_LABELS_ZH = {
    "core_network": "核心网",
    "mobile_voice": "移动语音",
    "mobile_data": "移动数据",
    "broadband": "宽带",
    "fixed_voice": "固定电话",
    "sms": "短信",
    "iptv": "IPTV",
    "全业务": "全业务",
}


def service_label(code: str) -> str:
    return SERVICE_LABELS_ZH.get(code, code)
