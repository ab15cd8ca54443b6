"""After determination (责任认定): the notice to the units concerned (责任通报) and the
rectification items (整改) tracked to completion (责任追究). Both live on the timeline.

The notice is an explicit act of the dispatch center (POST …/responsibility/notice), not a
side effect of every edit of the shares: responsibility may be corrected several times
while the analysis goes on, and each unit should be notified of the settled attribution,
once, by a named person. Each notice lists every unit with its category and share.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.auth.models import User
from app.clock import utcnow
from app.compensation.models import RectificationItem, RectificationState
from app.errors import InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents import service as incidents
from app.incidents import timeline
from app.incidents.timeline_kinds import EventKind
from app.incidents.causes import CauseCategory
from app.incidents.models import Incident, Status, TimelineEvent
from app.sql import get_or_404


def _not_cancelled(incident: Incident, action: str) -> None:
    if incident.status == Status.cancelled.value:
        raise TransitionNotAllowed(action, incident.status)


def units_concerned(incident: Incident) -> list[dict]:
    """Each responsible party once, with its categories and total share."""
    units: dict[str, dict] = {}
    for r in incident.responsibilities:
        unit = units.setdefault(r.party, {"party": r.party, "categories": [], "share": 0})
        if r.category not in unit["categories"]:
            unit["categories"].append(r.category)
        unit["share"] += r.share
    return list(units.values())


def issue_responsibility_notice(incident_id: int, actor: User, *, message: str = "") -> TimelineEvent:
    incident = incidents.get_incident(incident_id)
    _not_cancelled(incident, "responsibility_notice")
    units = units_concerned(incident)
    if not units:
        raise TransitionNotAllowed("responsibility_notice", incident.status,
                                   "尚未完成责任认定，无法通报 (record the responsibility before notifying the units)")
    listing = "；".join(
        f"{u['party']}（{'、'.join(CauseCategory(c).label for c in u['categories'])} {u['share']}%）" for u in units
    )
    text = f"责任通报：{listing}" + (f"。{message.strip()}" if message.strip() else "")
    event = timeline.record(incident, EventKind.responsibility_notice, actor=actor, message=text,
                            after={"units": units, "note": message.strip() or None})
    db.session.commit()
    return event


def list_rectifications(incident_id: int) -> list[RectificationItem]:
    incidents.get_incident(incident_id)
    return list(db.session.scalars(
        select(RectificationItem).where(RectificationItem.incident_id == incident_id)
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ))


def _item_snapshot(item: RectificationItem) -> dict:
    return {
        "id": item.id, "title": item.title, "owner": item.owner, "due_date": item.due_date.isoformat(),
        "completed_at": item.completed_at.isoformat() if item.completed_at else None,
        "completion_note": item.completion_note,
    }


def add_rectification(incident_id: int, actor: User, *, title: str, owner: str, due_date: date,
                      description: str = "") -> RectificationItem:
    incident = incidents.get_incident(incident_id)
    _not_cancelled(incident, "rectification")
    now = utcnow()
    item = RectificationItem(incident_id=incident.id, title=title.strip(), description=description, owner=owner.strip(),
                             due_date=due_date, created_by=actor.id, created_at=now, updated_at=now)
    db.session.add(item)
    db.session.flush()
    timeline.record(incident, EventKind.rectification_added, actor=actor,
                    message=f"新增整改项「{item.title}」，责任人 {item.owner}，完成期限 {due_date.isoformat()}",
                    after=_item_snapshot(item))
    db.session.commit()
    return item


def get_rectification(incident_id: int, item_id: int) -> RectificationItem:
    return get_or_404(RectificationItem, item_id, label=("整改项", "rectification item"), field="item_id",
                      for_update=True, where=[RectificationItem.incident_id == incident_id])

# The verb of each change in its timeline message: 整改项「…」已修改 / 已完成 / 已重新打开.
CHANGE_VERBS = {EventKind.rectification_updated: "修改", EventKind.rectification_completed: "完成",
                EventKind.rectification_reopened: "重新打开"}


def update_rectification(incident_id: int, item_id: int, actor: User, *, completed: bool | None = None,
                         completion_note: str | None = None, **changes) -> RectificationItem:
    """Change owner / due date / title / description, or mark done (or reopen); each change on the timeline."""
    incident = incidents.get_incident(incident_id)
    item = get_rectification(incident_id, item_id)
    before = _item_snapshot(item)
    for name, value in changes.items():
        setattr(item, name, value.strip() if isinstance(value, str) else value)
    kind = EventKind.rectification_updated
    if completed is True:
        if item.completed_at is not None:
            raise TransitionNotAllowed("complete", "completed", "整改项已完成 (the item is already completed)")
        if not (completion_note or "").strip():
            raise InvalidInput("completion_note", "完成整改须说明完成情况 (describe what was done)")
        item.completed_at = utcnow()
        item.completion_note = completion_note.strip()
        kind = EventKind.rectification_completed
    elif completed is False and item.completed_at is not None:
        item.completed_at = None
        item.completion_note = completion_note.strip() if completion_note else None
        kind = EventKind.rectification_reopened
    after = _item_snapshot(item)
    if after == before:
        raise InvalidInput("body", "没有任何变化 (nothing to change)")
    item.updated_at = utcnow()
    timeline.record(incident, kind, actor=actor, message=f"整改项「{item.title}」已{CHANGE_VERBS[kind]}",
                    before=before, after=after)
    db.session.commit()
    return item


def is_overdue(item: RectificationItem, today: date) -> bool:
    return item.completed_at is None and item.due_date < today


def rectification_state(item: RectificationItem, today: date) -> RectificationState:
    if item.completed_at is not None:
        return RectificationState.done
    return RectificationState.overdue if is_overdue(item, today) else RectificationState.open
