"""Every kind of timeline event (处理过程), from every domain that writes to the timeline, with
the one label the console and the analysis report show for it.

``timeline.record`` refuses a kind that is not here, so a new event cannot reach the timeline
without its label; tests/incidents/test_timeline_kinds.py checks that no two kinds share one.
"""
from __future__ import annotations

from app.labels import LabeledEnum


class EventKind(LabeledEnum):
    # the incident's lifecycle (app.incidents)
    declared = "declared", "登记"
    reported = "reported", "上报"
    responded = "responded", "响应"
    progress_update = "progress_update", "进展通报"
    regraded = "regraded", "定级调整"
    responsibility_set = "responsibility_set", "责任认定"
    recovered = "recovered", "恢复"
    analysis_report_submitted = "analysis_report_submitted", "分析报告提交"
    closed = "closed", "闭环"
    cancelled = "cancelled", "误报撤销"
    # deadlines (app.scheduling)
    deadline_warning = "deadline_warning", "时限预警"
    deadline_breached = "deadline_breached", "超时"
    deadline_met_late = "deadline_met_late", "超时完成"
    deadline_breach_withdrawn = "deadline_breach_withdrawn", "撤销超时判定"
    deadline_escalated = "deadline_escalated", "超时升级"
    deadlines_recomputed = "deadlines_recomputed", "时限重算"
    # the on-call roster's escalation of a breach (app.oncall)
    oncall_escalated = "oncall_escalated", "值班逐级升级"
    # No longer written (acknowledgements are staff_alert_acknowledged, with their channel): kept so
    # that older timelines still show their label.
    oncall_acknowledged = "oncall_acknowledged", "值班告警已确认"
    oncall_voice_call = "oncall_voice_call", "值班电话呼叫"
    # compensation, responsibility notice and rectification (app.compensation)
    responsibility_notice = "responsibility_notice", "责任通报"
    rectification_added = "rectification_added", "新增整改项"
    rectification_updated = "rectification_updated", "修改整改项"
    rectification_completed = "rectification_completed", "整改完成"
    rectification_reopened = "rectification_reopened", "整改重开"
    compensation_finalised = "compensation_finalised", "补偿结算"
    compensation_disputed = "compensation_disputed", "补偿异议"
    compensation_adjustment_first_approved = "compensation_adjustment_first_approved", "补偿调整初审同意"
    compensation_adjustment_approved = "compensation_adjustment_approved", "补偿调整获批"
    compensation_adjustment_rejected = "compensation_adjustment_rejected", "补偿调整驳回"
    # the analysis report's review (app.reports)
    analysis_report_approved = "analysis_report_approved", "报告审核通过"
    # emergency plans (app.plans)
    plan_cited = "plan_cited", "引用应急预案"
    # reports out to the dispatch centre and the regulator (app.outbound)
    outbound_attempt_failed = "outbound_attempt_failed", "报送发送失败"
    outbound_acknowledged = "outbound_acknowledged", "报送已确认接收"
    regulator_report_started = "regulator_report_started", "发起监管报送"
    # staff alerts (app.staff)
    staff_alert_acknowledged = "staff_alert_acknowledged", "告警已确认"
