"""Cause categories and sub-causes (RULES §4); the codes are fixed by API.md."""
from __future__ import annotations

from app.labels import LabeledEnum


class CauseCategory(LabeledEnum):
    technical = "technical", "技术性原因"
    management = "management", "管理性原因"
    external = "external", "外部因素"
    human = "human", "人为因素"


# category → sub-cause code → its label (the one owner of the sub-causes' labels)
CAUSES: dict[str, dict[str, str]] = {
    CauseCategory.technical.value: {
        "equipment_failure": "网络设备故障",
        "software_anomaly": "软件系统异常",
        "hardware_aging": "硬件老化",
        "transmission_interruption": "数据传输中断",
        "protocol_conflict": "通信协议冲突",
    },
    CauseCategory.management.value: {
        "process_nonconformance": "服务流程不规范",
        "resource_misallocation": "资源调配不当",
        "insufficient_training": "人员培训不足",
        "maintenance_lapse": "系统维护不到位",
        "operator_error": "人员操作失误",
    },
    CauseCategory.external.value: {
        "natural_disaster": "自然灾害",
        "extreme_weather": "极端天气",
        "power_outage": "电力供应中断",
        "third_party_failure": "第三方服务提供商故障",
        "policy_change": "政策法规变动",
    },
    CauseCategory.human.value: {
        "user_misoperation": "用户操作不当",
        "security_incident": "安全事件",
    },
}

# Who answers for each category by default (RULES §4 "responsibility follows the cause").
DEFAULT_PARTY_ZH = {
    CauseCategory.technical.value: "技术部门",
    CauseCategory.management.value: "管理部门",
    CauseCategory.external.value: "外部单位",
    CauseCategory.human.value: "用户或责任人",
}
