"""The register of emergency plans (应急预案) and the incidents citing them.

Each writing function is one unit of work and commits, except ``cite_in_transaction``,
which the incidents service calls inside a declaration's own transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select

from app.auth.models import Role, User
from app.catalog import service as catalog
from app.clock import utcnow
from app.errors import InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents import timeline
from app.incidents.models import Incident, Status
from app.incidents.timeline_kinds import EventKind
from app.plans.models import EmergencyPlan, IncidentPlan
from app.policy import current_policy
from app.sql import commit_or_conflict, dialect_insert, get_or_404

# People who may own a plan (a machine cannot review one).
OWNER_ROLES = (Role.operator.value, Role.duty_manager.value, Role.reviewer.value, Role.admin.value, Role.agent.value)
MAX_CITED = 20


@dataclass(frozen=True)
class PlanInput:
    title: str
    summary: str
    services: list[str]
    regions: list[str]
    owner_id: int
    review_due_on: date


def get_plan(plan_id: int) -> EmergencyPlan:
    return get_or_404(EmergencyPlan, plan_id, label=("应急预案", "emergency plan"), field="plan_id")


def list_plans(search: str | None = None, review_due_by: date | None = None) -> Select:
    """The register by review date (soonest first); ``search`` matches part of the title."""
    query = select(EmergencyPlan).order_by(EmergencyPlan.review_due_on, EmergencyPlan.id)
    if search and search.strip():
        text = search.strip()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(EmergencyPlan.title.like(pattern, escape="\\"))
    if review_due_by is not None:
        query = query.where(EmergencyPlan.review_due_on <= review_due_by)
    return query


def owners() -> list[User]:
    """Who may own a plan: active staff, by name (the console's choice list)."""
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role.in_(OWNER_ROLES))
                                   .order_by(User.name)))


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def _checked(data: PlanInput, plan_id: int | None) -> PlanInput:
    title = data.title.strip()
    if not title:
        raise InvalidInput("title", "不能为空 (must not be blank)")
    owner = db.session.get(User, data.owner_id)
    if owner is None or not owner.active or owner.role not in OWNER_ROLES:
        raise InvalidInput("owner_id", "须为在职的工作人员 (must be an active staff member)")
    clash = select(EmergencyPlan.id).where(func.lower(EmergencyPlan.title) == title.lower())
    if plan_id is not None:
        clash = clash.where(EmergencyPlan.id != plan_id)
    if db.session.scalar(clash) is not None:
        raise InvalidInput("title", f"已有同名预案「{title}」 (a plan with this title exists)")
    services, regions = _distinct(data.services), _distinct(data.regions)
    # A plan's scope speaks the incidents' language: catalog codes and the policy's whole-network words.
    grading = current_policy().grading
    catalog.require_services("services", services, allowed=grading["all_services_markers"])
    catalog.require_regions("regions", regions, allowed=grading["all_regions_markers"])
    return PlanInput(title, data.summary or "", services, regions, data.owner_id, data.review_due_on)


def _commit() -> None:
    commit_or_conflict(("应急预案", "emergency plan"))


def create_plan(actor: User, data: PlanInput) -> EmergencyPlan:
    data = _checked(data, None)
    now = utcnow()
    plan = EmergencyPlan(title=data.title, summary=data.summary, services=data.services, regions=data.regions,
                         owner_id=data.owner_id, review_due_on=data.review_due_on, created_by=actor.id,
                         created_at=now, updated_by=actor.id, updated_at=now)
    db.session.add(plan)
    _commit()
    return plan


def update_plan(plan_id: int, actor: User, data: PlanInput, expected_version: int | None = None) -> EmergencyPlan:
    """Replace the plan's fields. A new review date starts a new review cycle (a new reminder).
    ``expected_version`` (If-Match / the form's hidden field): a stale edit is refused with 409."""
    plan = get_plan(plan_id)
    if expected_version is not None and expected_version != plan.row_version:
        raise TransitionNotAllowed("update", "changed", "预案已被他人修改，请刷新后重试 (the plan changed; reload and retry)",
                                   row_version=plan.row_version)
    data = _checked(data, plan_id)
    plan.title, plan.summary, plan.services, plan.regions = data.title, data.summary, data.services, data.regions
    plan.owner_id, plan.review_due_on = data.owner_id, data.review_due_on
    plan.updated_by, plan.updated_at = actor.id, utcnow()
    _commit()
    return plan


# --- incidents citing plans ---------------------------------------------------------------

def known_plans(plan_ids: list[int], field: str = "plan_ids") -> list[EmergencyPlan]:
    wanted = list(dict.fromkeys(plan_ids))
    if len(wanted) > MAX_CITED:
        raise InvalidInput(field, f"一次最多引用 {MAX_CITED} 个预案 (at most {MAX_CITED} plans)")
    found = {p.id: p for p in db.session.scalars(select(EmergencyPlan).where(EmergencyPlan.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(field, f"预案不存在：{', '.join(map(str, missing))} (unknown plan ids)")
    return [found[i] for i in wanted]


def cite_in_transaction(incident: Incident, plan_ids: list[int], actor: User, field: str = "plan_ids") -> int:
    """Link the plans to the incident (each once) with a timeline line per new citation, in the
    caller's transaction. Returns how many were newly cited."""
    if not plan_ids:
        return 0
    plans = known_plans(plan_ids, field)
    now = utcnow()
    cited = 0
    for plan in plans:
        statement = dialect_insert(IncidentPlan.__table__).values(
            incident_id=incident.id, plan_id=plan.id, cited_by=actor.id, cited_at=now,
        ).on_conflict_do_nothing(index_elements=["incident_id", "plan_id"])
        if db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount:
            cited += 1
            timeline.record(incident, EventKind.plan_cited, actor=actor, message=f"引用应急预案「{plan.title}」",
                            after={"plan_id": plan.id, "title": plan.title})
    return cited


def cite(incident_id: int, plan_ids: list[int], actor: User) -> list[tuple[EmergencyPlan, datetime]]:
    """Cite plans on an incident after its declaration; refused (409) once it is closed or cancelled."""
    from app.incidents.service import get_incident   # the incidents service imports this module

    incident = get_incident(incident_id, for_update=True)
    if incident.status in (Status.closed.value, Status.cancelled.value):
        raise TransitionNotAllowed("cite_plan", incident.status)
    if cite_in_transaction(incident, plan_ids, actor):
        incident.updated_at = utcnow()   # the live console and the report see the change
    commit_or_conflict(("故障单", "incident"))
    return plans_of(incident_id)


def plans_of(incident_id: int) -> list[tuple[EmergencyPlan, datetime]]:
    """The plans an incident cites, in citation order, with when."""
    return list(db.session.execute(
        select(EmergencyPlan, IncidentPlan.cited_at).join(IncidentPlan, IncidentPlan.plan_id == EmergencyPlan.id)
        .where(IncidentPlan.incident_id == incident_id).order_by(IncidentPlan.id)).tuples())


def incidents_citing(plan_id: int) -> list[tuple[Incident, datetime]]:
    """The incidents citing a plan, newest first (drills included: a drill exercises a plan)."""
    return list(db.session.execute(
        select(Incident, IncidentPlan.cited_at).join(IncidentPlan, IncidentPlan.incident_id == Incident.id)
        .where(IncidentPlan.plan_id == plan_id).order_by(Incident.detected_at.desc(), Incident.id.desc())).tuples())


def citing_counts(plan_ids: list[int]) -> dict[int, int]:
    """How many incidents cite each plan (one query, for the register's list)."""
    if not plan_ids:
        return {}
    counts = (select(IncidentPlan.plan_id, func.count()).where(IncidentPlan.plan_id.in_(plan_ids))
              .group_by(IncidentPlan.plan_id))
    return dict(db.session.execute(counts).tuples().all())
