"""The console's complaint forms; limits match app/complaints/schemas.py, which loads them."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.complaints.models import Category, Channel, Grade, Status
from app.web.forms import LocalDateTimeField, length, options, required

CATEGORY_CHOICES = list(Category.labels().items())
GRADE_CHOICES = [(str(value), label) for value, label in Grade.labels().items()]
SATISFACTION_CHOICES = [("", "未评分（发送满意度调查短信）")] + [(str(n), f"{n} 分") for n in range(5, 0, -1)]


class RegisterComplaintForm(FlaskForm):
    phone = StringField("来电号码", validators=[required(), length(40)], description="任意常见格式；非本网用户也可受理")
    name = StringField("投诉人姓名", validators=[required(), length(120)])
    channel = SelectField("受理渠道", choices=options(Channel.labels().items()),
                          default="phone")
    received_at = LocalDateTimeField("受理时间", description="留空为当前时间；不能晚于现在")
    category = SelectField("投诉类别", choices=options(CATEGORY_CHOICES))
    grade = SelectField("投诉分级", choices=options(GRADE_CHOICES), default="1")
    content = TextAreaField("投诉内容", validators=[required(), length(10000)])
    urgent = BooleanField("紧急（人身财产安全、重大故障）")
    region = StringField("所在区域", validators=[Optional(), length(60)],
                         description="选填：目录中的区县或地市，如 西湖区")
    service = StringField("投诉业务", validators=[Optional(), length(40)], description="选填：如 移动数据、宽带")


class AssignForm(FlaskForm):
    agent = StringField("转派给（用户名）", validators=[required(), length(80)])
    reason = StringField("转派原因", validators=[required(), length(2000)])


class InvestigateForm(FlaskForm):
    findings = TextAreaField("调查结果", validators=[required(), length(10000)])


class FeedbackForm(FlaskForm):
    result = TextAreaField("处理结果（书面反馈）", validators=[required(), length(2000)])
    send_sms = BooleanField("短信告知投诉人", default=True)


class FollowUpForm(FlaskForm):
    satisfaction = SelectField("满意度", choices=options(SATISFACTION_CHOICES), validators=[Optional()])
    note = StringField("回访记录", validators=[length(2000)])


class CloseForm(FlaskForm):
    note = StringField("闭环说明", validators=[length(2000)])


class AppealForm(FlaskForm):
    reason = TextAreaField("申诉理由", validators=[required(), length(2000)])


class AppealReviewForm(FlaskForm):
    result = TextAreaField("复核结论", validators=[required(), length(2000)])


class ComplaintFilterForm(Form):
    """The complaints board's filters (GET query, no CSRF)."""

    mine = SelectField("范围", choices=options([("", "全部投诉"), ("1", "我的投诉")]), validators=[Optional()])
    overdue = SelectField("时限", choices=options([("", "全部时限"), ("1", "已超时")]), validators=[Optional()])
    category = SelectField("类别", choices=options([("", "全部类别"), *CATEGORY_CHOICES]), validators=[Optional()])
    grade = SelectField("分级", choices=options([("", "全部分级"), *GRADE_CHOICES]), validators=[Optional()])
    status = SelectField("状态", choices=options([("", "全部状态"), *Status.labels().items()]),
                         validators=[Optional()])
