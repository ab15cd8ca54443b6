"""The console's forms. Limits match the API's marshmallow schemas (app/incidents/schemas.py);
the views load every form's data through those same schemas before calling the service."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.catalog import service as catalog
from app.incidents.causes import CAUSES, CauseCategory
from app.incidents.models import Level, Status
from app.service_names import service_code

REQUIRED = "必填 (required)"
# Not blanks: a name may hold a space ("mobile data"), and "杭州 宁波" is better refused by name than guessed.
LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")


def required():
    return DataRequired(message=REQUIRED)


class TextLimit(Length):
    """A length checked on the server and said as a message, never a ``maxlength`` attribute:
    the browser would silently cut a pasted title instead of saying it is too long."""

    def __init__(self, maximum: int) -> None:
        super().__init__(max=maximum, message=f"不超过 {maximum} 个字符，当前 %(length)d 个 (at most {maximum} characters)")
        self.field_flags = {}


def length(maximum: int):
    return TextLimit(maximum)


class LocalDateTimeField(DateTimeLocalField):
    """A datetime-local input read as wall-clock time in the policy's zone (converted by the view)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators or [Optional()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                                                                       "%Y-%m-%d %H:%M"], **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("时间格式应为 年-月-日 时:分 (invalid date and time)") from None


class ChineseDateField(DateField):
    """A date input whose parse error is said in Chinese first."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("日期格式应为 年-月-日 (invalid date)") from None


def split_list(text: str | None) -> list[str]:
    """"mobile_data, broadband" / "杭州、宁波" → ['mobile_data', 'broadband'] / ['杭州', '宁波']."""
    return [part.strip() for part in LIST_SEPARATORS.split(text or "") if part.strip()]


def service_codes(text: str | None) -> list[str]:
    """"移动数据、宽带" (or the codes themselves) → ['mobile_data', 'broadband'], by the catalog's names."""
    return [service_code(code) for code in catalog.codes_for("service", split_list(text))]


def single_code(kind: str, text: str) -> str:
    """One service or region typed by name or code → its catalog code (as typed when unknown)."""
    codes = catalog.codes_for(kind, [text])
    return service_code(codes[0]) if kind == "service" else codes[0]


def region_codes(text: str | None) -> list[str]:
    """"杭州市、Ningbo" (or the codes themselves) → ['杭州', '宁波'], by the catalog's names."""
    return catalog.codes_for("region", split_list(text))


def options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


LEVEL_CHOICES = options((str(level.value), f"{level.label}（{level.value} 级）") for level in Level)


class LoginForm(FlaskForm):
    name = StringField("用户名", validators=[required(), length(80)])
    password = PasswordField("密码", validators=[required()])


class ButtonForm(FlaskForm):
    """A form with nothing but its CSRF token (logout, close)."""


class DeclareForm(FlaskForm):
    title = StringField("故障标题", validators=[required(), length(200)])
    description = TextAreaField("故障描述", validators=[Optional(), length(10000)])
    services = StringField("受影响业务", validators=[required()],
                           description="业务名称，多个用逗号或顿号分隔，如 移动数据、宽带")
    regions = StringField("受影响区域", validators=[required()],
                          description="区域名称，多个用逗号或顿号分隔；全网填“全网”")
    detected_at = LocalDateTimeField("故障发生时间", description="留空为当前时间；可回溯填写")
    level = SelectField("定级", choices=[SelectChoice("", "采用系统建议定级"), *LEVEL_CHOICES], default="")
    level_reason = TextAreaField("定级理由", validators=[Optional(), length(2000)],
                                 description="与建议定级不同时必填")
    major = BooleanField("重大服务中断")
    major_reason = TextAreaField("重大理由", validators=[Optional(), length(2000)],
                                 description="二、三级故障标记为重大时必填；一级故障均为重大")
    estimated_recovery_at = LocalDateTimeField("预计恢复时间")
    # 演练: only here, at declaration (app/notify/drills.py says what it changes)
    drill = BooleanField("演练", description="演练不计入任何统计，不在公众页面显示；消息以【演练】开头，用户通知只发往演练测试号码")
    plan_ids = SelectMultipleField("引用应急预案", coerce=int, choices=[], validators=[Optional()],
                                   description="可多选；登记后也可在故障页引用")


class ReportForm(FlaskForm):
    fault_type = StringField("故障类型", validators=[required(), length(200)])
    scope_summary = TextAreaField("影响范围", validators=[required(), length(5000)])
    estimated_recovery_at = LocalDateTimeField("预计恢复时间", description="登记时已填写可留空")


class RespondForm(FlaskForm):
    responder = StringField("负责人", validators=[required(), length(120)])
    emergency_response = BooleanField("启动应急响应", description="重大服务中断必须启动")


class UpdateForm(FlaskForm):
    message = TextAreaField("进展内容", validators=[required(), length(5000)])
    notify_subscribers = BooleanField("同时短信通知受影响用户")
    public = BooleanField("在公开服务状态页发布（用户可见，勿写内部信息）")


class RegradeForm(FlaskForm):
    level = SelectField("新定级", choices=LEVEL_CHOICES, validators=[required()])
    major = SelectField("重大服务中断", choices=options([("", "保持不变"), ("1", "标记为重大"), ("0", "取消重大")]), default="")
    major_reason = TextAreaField("重大理由", validators=[Optional(), length(2000)], description="留空则沿用调整理由")
    reason = TextAreaField("调整理由", validators=[required(), length(2000)])


# Flat for validation; the template groups them by category (<optgroup>) for the reader.
SUB_CAUSE_CHOICES = options((code, label) for subs in CAUSES.values() for code, label in subs.items())


class ResponsibilityRowForm(Form):
    """One row of 责任认定; a row left entirely blank is ignored."""

    category = SelectField("原因类别", choices=options([("", "—"), *((c.value, c.label) for c in CauseCategory)]), default="")
    sub_cause = SelectField("具体原因", choices=[SelectChoice("", "—"), *SUB_CAUSE_CHOICES], default="")
    party = StringField("责任方", validators=[Optional(), length(120)])
    share = IntegerField("比例 %", validators=[Optional(), NumberRange(min=1, max=100, message="1–100")])

    def is_blank(self) -> bool:
        return not (self.category.data or self.sub_cause.data or (self.party.data or "").strip() or self.share.data)


RESPONSIBILITY_ROWS = 4  # rows offered on a blank form; a saved list shows its own rows plus two


class ResponsibilityForm(FlaskForm):
    entries = FieldList(FormField(ResponsibilityRowForm), min_entries=RESPONSIBILITY_ROWS, max_entries=20)


class RecoverForm(FlaskForm):
    recovered_at = LocalDateTimeField("恢复时间", description="留空为当前时间")
    summary = TextAreaField("恢复说明", validators=[required(), length(5000)],
                            description="技术、业务、数据恢复情况")


class CancelForm(FlaskForm):
    reason = TextAreaField("撤销理由", validators=[required(), length(2000)])


class FormalNoticeForm(FlaskForm):
    explanation = TextAreaField("详细说明", validators=[required(), length(2000)],
                                description="原因、影响与处理情况，将随正式通知发送给受影响用户")


OPEN_ONLY = "open"  # the board's default: every incident not yet closed or cancelled


class BoardFilterForm(Form):
    """The board's filters (GET query, no CSRF)."""

    q = StringField("搜索", validators=[Optional(), length(200)], description="编号或标题")
    region = StringField("区域", validators=[Optional(), length(40)], description="如 杭州")
    status = SelectField("状态", default=OPEN_ONLY,
                         choices=options([(OPEN_ONLY, "未闭环"), ("", "全部状态"),
                                          *((s.value, s.label) for s in Status)]))
    level = SelectField("定级", choices=options([("", "全部定级"), *((str(level.value), level.label) for level in Level)]), default="")
    major = SelectField("重大", choices=options([("", "全部"), ("1", "仅重大"), ("0", "非重大")]), default="")
    breached = SelectField("时限", choices=options([("", "全部时限"), ("1", "有超时"), ("0", "无超时")]), default="")

    def criteria(self) -> dict:
        """The incidents service's list arguments, the worst first."""
        criteria: dict = {"worst_first": True}
        if self.status.data == OPEN_ONLY:
            criteria["open_only"] = True
        elif self.status.data:
            criteria["status"] = self.status.data
        if self.level.data:
            criteria["level"] = int(self.level.data)
        if self.major.data:
            criteria["major"] = self.major.data == "1"
        if self.breached.data:
            criteria["breached"] = self.breached.data == "1"
        if (self.region.data or "").strip():
            criteria["region"] = self.region.data.strip()
        if (self.q.data or "").strip():
            criteria["search"] = self.q.data.strip()
        return criteria


class AnalysisReportForm(FlaskForm):
    """The reviewer's free-text sections of the 故障分析报告 (limits as ReportEditSchema)."""

    preventive_measures = TextAreaField("后续预防措施", validators=[Optional(), length(20000)],
                                        description="提交前必填")
    lessons = TextAreaField("经验教训", validators=[Optional(), length(20000)])
    rectification_notes = TextAreaField("整改说明", validators=[Optional(), length(20000)])
    base_version = HiddenField()


class DisputeForm(FlaskForm):
    """A subscriber's dispute of the final compensation, recorded by whoever took the call."""

    phone = StringField("用户号码", validators=[required(), length(32)], description="任意常见格式，如 138 0013 8000")
    reason = TextAreaField("异议理由", validators=[required(), length(2000)])
    economic_credit = StringField("拟调整经济补偿（元）", validators=[required(), length(20)], description="如 5.00")
    data_credit_gb = IntegerField("拟调整流量补偿（GB）",
                                  validators=[InputRequired(message=REQUIRED), NumberRange(min=0, max=10000, message="0–10000")])


class DecisionForm(FlaskForm):
    """Approve or reject a proposed plan, with an optional note."""

    note = StringField("审批意见", validators=[Optional(), length(2000)])


class RectificationForm(FlaskForm):
    title = StringField("整改事项", validators=[required(), length(200)])
    owner = StringField("责任人", validators=[required(), length(120)])
    due_date = ChineseDateField("完成期限", validators=[InputRequired(message=REQUIRED)])
    description = TextAreaField("说明", validators=[Optional(), length(10000)])


RECTIFICATION_STATES = options([("", "状态不变"), ("done", "标记完成"), ("open", "重新打开")])


class RectificationUpdateForm(FlaskForm):
    owner = StringField("责任人", validators=[required(), length(120)])
    due_date = ChineseDateField("完成期限", validators=[InputRequired(message=REQUIRED)])
    state = SelectField("状态", choices=RECTIFICATION_STATES, default="")
    completion_note = TextAreaField("完成情况", validators=[Optional(), length(5000)], description="标记完成时必填")
class ProposalDeclareForm(FlaskForm):
    """One click: declare the incident an alert proposal pre-fills (CSRF only)."""


class ProposalDismissForm(FlaskForm):
    reason = StringField("忽略原因", validators=[required(), length(2000)])
