"""Domain errors as a person reads them: the field or the state named in Chinese."""
from __future__ import annotations

import re

from app.errors import InvalidInput, TransitionNotAllowed
from app.incidents.models import Status

FIELD_LABELS_ZH = {
    "title": "故障标题",
    "description": "故障描述",
    "services": "受影响业务",
    "regions": "受影响区域",
    "detected_at": "故障发生时间",
    "level": "定级",
    "level_reason": "定级理由",
    "major": "重大服务中断",
    "major_reason": "重大理由",
    "estimated_recovery_at": "预计恢复时间",
    "fault_type": "故障类型",
    "scope_summary": "影响范围",
    "responder": "负责人",
    "emergency_response": "应急响应",
    "message": "进展内容",
    "reason": "理由",
    "entries": "责任认定",
    "category": "原因类别",
    "sub_cause": "具体原因",
    "party": "责任方",
    "share": "责任比例",
    "recovered_at": "恢复时间",
    "summary": "恢复说明",
}

ACTION_LABELS_ZH = {
    "declare": "登记",
    "report": "上报调度中心",
    "respond": "响应处理",
    "update": "进展通报",
    "regrade": "调整定级",
    "responsibility": "原因与责任认定",
    "recover": "确认恢复",
    "cancel": "误报撤销",
    "close": "闭环",
    "notice_formal": "发送正式通知",
    "notice_outage": "发送故障通知",
    "compensation.csv": "下载补偿清单（结算后提供）",
    "view": "查看分析报告",
}

_ENTRY_PATH = re.compile(r"^entries\.(\d+)(?:\.(\w+))?$")


def status_label(status: str) -> str:
    return Status.label_of(status)


def invalid_field_and_message(error: InvalidInput) -> tuple[str, str]:
    """The offending field path (e.g. ``level_reason``, ``entries.1.share``) and the bare message."""
    fields = error.details.get("errors", {}).get("json", {})
    for field, messages in fields.items():
        return field, "；".join(messages)
    return "", error.message


def field_label(path: str) -> str:
    match = _ENTRY_PATH.match(path)
    if match:
        row, leaf = int(match.group(1)) + 1, match.group(2)
        return f"责任认定第 {row} 条" + (f"·{FIELD_LABELS_ZH.get(leaf, leaf)}" if leaf else "")
    return FIELD_LABELS_ZH.get(path, path)


def describe_invalid(error: InvalidInput) -> str:
    field, message = invalid_field_and_message(error)
    return f"{field_label(field)}：{message}" if field else message


def describe_transition(error: TransitionNotAllowed) -> str:
    state = error.details.get("state", "")
    action = error.details.get("action", "")
    if "missing" in error.details or "proposal_id" in error.details or state not in Status.labels():
        # close names what is missing; a concurrent change and a decided alert proposal (who, when)
        # explain themselves.
        return error.message
    return (f"当前状态「{status_label(state)}」({state}) 不允许执行「{ACTION_LABELS_ZH.get(action, action)}」"
            f" (not allowed from state '{state}')")
