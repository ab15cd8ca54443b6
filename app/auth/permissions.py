"""Who may do what: one table of named actions and the roles allowed each.

The API decorators and the console both read this table, and nothing else decides a role
question. Admin may do everything. Adding a role is one edit here (after the ``Role``
member itself): name it in the actions it may take. Separation of duties (whoever proposes
never approves) is a rule about people, not roles, and lives in the services that record
who proposed.
"""
from __future__ import annotations

import functools
from typing import Callable

from flask import abort, g

from app.auth.models import Role, User

_O, _DM, _RV, _AG, _IN = Role.operator, Role.duty_manager, Role.reviewer, Role.agent, Role.integration

# People who read the incident record (not machines).
_STAFF = (_O, _DM, _RV, _AG)
_INCIDENT_HANDLERS = (_O, _DM)

PERMISSIONS: dict[str, tuple[Role, ...]] = {
    # Reference and policy
    "view_policy": _STAFF,
    # The catalog of services and regions: everyone signed in reads it (machines too); admins change it.
    "view_catalog": (*_STAFF, _IN),
    "manage_catalog": (),
    # Incidents
    "view_incidents": _STAFF,
    "declare": _INCIDENT_HANDLERS,
    "report": _INCIDENT_HANDLERS,
    "respond": _INCIDENT_HANDLERS,
    "post_update": _INCIDENT_HANDLERS,
    "set_responsibility": _INCIDENT_HANDLERS,
    "recover": _INCIDENT_HANDLERS,
    "regrade": (_DM,),
    "cancel": (_DM,),
    "close": (_DM,),
    # Subscribers and notices
    "view_subscribers": _STAFF,
    "manage_subscribers": _INCIDENT_HANDLERS,
    "view_notices": _STAFF,
    "preview_notice": _STAFF,
    "queue_notice": _INCIDENT_HANDLERS,
    # Compensation and accountability
    "view_compensation": _STAFF,
    "dispute_compensation": (_O, _DM, _AG),
    "approve_compensation": (_DM,),
    "reject_compensation": (_DM,),
    "notify_responsibility": _INCIDENT_HANDLERS,
    "manage_rectifications": _INCIDENT_HANDLERS,
    # The analysis report (故障分析报告)
    "view_analysis_report": _STAFF,
    "edit_analysis_report": (_RV,),
    "submit_analysis_report": (_RV, _DM),  # the duty manager answers to the dispatch center
    "approve_analysis_report": (_RV,),
    # Complaints and appeals (投诉与申诉, RULES §8): agents register and handle; grades from the
    # policy's duty_manager_from_grade (二级 and up) and appeal reviews are the duty manager's.
    "view_complaints": _STAFF,
    "register_complaint": (_AG, _DM),
    "assign_complaint": (_AG, _DM),
    "handle_complaint": (_AG, _DM),
    "accept_appeal": (_AG, _DM),
    "review_appeal": (_DM,),
    "feed_back_incident_complaints": (_AG, _DM),
    "view_complaint_measures": _STAFF,
    # Staff alerts (warnings and escalations): each person reads and acknowledges their own
    "view_staff_alerts": _STAFF,
    "acknowledge_staff_alert": _STAFF,
    # Alarms in (RULES §9): machines post alerts; operators turn proposals into incidents
    "ingest_alerts": (_IN,),
    "view_alert_proposals": _INCIDENT_HANDLERS,
    "decide_alert_proposal": _INCIDENT_HANDLERS,
    # The on-call roster (值班表, RULES §9): everyone reads who is on duty; duty managers set it.
    "view_oncall": _STAFF,
    "manage_oncall": (_DM,),
    # "Is my line affected?" lookups (the lookups themselves are public): how many were made
    "view_status_lookups": _STAFF,
    # Emergency plans (应急预案): staff read the register; duty managers keep it; incident handlers cite.
    "view_plans": _STAFF,
    "manage_plans": (_DM,),
    "cite_plan": _INCIDENT_HANDLERS,
    # Reports out (上报, regulator; RULES §9): their delivery state
    "view_outbound_reports": _STAFF,
}


def roles_for(action: str) -> frozenset[str]:
    """The role values allowed ``action`` (admin always among them); KeyError for an unknown action."""
    return frozenset({role.value for role in PERMISSIONS[action]} | {Role.admin.value})


def may(user: User | None, action: str) -> bool:
    return user is not None and user.role in roles_for(action)


def requires(action: str) -> Callable:
    """Allow only the roles the table gives ``action``; 401 without a user, 403 otherwise.

    Works for the API (bearer token) and the console (login session) alike: both put the
    caller on ``g.current_user``. The wrapper carries ``permission`` so a test (and the
    API's deny-by-default check) can see that every view names one.
    """
    allowed = roles_for(action)  # an unknown action fails at import, not at request time

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = getattr(g, "current_user", None)
            if user is None:
                abort(401, description="需要登录凭据 (missing credentials)")
            if user.role not in allowed:
                abort(403, description=f"角色 {user.role} 无权执行此操作「{action}」"
                                       f" (role not allowed; needs one of {sorted(allowed)})")
            return view(*args, **kwargs)

        wrapper.permission = action
        return wrapper

    return decorator


def permission_of(view: Callable, method: str) -> str | None:
    """The action a view function (or a MethodView's handler for ``method``) requires, if any."""
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class is not None else view
    return getattr(handler, "permission", None)
