"""Which lifecycle actions the console offers on an incident, and to whom.

The incidents service alone decides whether an action is allowed; this table only
decides which buttons to show. The states mirror the service's own checks (a test drives
the service from every state and fails if the two disagree); the roles are read from the
API views themselves, so the console and the API always gate the same people.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.auth.access import roles_required
from app.auth.models import Role, User
from app.incidents import views as api_views
from app.incidents.models import Incident, Status
from app.incidents.service import OPEN_BEFORE_RECOVERY

BEFORE_CLOSURE = (*OPEN_BEFORE_RECOVERY, Status.recovered)


def _roles_of(api_view) -> frozenset[str]:
    return frozenset(api_view._roles_allowed)


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    from_states: tuple[Status, ...]
    roles: frozenset[str]

    def allowed_in(self, status: str) -> bool:
        return status in {s.value for s in self.from_states}

    def permits(self, user: User) -> bool:
        return user.role in self.roles


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("report", "上报调度中心", (Status.declared,), _roles_of(api_views.report)),
        Action("respond", "响应处理", (Status.reported,), _roles_of(api_views.respond)),
        Action("update", "进展通报", BEFORE_CLOSURE, _roles_of(api_views.post_update)),
        Action("regrade", "调整定级", BEFORE_CLOSURE, _roles_of(api_views.regrade)),
        Action("responsibility", "原因与责任认定", BEFORE_CLOSURE, _roles_of(api_views.set_responsibility)),
        Action("recover", "确认恢复", (Status.responding,), _roles_of(api_views.recover)),
        Action("cancel", "误报撤销", OPEN_BEFORE_RECOVERY, _roles_of(api_views.cancel)),
        Action("close", "闭环", (Status.recovered,), _roles_of(api_views.close)),
    )
}

DECLARE_ROLES = _roles_of(api_views.Incidents.post)


def can_declare(user: User) -> bool:
    return user.role in DECLARE_ROLES


def available_actions(incident: Incident, user: User) -> dict[str, Action]:
    """The actions this user may take on this incident now, in lifecycle order."""
    return {name: a for name, a in ACTIONS.items() if a.allowed_in(incident.status) and a.permits(user)}


def roles_gate(roles: frozenset[str]):
    """The API's own role check (403 otherwise) for a console view."""
    return roles_required(*(Role(role) for role in sorted(roles)))
