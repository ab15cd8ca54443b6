"""Alarms in (RULES §9): webhook alerts become incident proposals an operator declares or dismisses.

Ingest is set-based so that an alert storm stays fast: one SELECT of the known fingerprints,
one INSERT … ON CONFLICT for the proposals of the payload's groups, one upsert of every alert
by fingerprint, then one grouped count per touched proposal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, select, update

from app.alerts.models import Alert, AlertProposal, ProposalState
from app.auth.models import User
from app.clock import utcnow
from app.errors import InvalidInput, TransitionNotAllowed
from app.extensions import db
from app.incidents import service as incidents
from app.policy import current_policy
from app.sql import commit_or_conflict, dialect_insert, get_or_404
from app.transactions import retry_on_conflict

FIRING, RESOLVED = "firing", "resolved"
LABEL = ("告警提案", "alert proposal")
CHANGED_FLAG = "noc_alert_proposals_changed"


@dataclass
class _Group:
    key: str
    labels: dict
    title: str
    services: set = field(default_factory=set)
    regions: set = field(default_factory=set)
    unmapped: bool = False
    first_started_at: datetime | None = None
    firing: bool = False


def _group_key(labels: dict, group_by: list[str]) -> str:
    return "|".join(f"{name}={labels.get(name, '')}" for name in group_by)


def _title(alert: dict, group_labels: dict) -> str:
    annotations, labels = alert["annotations"], alert["labels"]
    text = annotations.get("summary") or annotations.get("title") or labels.get("alertname")
    scope = "，".join(f"{k}={v}" for k, v in group_labels.items() if v)
    return (text or f"告警：{scope or '未分组'}")[:500]


def _add_to_group(groups: dict[str, _Group], alert: dict, config: dict) -> str:
    labels = alert["labels"]
    key = _group_key(labels, config["group_by"])
    group_labels = {name: labels.get(name, "") for name in config["group_by"]}
    group = groups.setdefault(key, _Group(key=key, labels=group_labels, title=_title(alert, group_labels)))
    service = config["services"].get(labels.get(config["service_label"], ""))
    region = config["regions"].get(labels.get(config["region_label"], ""))
    group.services.update([service] if service else [])
    group.regions.update([region] if region else [])
    group.unmapped |= service is None or region is None
    if alert["status"] == FIRING:
        group.firing = True
    if group.first_started_at is None or alert["startsAt"] < group.first_started_at:
        group.first_started_at = alert["startsAt"]
    return key


def _known_proposals(fingerprints: list[str]) -> dict[str, int]:
    rows = db.session.execute(select(Alert.fingerprint, Alert.proposal_id).where(Alert.fingerprint.in_(fingerprints)))
    return dict(rows.all())


def _open_proposals(groups: list[_Group], window: timedelta, now: datetime) -> dict[str, int]:
    """The joinable proposal of each group, opening one where none is (concurrency-safe by open_key)."""
    keys = [g.key for g in groups]
    # A group quiet for longer than the window starts afresh (its old proposal stays listed).
    db.session.execute(update(AlertProposal).where(AlertProposal.open_key.in_(keys),
                                                   AlertProposal.last_received_at < now - window)
                       .values(open_key=None).execution_options(synchronize_session=False))
    rows = [{"group_key": g.key, "open_key": g.key, "group_labels": g.labels, "title": g.title, "services": [],
             "regions": [], "unmapped": False, "state": ProposalState.open.value, "alert_count": 0,
             "firing_count": 0, "first_started_at": g.first_started_at, "last_received_at": now, "created_at": now}
            for g in sorted(groups, key=lambda g: g.key) if g.firing]  # one insert order: no deadlock
    if rows:
        db.session.execute(dialect_insert(AlertProposal.__table__).values(rows)
                           .on_conflict_do_nothing(index_elements=["open_key"]))
    found = db.session.execute(select(AlertProposal.open_key, AlertProposal.id).where(AlertProposal.open_key.in_(keys)))
    return dict(found.all())


def _upsert_alerts(rows: list[dict]) -> None:
    statement = dialect_insert(Alert.__table__).values(sorted(rows, key=lambda r: r["fingerprint"]))
    excluded = statement.excluded
    db.session.execute(statement.on_conflict_do_update(index_elements=["fingerprint"], set_={
        "status": excluded.status, "labels": excluded.labels, "annotations": excluded.annotations,
        "starts_at": excluded.starts_at, "ends_at": excluded.ends_at, "received_at": excluded.received_at}))


def _lock(proposal_ids: set[int]) -> list[AlertProposal]:
    """The touched proposals, locked in id order before any alert row is written. NO KEY UPDATE:
    it waits for another webhook's lock but not for the key-share locks its alerts' foreign
    keys take, so concurrent webhooks of one group queue instead of deadlocking."""
    return list(db.session.scalars(select(AlertProposal).where(AlertProposal.id.in_(proposal_ids))
                                   .order_by(AlertProposal.id).with_for_update(key_share=True)
                                   .execution_options(populate_existing=True)))


def _refresh(proposals: list[AlertProposal], groups_by_proposal: dict[int, list[_Group]], now: datetime) -> None:
    """Counts, scope and resolution of each touched (locked) proposal."""
    proposal_ids = {p.id for p in proposals}
    counts = {row.proposal_id: row for row in db.session.execute(
        select(Alert.proposal_id, func.count().label("total"),
               func.sum(case((Alert.status == FIRING, 1), else_=0)).label("firing"),
               func.min(Alert.starts_at).label("first"), func.max(Alert.ends_at).label("last_end"))
        .where(Alert.proposal_id.in_(proposal_ids)).group_by(Alert.proposal_id))}
    for proposal in proposals:
        row = counts[proposal.id]
        for group in groups_by_proposal.get(proposal.id, []):
            proposal.services = sorted(set(proposal.services) | group.services)
            proposal.regions = sorted(set(proposal.regions) | group.regions)
            proposal.unmapped = proposal.unmapped or group.unmapped
        proposal.alert_count, proposal.firing_count = row.total, int(row.firing or 0)
        proposal.first_started_at = row.first
        proposal.last_received_at = now
        proposal.resolved_at = row.last_end if proposal.firing_count == 0 else None


@retry_on_conflict
def ingest(alerts: list[dict]) -> dict:
    """Record a webhook's alerts on their proposals; returns what was accepted. Commits."""
    now = utcnow()
    config = current_policy().alerts
    latest = {a["fingerprint"]: a for a in alerts}  # a payload repeating a fingerprint: the last one wins
    known = _known_proposals(list(latest)) if latest else {}
    groups: dict[str, _Group] = {}
    group_of = {fp: _add_to_group(groups, a, config) for fp, a in latest.items() if fp not in known}
    opened = _open_proposals(list(groups.values()), timedelta(minutes=config["grouping_window_minutes"]), now) \
        if groups else {}
    proposal_of = {**known, **{fp: opened[key] for fp, key in group_of.items() if key in opened}}
    rows = [{"fingerprint": fp, "proposal_id": proposal_of[fp], "status": a["status"], "labels": a["labels"],
             "annotations": a["annotations"], "starts_at": a["startsAt"], "ends_at": a["endsAt"], "received_at": now}
            for fp, a in latest.items() if fp in proposal_of]
    if rows:
        proposals = _lock({r["proposal_id"] for r in rows})
        _upsert_alerts(rows)
        by_proposal: dict[int, list[_Group]] = {}
        for key, proposal_id in opened.items():
            by_proposal.setdefault(proposal_id, []).append(groups[key])
        _refresh(proposals, by_proposal, now)
        db.session.info[CHANGED_FLAG] = True
    db.session.commit()
    return {"received": len(alerts), "accepted": len(rows), "ignored": len(latest) - len(rows),
            "proposal_ids": sorted({r["proposal_id"] for r in rows})}


def list_proposals(state: str | None = None) -> Select:
    query = select(AlertProposal).order_by(AlertProposal.id.desc())
    return query.where(AlertProposal.state == state) if state else query


def list_proposals_page(state: str | None = None, limit: int = 20) -> list[AlertProposal]:
    return list(db.session.scalars(list_proposals(state).limit(limit)))


def get_proposal(proposal_id: int, *, for_update: bool = False) -> AlertProposal:
    return get_or_404(AlertProposal, proposal_id, label=LABEL, field="proposal_id", for_update=for_update)


STATE_LABELS_ZH = {"declared": "登记为故障", "dismissed": "忽略"}


def _require_open(proposal: AlertProposal, action: str) -> None:
    if proposal.state != ProposalState.open.value:
        raise already_decided(proposal, action)


def already_decided(proposal: AlertProposal, action: str) -> TransitionNotAllowed:
    """The refusal of a second decision, naming who decided, when (policy zone) and what."""
    who = db.session.get(User, proposal.decided_by) if proposal.decided_by else None
    when = proposal.decided_at.astimezone(current_policy().zone).strftime("%Y-%m-%d %H:%M") \
        if proposal.decided_at else "此前"
    incident = incidents.get_incident(proposal.incident_id) if proposal.incident_id else None
    what = STATE_LABELS_ZH[proposal.state] + (f" {incident.number}" if incident is not None else "")
    return TransitionNotAllowed(
        action, proposal.state,
        f"告警提案 #{proposal.id} 已由{who.name if who else '他人'}于 {when} {what}，不能再处理"
        f" (the proposal was already {proposal.state}"
        f"{f' by {who.name}' if who else ''}{f' at {proposal.decided_at.isoformat()}' if proposal.decided_at else ''})",
        proposal_id=proposal.id, decided_by=who.name if who else None,
        decided_at=proposal.decided_at.isoformat() if proposal.decided_at else None, incident_id=proposal.incident_id)


def declare(proposal_id: int, actor: User, **overrides) -> AlertProposal:
    """One click: an incident with the proposal's scope, earliest startsAt and title (overrides win).

    One transaction: the proposal's decision, the incident and the link between them commit together,
    so a crash leaves either all of them or none (never a declared proposal without its incident)."""
    proposal = get_proposal(proposal_id, for_update=True)
    _require_open(proposal, "declare_alert")
    services = overrides.pop("services", None) or proposal.services
    regions = overrides.pop("regions", None) or proposal.regions
    if not services:
        raise InvalidInput("services", "告警未能映射到业务，请指定受影响业务 (no service mapped from the alerts; give services)")
    if not regions:
        raise InvalidInput("regions", "告警未能映射到地区，请指定受影响地区 (no region mapped from the alerts; give regions)")
    overrides.setdefault("title", proposal.title)
    overrides.setdefault("detected_at", proposal.first_started_at)
    overrides.setdefault("description", f"由告警提案 #{proposal.id} 登记（{proposal.alert_count} 条告警）")
    _claim_decision(proposal, actor, ProposalState.declared, "declare_alert")
    incident = incidents.add_declared(actor, services=services, regions=regions, **overrides)
    _link(proposal, incident.id)
    db.session.info[CHANGED_FLAG] = True
    commit_or_conflict(LABEL)
    return proposal


def _link(proposal: AlertProposal, incident_id: int) -> None:
    proposal.incident_id = incident_id


def dismiss(proposal_id: int, actor: User, *, reason: str) -> AlertProposal:
    proposal = get_proposal(proposal_id, for_update=True)
    _require_open(proposal, "dismiss_alert")
    if not reason.strip():
        raise InvalidInput("reason", "请填写忽略原因 (a reason is required)")
    _claim_decision(proposal, actor, ProposalState.dismissed, "dismiss_alert")
    proposal.dismiss_reason = reason.strip()
    proposal.open_key = None  # later alerts of the group open a fresh proposal
    db.session.info[CHANGED_FLAG] = True
    db.session.commit()
    return proposal


def _claim_decision(proposal: AlertProposal, actor: User, state: ProposalState, action: str) -> None:
    """Decide the proposal with a conditional UPDATE (… WHERE state = 'open'): of two operators
    clicking at once — on SQLite too, where FOR UPDATE locks nothing — exactly one decides; the
    other is refused naming who decided and when."""
    now = utcnow()
    decided = db.session.execute(
        update(AlertProposal).where(AlertProposal.id == proposal.id, AlertProposal.state == ProposalState.open.value)
        .values(state=state.value, decided_by=actor.id, decided_at=now)
        .execution_options(synchronize_session=False), execution_options={"preserve_rowcount": True}).rowcount
    db.session.refresh(proposal)
    if not decided:
        raise already_decided(proposal, action)


def suggested_recovery(proposal: AlertProposal) -> datetime | None:
    """For a declared incident whose alerts have all resolved: their last endsAt, shown, not applied."""
    return proposal.resolved_at if proposal.state == ProposalState.declared.value else None


def change_marker() -> str:
    """Changes when a proposal opens, gains or loses a firing alert, or is decided (the board's
    live version); a mere repeat of a known alert leaves it as it was."""
    row = db.session.execute(select(func.max(AlertProposal.id), func.max(AlertProposal.decided_at),
                                    func.sum(AlertProposal.alert_count), func.sum(AlertProposal.firing_count))).one()
    return ".".join(str(v or 0) for v in row)
