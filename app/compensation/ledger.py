"""Reading the ledger, and the negotiation of an entry (补偿方案协商): dispute → approve.

Nothing is ever overwritten: a dispute adds a ``proposed`` version; approval moves that
version to ``approved`` (its figures never change) and it becomes the entry's current one.
Separation of duties: whoever proposed a plan never approves or rejects it. A plan above
the policy's cap (``compensation.max_adjusted_*``) and above the computed figures needs two
approvals by two different duty managers: the first is recorded on the version, which stays
``proposed`` until the second.
"""
from __future__ import annotations

import csv
import io
from typing import Iterator

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.clock import utcnow
from app.compensation import engine
from app.compensation.models import (CompensationEntry, CompensationLedger, CompensationVersion, VersionStatus,
                                     entry_id_for, of_incident)
from app.compensation.money import fen_to_yuan
from app.errors import Forbidden, InvalidInput, NotFound, TransitionNotAllowed
from app.extensions import db
from app.incidents import service as incidents
from app.incidents import timeline
from app.incidents.timeline_kinds import EventKind
from app.incidents.models import Incident, Status
from app.phones import InvalidPhone, mask, to_e164
from app.policy import Policy, current_policy
from app.sql import get_or_404
from app.subscribers.models import Subscriber
from app.transactions import retry_on_conflict


def _current_versions(incident_id: int):
    """Per entry, its latest approved version (if any) — an aliased subquery to LEFT JOIN."""
    latest = (
        select(CompensationVersion.entry_id, func.max(CompensationVersion.version).label("version"))
        .where(CompensationVersion.incident_id == incident_id, CompensationVersion.status == VersionStatus.approved.value)
        .group_by(CompensationVersion.entry_id)
        .subquery()
    )
    current = aliased(CompensationVersion)
    joined = (
        select(current.entry_id, current.version, current.economic_credit_fen, current.data_credit_gb)
        .join(latest, and_(latest.c.entry_id == current.entry_id, latest.c.version == current.version))
        .subquery()
    )
    return joined


def current_figures(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int]]:
    """Each (incident id, subscriber id)'s CURRENT figures (economic credit fen, data GB), for
    the few hundred subscribers a sender is about to text: ONE query by primary key (the
    derived entry id) with their latest approved versions; a pair with no entry is absent."""
    if not pairs:
        return {}
    ids = sorted({entry_id_for(incident_id, subscriber_id) for incident_id, subscriber_id in pairs})
    v = CompensationVersion
    latest = (select(v.entry_id, func.max(v.version).label("version"))
              .where(v.entry_id.in_(bindparam("ids", expanding=True)), v.status == VersionStatus.approved.value)
              .group_by(v.entry_id).subquery())
    current = aliased(CompensationVersion)
    e = CompensationEntry
    rows = db.session.execute(
        select(e.incident_id, e.subscriber_id,
               func.coalesce(current.economic_credit_fen, e.economic_credit_fen),
               func.coalesce(current.data_credit_gb, e.data_credit_gb))
        .outerjoin(latest, latest.c.entry_id == e.id)
        .outerjoin(current, and_(current.entry_id == latest.c.entry_id, current.version == latest.c.version))
        .where(e.id.in_(bindparam("ids", expanding=True))), {"ids": ids})
    return {(incident_id, subscriber_id): (int(fen), int(gb)) for incident_id, subscriber_id, fen, gb in rows}


def final_rows(incident_id: int) -> Select:
    """The final ledger with each entry's CURRENT figures, ordered by subscriber; the terms every
    entry shares (minutes, share, multiplier, policy version) from the ledger's header."""
    e, header = CompensationEntry, CompensationLedger
    cur = _current_versions(incident_id)
    return (
        select(
            e.id.label("entry_id"), e.subscriber_id, Subscriber.phone, e.monthly_fee_fen, header.outage_minutes,
            header.operator_share, header.multiplier, e.data_service, header.policy_version,
            func.coalesce(cur.c.economic_credit_fen, e.economic_credit_fen).label("economic_credit_fen"),
            func.coalesce(cur.c.data_credit_gb, e.data_credit_gb).label("data_credit_gb"),
            func.coalesce(cur.c.version, 1).label("version"),
        )
        .join(Subscriber, Subscriber.id == e.subscriber_id)
        .join(header, header.incident_id == incident_id)   # one row: the incident's header
        .outerjoin(cur, cur.c.entry_id == e.id)
        .where(of_incident(incident_id))
        .order_by(e.id)  # = subscriber order within one incident
    )


def _totals(rows: Select) -> dict:
    sub = rows.order_by(None).subquery()
    count, economic, data, credited = db.session.execute(select(
        func.count(),
        func.coalesce(func.sum(sub.c.economic_credit_fen), 0),
        func.coalesce(func.sum(sub.c.data_credit_gb), 0),
        func.coalesce(func.sum(_credited(sub)), 0),
    )).one()
    return {"subscribers": count, "credited_subscribers": int(credited),
            "economic_credit": fen_to_yuan(int(economic)), "data_credit_gb": int(data)}


def _credited(sub):
    return _credited_figures(sub.c.economic_credit_fen, sub.c.data_credit_gb)


def _credited_figures(economic, data):
    """1 when a subscriber gets any credit with these figures, else 0 (to sum)."""
    return case(((economic > 0) | (data > 0), 1), else_=0)


def final_totals(final: CompensationLedger) -> dict:
    """The final ledger's current totals without reading its million rows: the header's totals
    as computed at closure (version 1 of every entry), plus what each approved adjustment
    changed — a read of the few disputed entries, whatever the size of the ledger."""
    e = CompensationEntry
    cur = _current_versions(final.incident_id)
    entries, economic, data, credited = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(cur.c.economic_credit_fen - e.economic_credit_fen), 0),
            func.coalesce(func.sum(cur.c.data_credit_gb - e.data_credit_gb), 0),
            func.coalesce(func.sum(_credited_figures(cur.c.economic_credit_fen, cur.c.data_credit_gb)
                                   - _credited_figures(e.economic_credit_fen, e.data_credit_gb)), 0),
        ).select_from(cur).join(e, e.id == cur.c.entry_id)
    ).one()
    return {"subscribers": final.subscribers, "credited_subscribers": final.credited_subscribers + int(credited),
            "economic_credit": fen_to_yuan(final.economic_credit_fen + int(economic)),
            "data_credit_gb": final.data_credit_gb + int(data)}


HEADER_FIELDS = ("policy_version", "outage_minutes", "operator_share", "multiplier", "recovery_window_breached")


def compensation_of(incident_id: int) -> dict:
    """Header, totals and the row query (final ledger after closure, else a live preview)."""
    incident = incidents.get_incident(incident_id)
    if incident.status == Status.cancelled.value:
        raise TransitionNotAllowed("compensation", incident.status,
                                   "误报撤销的故障不产生补偿 (a cancelled false alarm has no compensation)")
    final = engine.final_ledger(incident.id)
    if final is not None:
        return {"incident_id": incident.id, "incident_number": incident.number, "final": True,
                **{k: getattr(final, k) for k in HEADER_FIELDS},
                "totals": final_totals(final), "rows": final_rows(incident.id)}
    policy = current_policy()
    terms, preview = engine.preview(incident, policy)
    rows = preview.order_by(None).order_by(preview.selected_columns.subscriber_id)
    record = engine.terms_record(terms)
    header = {"final": False, **{k: record[k] for k in HEADER_FIELDS}}
    # From the scope's profile, cached per subscriber data version: no million-row scan per view.
    totals = engine.preview_totals(incident, terms, policy)
    return {"incident_id": incident.id, "incident_number": incident.number, **header,
            "totals": {"subscribers": totals["subscribers"], "credited_subscribers": totals["credited_subscribers"],
                       "economic_credit": fen_to_yuan(totals["economic_credit_fen"]),
                       "data_credit_gb": totals["data_credit_gb"]},
            "rows": rows}


def compensation_page(incident_id: int, page: int, per_page: int) -> dict:
    """One page of rows with the header and the whole ledger's totals (GET …/compensation)."""
    result = compensation_of(incident_id)
    rows = result.pop("rows")
    # The totals already counted the rows: no second count over a million-row ledger.
    items = db.session.execute(rows.limit(per_page).offset((page - 1) * per_page)).all()
    return {**result, "items": items, "total": result["totals"]["subscribers"], "page": page, "per_page": per_page}


BILLING_CSV_HEADER = ["entry_id", "incident_number", "subscriber_id", "phone", "monthly_fee", "outage_minutes",
                      "operator_share", "multiplier", "economic_credit", "data_credit_gb", "version", "policy_version"]
BILLING_CSV_BATCH = 5000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(cell: str) -> str:
    """A text cell a spreadsheet would evaluate as a formula (every E.164 phone starts with '+')
    gets a leading apostrophe: shown and read back as text, never run."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def billing_csv(incident_id: int) -> tuple[Incident, Iterator[str]]:
    """The final ledger as CSV text chunks for billing, read in batches (memory stays flat
    for a million rows). Refused (409) before closure: billing never receives a preview."""
    incident = incidents.get_incident(incident_id)
    if not engine.is_final(incident.id):
        raise TransitionNotAllowed("compensation.csv", incident.status,
                                   "补偿尚未结算（故障闭环后生成） (the ledger is final only after closure; use the JSON preview)")
    rows = final_rows(incident.id)
    safe_number = spreadsheet_text(incident.number)

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so spreadsheet tools read the UTF-8 correctly
        writer.writerow(BILLING_CSV_HEADER)
        result = db.session.connection().execution_options(yield_per=BILLING_CSV_BATCH).execute(rows)
        for batch in result.partitions():
            # Positional unpacking (final_rows' column order): named access on a million rows
            # cost more than the query itself.
            writer.writerows(
                (entry_id, safe_number, subscriber_id, spreadsheet_text(phone), fen_to_yuan(fee), minutes, share,
                 multiplier, fen_to_yuan(economic), data_gb, version, spreadsheet_text(policy_version))
                for (entry_id, subscriber_id, phone, fee, minutes, share, multiplier, _data_service, policy_version,
                     economic, data_gb, version) in batch
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return incident, chunks()


def get_entry(entry_id: int, *, for_update: bool = False) -> CompensationEntry:
    return get_or_404(CompensationEntry, entry_id, label=("补偿记录", "compensation entry"), field="entry_id",
                      for_update=for_update)


def versions_of(entry: CompensationEntry) -> list[CompensationVersion]:
    return list(db.session.scalars(
        select(CompensationVersion).where(CompensationVersion.entry_id == entry.id).order_by(CompensationVersion.version)
    ))


def _pending(entry: CompensationEntry) -> CompensationVersion | None:
    return db.session.scalar(select(CompensationVersion).where(
        CompensationVersion.entry_id == entry.id, CompensationVersion.status == VersionStatus.proposed.value))


def _phone_of(entry: CompensationEntry) -> str:
    return mask(db.session.scalar(select(Subscriber.phone).where(Subscriber.id == entry.subscriber_id)) or "")


@retry_on_conflict
def dispute(entry_id: int, actor: User, *, reason: str, economic_credit_fen: int, data_credit_gb: int) -> CompensationEntry:
    """An agent records a subscriber's dispute and the adjusted plan proposed (a new version)."""
    entry = get_entry(entry_id, for_update=True)
    if _pending(entry) is not None:
        raise TransitionNotAllowed("dispute", VersionStatus.proposed.value,
                                   "该补偿已有待审批的调整方案 (an adjusted plan is already awaiting approval)")
    version = CompensationVersion(
        entry_id=entry.id, incident_id=entry.incident_id, version=_next_version(entry), status=VersionStatus.proposed.value,
        economic_credit_fen=economic_credit_fen, data_credit_gb=data_credit_gb, dispute_reason=reason.strip(),
        proposed_by=actor.id, proposed_at=utcnow(),
        second_approval_required=above_cap(entry, economic_credit_fen, data_credit_gb, current_policy()),
    )
    db.session.add(version)
    try:
        db.session.flush()
    except IntegrityError:
        # Two agents recorded a dispute at the same moment (SQLite has no row lock): the
        # unique (entry_id, version) lets one win; the other is told to reload.
        db.session.rollback()
        raise TransitionNotAllowed("dispute", "changed",
                                   "该补偿刚被他人修改，请刷新后重试 (the entry changed concurrently; reload and retry)") from None
    incident = incidents.get_incident(entry.incident_id)
    timeline.record(
        incident, EventKind.compensation_disputed, actor=actor,
        message=(f"用户 {_phone_of(entry)} 对补偿提出异议，拟调整为经济补偿 {fen_to_yuan(economic_credit_fen)} 元、"
                 f"流量 {data_credit_gb} GB：{reason.strip()}"),
        after={"entry_id": entry.id, "version": version.version, "economic_credit": fen_to_yuan(economic_credit_fen),
               "data_credit_gb": data_credit_gb},
    )
    db.session.commit()
    return entry


def above_cap(entry: CompensationEntry, economic_credit_fen: int, data_credit_gb: int, policy: Policy) -> bool:
    """Does this plan exceed both the policy's cap and what the engine computed (so it needs two approvals)?"""
    rules = policy.compensation
    economic_cap = max(rules["max_adjusted_credit_months_of_fee"] * entry.monthly_fee_fen, entry.economic_credit_fen)
    data_cap = max(rules["max_adjusted_data_credit_gb"], entry.data_credit_gb)
    return economic_credit_fen > economic_cap or data_credit_gb > data_cap


def entry_for_phone(incident_id: int, phone: str) -> CompensationEntry:
    """The final-ledger entry of the subscriber with this number (any common format), for an
    agent recording the dispute of a caller. 422 for a number that cannot be read, 404 when
    the number has no entry in this incident, 409 before closure."""
    incident = incidents.get_incident(incident_id)
    if not engine.is_final(incident.id):
        raise TransitionNotAllowed("dispute", incident.status,
                                   "补偿尚未结算（故障闭环后才能登记异议） (disputes are recorded on the final ledger, after closure)")
    try:
        e164 = to_e164(phone)
    except InvalidPhone as exc:
        raise InvalidInput("phone", str(exc)) from None
    entry = db.session.scalar(select(CompensationEntry).join(Subscriber, Subscriber.id == CompensationEntry.subscriber_id)
                              .where(of_incident(incident.id), Subscriber.phone == e164))
    if entry is None:
        raise NotFound(f"号码 {mask(e164)} 不在本次故障的补偿台账中 (no ledger entry for this number)", phone=mask(e164))
    return entry


def dispute_for_phone(incident_id: int, phone: str, actor: User, *, reason: str, economic_credit_fen: int,
                      data_credit_gb: int) -> CompensationEntry:
    """:func:`dispute` of the entry found by the caller's number (the console's form)."""
    entry = entry_for_phone(incident_id, phone)
    return dispute(entry.id, actor, reason=reason, economic_credit_fen=economic_credit_fen, data_credit_gb=data_credit_gb)


def disputes_of(incident_id: int) -> list[dict]:
    """Every adjusted plan proposed for the incident's entries (pending first, then newest), with the
    masked number and who proposed and decided — one query, for the incident page."""
    proposer, decider = aliased(User), aliased(User)
    v = CompensationVersion
    rows = db.session.execute(
        select(v, Subscriber.phone, proposer.name, decider.name)
        .join(CompensationEntry, CompensationEntry.id == v.entry_id)
        .join(Subscriber, Subscriber.id == CompensationEntry.subscriber_id)
        .join(proposer, proposer.id == v.proposed_by)
        .outerjoin(decider, decider.id == v.decided_by)
        .where(v.incident_id == incident_id)
        .order_by(case((v.status == VersionStatus.proposed.value, 0), else_=1), v.proposed_at.desc(), v.id.desc())
    ).all()
    return [{"entry_id": version.entry_id, "version": version.version, "status": version.status,
             "phone": mask(phone), "economic_credit": fen_to_yuan(version.economic_credit_fen),
             "data_credit_gb": version.data_credit_gb, "reason": version.dispute_reason,
             "proposed_by": version.proposed_by, "proposed_by_name": proposer_name, "proposed_at": version.proposed_at,
             "second_approval_required": version.second_approval_required,
             "first_approved_by": version.first_approved_by, "first_approved_at": version.first_approved_at,
             "decided_by_name": decider_name, "decided_at": version.decided_at, "decision_note": version.decision_note}
            for version, phone, proposer_name, decider_name in rows]


def _next_version(entry: CompensationEntry) -> int:
    last = db.session.scalar(select(func.max(CompensationVersion.version)).where(CompensationVersion.entry_id == entry.id))
    return (last or 1) + 1


@retry_on_conflict
def approve(entry_id: int, actor: User, *, note: str | None = None) -> CompensationEntry:
    """A duty manager approves the pending adjusted plan: it becomes the entry's current version."""
    return _decide(entry_id, actor, VersionStatus.approved, note)


@retry_on_conflict
def reject(entry_id: int, actor: User, *, note: str | None = None) -> CompensationEntry:
    """A duty manager rejects the pending plan: the current version stays; a new dispute may follow."""
    return _decide(entry_id, actor, VersionStatus.rejected, note)


def _decide(entry_id: int, actor: User, decision: VersionStatus, note: str | None) -> CompensationEntry:
    entry = get_entry(entry_id, for_update=True)
    pending = _pending(entry)
    if pending is None:
        raise TransitionNotAllowed(decision.value, "no_pending_plan",
                                   "没有待审批的调整方案 (there is no proposed plan to decide on)")
    _require_separation(pending, actor, decision)
    if decision is VersionStatus.approved and pending.second_approval_required and pending.first_approved_by is None:
        return _first_approval(entry, pending, actor, note)
    pending.status = decision.value
    pending.decided_by = actor.id
    pending.decided_at = utcnow()
    pending.decision_note = note
    approved = decision is VersionStatus.approved
    verb = "批准" if approved else "驳回"
    kind = EventKind.compensation_adjustment_approved if approved else EventKind.compensation_adjustment_rejected
    timeline.record(
        incidents.get_incident(entry.incident_id), kind, actor=actor,
        message=f"已{verb}用户 {_phone_of(entry)} 的补偿调整方案（第 {pending.version} 版）" + (f"：{note}" if note else ""),
        after=_plan_figures(entry, pending),
    )
    db.session.commit()
    return entry


def _require_separation(pending: CompensationVersion, actor: User, decision: VersionStatus) -> None:
    """403 (nothing changed) when the actor proposed the plan, or would approve it a second time."""
    if pending.proposed_by == actor.id:
        raise Forbidden("提出调整方案者不能审批自己的方案 (whoever proposed an adjusted plan may not approve or reject it)",
                        proposed_by=actor.name, version=pending.version)
    if decision is VersionStatus.approved and pending.first_approved_by == actor.id:
        raise Forbidden("超出上限的方案须由另一位值班经理复核 (above the cap a second, different duty manager must approve)",
                        first_approved_by=actor.name, version=pending.version)


def _first_approval(entry: CompensationEntry, pending: CompensationVersion, actor: User,
                    note: str | None) -> CompensationEntry:
    pending.first_approved_by = actor.id
    pending.first_approved_at = utcnow()
    timeline.record(
        incidents.get_incident(entry.incident_id), EventKind.compensation_adjustment_first_approved, actor=actor,
        message=(f"用户 {_phone_of(entry)} 的补偿调整方案（第 {pending.version} 版）超出上限，已初审同意，"
                 "待另一位值班经理复核" + (f"：{note}" if note else "")),
        after={**_plan_figures(entry, pending), "awaiting_second_approval": True},
    )
    db.session.commit()
    return entry


def _plan_figures(entry: CompensationEntry, version: CompensationVersion) -> dict:
    return {"entry_id": entry.id, "version": version.version,
            "economic_credit": fen_to_yuan(version.economic_credit_fen), "data_credit_gb": version.data_credit_gb}


def entry_detail(entry: CompensationEntry) -> dict:
    """The entry, its computed figures and inputs, every adjusted version, and which is current."""
    versions = versions_of(entry)
    approved = [v for v in versions if v.status == VersionStatus.approved.value]
    current = approved[-1] if approved else None
    header = engine.final_ledger(entry.incident_id)  # the terms every entry of the incident shares
    phone = db.session.scalar(select(Subscriber.phone).where(Subscriber.id == entry.subscriber_id))
    people = {v.proposed_by for v in versions} | {v.first_approved_by for v in versions} | {v.decided_by for v in versions}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people - {None}))).all())
    return {
        "entry_id": entry.id, "incident_id": entry.incident_id, "subscriber_id": entry.subscriber_id, "phone": phone,
        "monthly_fee": fen_to_yuan(entry.monthly_fee_fen), "outage_minutes": header.outage_minutes,
        "operator_share": header.operator_share, "multiplier": header.multiplier, "data_service": entry.data_service,
        "policy_version": header.policy_version,
        "current_version": current.version if current else 1,
        "economic_credit": fen_to_yuan(current.economic_credit_fen if current else entry.economic_credit_fen),
        "data_credit_gb": current.data_credit_gb if current else entry.data_credit_gb,
        "versions": [
            {"version": 1, "status": "computed", "economic_credit": fen_to_yuan(entry.economic_credit_fen),
             "data_credit_gb": entry.data_credit_gb, "at": header.finalised_at, "reason": None},
            *[{"version": v.version, "status": v.status, "economic_credit": fen_to_yuan(v.economic_credit_fen),
               "data_credit_gb": v.data_credit_gb, "at": v.proposed_at, "reason": v.dispute_reason,
               "proposed_by": names.get(v.proposed_by), "second_approval_required": v.second_approval_required,
               "first_approved_by": names.get(v.first_approved_by), "first_approved_at": v.first_approved_at,
               "decided_by": names.get(v.decided_by), "decided_at": v.decided_at, "decision_note": v.decision_note}
              for v in versions],
        ],
    }
