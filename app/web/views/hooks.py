"""What runs around every console request: CSRF and log-in, the page context, template
filters, and errors shown to the person (never a 500)."""
from __future__ import annotations

from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden

from app import errors
from app.auth import permissions
from app.auth.models import Role
from app.errors import DomainError, InvalidInput, NotFound, TransitionNotAllowed
from app.extensions import db
from app.incidents.models import Level, Status
from app.policy import current_policy
from app.service_names import service_name
from app.staff import service as staff_service
from app.web import forms, lifecycle, messages, stale_forms, timefmt
from app.web.csrf import csrf
from app.web.session_auth import load_session_user
from app.web.views import bp



@bp.before_request
def _guard():
    if request.endpoint == "console.static":
        return None
    if load_session_user() is None and request.endpoint not in ("console.login", "console.logout"):
        if request.method == "GET":
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        if not stale_forms.posted_after_log_out():
            csrf.protect()
            flash("请先登录 (please log in)", "error")
            return redirect(url_for("console.login"))
        if request.endpoint in stale_forms.NOT_FORMS:
            return jsonify(message="登录已失效，请重新登录 (session ended)"), 401
        # A form posted from a page left open after log-out: nothing is changed (no user), what
        # was typed is kept for the same person.
        page, dropped = stale_forms.stash(request)
        flash("登录已失效，请重新登录；您填写的内容已保留，登录后请检查并重新提交"
              + (f"（过长未能保留：{'、'.join(messages.field_label(name.rsplit('-', 1)[-1]) for name in dropped)}）"
                 if dropped else "")
              + " (session ended: log in again; your form was kept)", "error")
        return redirect(url_for("console.login", next=page))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()  # raises CSRFError → 400 before anything is read or changed
    return None


@bp.context_processor
def _page_context() -> dict[str, Any]:
    user = getattr(g, "current_user", None)
    return {
        "console_user": user,
        "role_label": Role.label_of(user.role) if user else None,
        "logout_form": forms.ButtonForm(formdata=None, prefix="logout") if user else None,
        "can_declare": bool(user and lifecycle.can_declare(user)),
        "can_view_alerts": bool(user and permissions.may(user, "view_staff_alerts")),
        "pending_alerts": staff_service.unacknowledged_count(user) if user else 0,
        "zone_name": current_policy().data["timezone"],
        "status_labels": Status.labels(),
        "level_labels": Level.labels(),
    }


@bp.app_template_filter("service_label")
def _service_label_filter(code: str) -> str:
    return service_name(code)


@bp.app_template_filter("localtime")
def _localtime_filter(moment, fmt: str = timefmt.DISPLAY_FORMAT) -> str:
    return timefmt.localtime(moment, fmt)


# --- errors: shown to the person, never a 500 ------------------------------------------------

@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    return render_template("web/error.html", code=400, title="请求已失效",
                           detail=f"表单缺少或带有无效的安全令牌（CSRF），未做任何修改。请刷新页面后重试。({error.description})"), 400


@bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return render_template("web/error.html", code=403, title="无权操作", detail=error.description), 403


@bp.errorhandler(NotFound)
def _not_found(error: NotFound):
    db.session.rollback()
    return render_template("web/error.html", code=404, title="未找到", detail=error.message), 404


@bp.errorhandler(errors.Forbidden)
def _not_permitted(error: errors.Forbidden):
    """A rule about people (the proposer never approves): 403, with the way back to the page."""
    db.session.rollback()
    return render_template("web/error.html", code=403, title="无权操作", detail=error.message,
                           back=_page_of_the_refused_action()), 403


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    """A refusal the view did not handle itself: say why, change nothing, go back to the incident."""
    db.session.rollback()
    if isinstance(error, TransitionNotAllowed):
        flash(messages.describe_transition(error), "error")
    elif isinstance(error, InvalidInput):
        flash(messages.describe_invalid(error), "error")
    else:
        flash(error.message, "error")
    return redirect(_page_of_the_refused_action())


def _page_of_the_refused_action() -> str:
    """Back to the page the refused form was on: the report page, the inbox, the incident or the board."""
    args = request.view_args or {}
    posted_on_report_page = request.method == "POST" and "analysis_report" in (request.endpoint or "")
    if posted_on_report_page and "incident_id" in args:
        return url_for("console.analysis_report_page", incident_id=args["incident_id"])
    if request.endpoint == "console.acknowledge_staff_alert":
        return url_for("console.staff_alerts")
    if "incident_id" in args:
        return url_for("console.incident_detail", incident_id=args["incident_id"])
    return url_for("console.board")


