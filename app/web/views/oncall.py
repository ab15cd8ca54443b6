"""The roster page (值班表): who is on duty now at each tier, the week's shifts, the newest escalation
chains (tier reached, acknowledgement, voice call), and (duty managers) a form adding a shift. Times are shown and entered in the policy's zone."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired

from app.auth.access import current_user
from app.auth.permissions import may, requires
from app.errors import InvalidInput
from app.oncall import escalation, presenter, service
from app.oncall.models import Tier
from app.scheduling.models import LABELS_BY_VALUE
from app.web import timefmt
from app.web.forms import REQUIRED, LocalDateTimeField, options
from app.web.views import bp


class ShiftForm(FlaskForm):
    user_id = SelectField("值班人员", coerce=int, validators=[InputRequired(message=REQUIRED)])
    tier = SelectField("级别", coerce=int, choices=options([(int(t), f"{int(t)} {t.label}") for t in Tier]))
    starts_at = LocalDateTimeField("开始时间", validators=[InputRequired(message=REQUIRED)])
    ends_at = LocalDateTimeField("结束时间", validators=[InputRequired(message=REQUIRED)])


def _shift_form() -> ShiftForm:
    form = ShiftForm(prefix="shift")
    form.user_id.choices = options([(u.id, f"{u.name}") for u in service.rosterable_people()])
    return form


def _page(form: ShiftForm, status: int = 200):
    window_from, window_to = presenter.window(None, None)
    roster = presenter.roster(window_from, window_to, service.shifts_in(window_from, window_to))
    return render_template("web/oncall.html", roster=roster, form=form, localtime=timefmt.localtime,
                           chains=escalation.recent_chains(), deadline_labels=LABELS_BY_VALUE,
                           can_edit=may(current_user(), "manage_oncall")), status


@bp.get("/oncall")
@requires("view_oncall")
def oncall_roster():
    """Who is on duty now at each tier, and the shifts from today for seven days."""
    return _page(_shift_form())


@bp.post("/oncall/shifts")
@requires("manage_oncall")
def oncall_add_shift():
    form = _shift_form()
    if not form.validate():
        flash("未保存：请检查标出的字段 (nothing saved; see the marked fields)", "error")
        return _page(form, 422)
    try:
        service.add_shift(service.ShiftInput(form.user_id.data, Tier(form.tier.data),
                                             timefmt.local_to_utc(form.starts_at.data),
                                             timefmt.local_to_utc(form.ends_at.data)), current_user())
    except InvalidInput as error:
        flash(f"未保存：{error.message}", "error")
        return _page(form, 422)
    flash("班次已添加", "success")
    return redirect(url_for("console.oncall_roster"))

