"""Which lifecycle actions the console offers on an incident, and to whom.

The incidents service alone decides whether an action is allowed; this table only
decides which buttons to show. The states mirror the service's own checks (a test drives
the service from every state and fails if the two disagree); the roles come from the one
permissions table the API reads too, so the console and the API always gate the same people.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.auth import permissions
from app.auth.models import User
from app.incidents.models import Incident, Status
from app.incidents.service import OPEN_BEFORE_RECOVERY

BEFORE_CLOSURE = (*OPEN_BEFORE_RECOVERY, Status.recovered)


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    from_states: tuple[Status, ...]
    permission: str = ""  # its name in the permissions table, when not the same as ``name``

    def allowed_in(self, status: str) -> bool:
        return status in {s.value for s in self.from_states}

    def permits(self, user: User) -> bool:
        return permissions.may(user, self.permission or self.name)


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("report", "上报调度中心", (Status.declared,)),
        Action("respond", "响应处理", (Status.reported,)),
        Action("update", "进展通报", BEFORE_CLOSURE, "post_update"),
        Action("regrade", "调整定级", BEFORE_CLOSURE),
        Action("responsibility", "原因与责任认定", BEFORE_CLOSURE, "set_responsibility"),
        Action("recover", "确认恢复", (Status.responding,)),
        Action("cancel", "误报撤销", OPEN_BEFORE_RECOVERY),
        Action("close", "闭环", (Status.recovered,)),
    )
}


def can_declare(user: User) -> bool:
    return permissions.may(user, "declare")


def available_actions(incident: Incident, user: User) -> dict[str, Action]:
    """The actions this user may take on this incident now, in lifecycle order."""
    return {name: a for name, a in ACTIONS.items() if a.allowed_in(incident.status) and a.permits(user)}
