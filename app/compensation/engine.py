"""The compensation engine (RULES §5): one function of (incident, policy) for preview and final.

``credit_terms`` fixes, in Python, everything that is the same for every subscriber of an
incident (outage minutes, operator share, breach multiplier, the data credit); the final
ledger keeps them once, on its header, and per entry only what varies.
``ledger_select`` turns them into ONE SELECT over the affected subscribers that computes
each subscriber's figures in integer SQL: the preview pages through it on the fly, and
``finalise`` embeds it in one INSERT … SELECT into the ledger when the incident closes.

    economic_credit_fen = round_half_up(monthly_fee_fen × outage_minutes × operator_share% × multiplier
                                        / (billing_period_hours × 60 × 100))

i.e. RULES' monthly_fee × outage_hours / 720 × operator_share × multiplier, with hours
carried as whole minutes and the share as whole percent so the only division is the last
one, rounded half-up to the fen by ``money.round_half_up_sql`` (the one rounding rule).

Minimum outage: below ``minimum_outage_minutes`` there is no economic credit (RULES §5), and,
by default, no service credit either — an outage too short to compensate is too short for
both; ``data_credit_requires_minimum_outage = false`` in the policy grants the data credit
for any outage.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, Select, String, case, func, insert, literal, null, select, text

from app.auth.models import User
from app.clock import utcnow
from app.compensation import partitions
from app.compensation.models import ENTRY_ID_BASE, CompensationEntry, CompensationLedger, of_incident
from app.compensation.money import check_no_overflow, fen_to_yuan, round_half_up_int, round_half_up_sql
from app.scheduling.service import CHANGED_FLAG, window_exceeded
from app.extensions import db
from app.incidents import timeline
from app.incidents.timeline_kinds import EventKind
from app.incidents.grading import outage_minutes
from app.incidents.models import Incident
from app.models import record_policy_version
from app.policy import Policy, current_policy
from app.notify import drills
from app.subscribers import scope_profile
from app.subscribers.affected import affected_subscriber_ids
from app.subscribers.models import Subscriber, SubscriberService

# What each entry stores: only what varies per subscriber (models.CompensationEntry).
LEDGER_COLUMNS = ("subscriber_id", "monthly_fee_fen", "data_service", "economic_credit_fen", "data_credit_gb")
# What every row of one incident shares: on the ledger's header once final, repeated per row in a preview.
TERM_COLUMNS = ("outage_minutes", "operator_share", "multiplier", "policy_version")


@dataclass(frozen=True)
class CreditTerms:
    """What every affected subscriber of one incident shares; only the fee and data service differ."""

    policy_version: str
    computed_at: datetime
    end: datetime                 # recovered_at, or now for a live incident's preview
    outage_minutes: int
    operator_share: int           # percent
    recovery_window_breached: bool
    multiplier: int
    below_minimum: bool
    data_credit_gb: int           # granted to each data subscriber
    economic_numerator_factor: int  # outage_minutes × operator_share × multiplier (0 below the minimum)
    economic_denominator: int       # billing_period_hours × 60 × 100


def recovery_window_breached(incident: Incident, policy: Policy, end: datetime) -> bool:
    """Was the recovery window (恢复时限) of the incident's grade exceeded?

    The ``recovery`` deadline is the authority, so the multiplier and the deadline report
    can never disagree (a regrade re-computes its due time). An incident declared before
    deadlines existed has none: then the window is measured from the incident itself.
    """
    exceeded = window_exceeded(incident, "recovery", end)
    if exceeded is None:
        return end - incident.detected_at > policy.recover_window(incident.level)
    return exceeded


def operator_share(incident: Incident, policy: Policy) -> int:
    """Percent of responsibility borne by the operator itself (technical + management by default)."""
    own = set(policy.compensation["operator_categories"])
    return sum(r.share for r in incident.responsibilities if r.category in own)


def data_credit_gb(minutes: int, policy: Policy) -> int:
    """data_credit_gb_per_block per STARTED block of data_credit_block_hours, capped."""
    rules = policy.compensation
    block_minutes = rules["data_credit_block_hours"] * 60
    started_blocks = -(-minutes // block_minutes)
    return min(rules["data_credit_cap_gb"], started_blocks * rules["data_credit_gb_per_block"])


def credit_terms(incident: Incident, policy: Policy) -> CreditTerms:
    rules = policy.compensation
    now = utcnow()
    end = incident.recovered_at or now
    minutes = outage_minutes(incident.detected_at, end)
    breached = recovery_window_breached(incident, policy, end)
    multiplier = rules["breach_multiplier"] if breached else 1
    share = operator_share(incident, policy)
    below_minimum = minutes < rules["minimum_outage_minutes"]
    data_blocked = below_minimum and rules.get("data_credit_requires_minimum_outage", True)
    return CreditTerms(
        policy_version=policy.version,
        computed_at=now,
        end=end,
        outage_minutes=minutes,
        operator_share=share,
        recovery_window_breached=breached,
        multiplier=multiplier,
        below_minimum=below_minimum,
        data_credit_gb=0 if data_blocked else data_credit_gb(minutes, policy),
        economic_numerator_factor=0 if below_minimum else minutes * share * multiplier,
        economic_denominator=rules["billing_period_hours"] * 60 * 100,
    )


def _ledger_columns(terms: CreditTerms, data_subscribers) -> list:
    """Each subscriber's figures as SQL expressions over ``subscribers``, named as ``LEDGER_COLUMNS``."""
    holds_data_service = data_subscribers.c.subscriber_id.is_not(None)
    if terms.economic_numerator_factor:
        economic = round_half_up_sql(
            Subscriber.monthly_fee_fen * literal(terms.economic_numerator_factor, BigInteger),
            terms.economic_denominator,
        )
    else:
        economic = literal(0, BigInteger)
    if terms.data_credit_gb:
        data = case((holds_data_service, literal(terms.data_credit_gb, Integer)), else_=literal(0, Integer))
    else:
        data = literal(0, Integer)
    return [
        Subscriber.id.label("subscriber_id"),
        Subscriber.monthly_fee_fen.label("monthly_fee_fen"),
        holds_data_service.label("data_service"),
        economic.label("economic_credit_fen"),
        data.label("data_credit_gb"),
    ]


def _term_columns(terms: CreditTerms) -> list:
    """The terms as constant columns, named as ``TERM_COLUMNS`` (each preview row shows them)."""
    return [
        literal(terms.outage_minutes, Integer).label("outage_minutes"),
        literal(terms.operator_share, Integer).label("operator_share"),
        literal(terms.multiplier, Integer).label("multiplier"),
        literal(terms.policy_version, String).label("policy_version"),
    ]


def _over_affected(incident: Incident, policy: Policy, terms: CreditTerms, *extra_columns, first=()) -> Select:
    """The ledger columns (plus extras) for every affected subscriber, in one SELECT."""
    data_subscribers = scope_profile.data_subscribers(policy)
    # affected_subscriber_ids is SELECT subscribers.id FROM subscribers WHERE <scope>: keep
    # its FROM and WHERE, choose our own columns, join the data-service set.
    rows = (
        affected_subscriber_ids(incident.services, incident.regions, policy)
        .with_only_columns(*first, *_ledger_columns(terms, data_subscribers), *extra_columns, maintain_column_froms=True)
        .outerjoin(data_subscribers, data_subscribers.c.subscriber_id == Subscriber.id)
    )
    # A drill (演练) credits only the drill's test subscribers (policy drills.notice_phones): no real bill changes.
    return rows.where(drills.on_test_list(policy)) if incident.drill else rows


def ledger_select(incident: Incident, policy: Policy, terms: CreditTerms) -> Select:
    """One row per affected subscriber: ``LEDGER_COLUMNS``, ``TERM_COLUMNS``, ``phone``, and no
    entry or version yet (the preview)."""
    return _over_affected(incident, policy, terms, *_term_columns(terms), Subscriber.phone.label("phone"),
                          null().label("entry_id"), null().label("version"))


def _guard_overflow(terms: CreditTerms) -> None:
    largest_fee = db.session.scalar(select(func.max(Subscriber.monthly_fee_fen))) or 0
    check_no_overflow(largest_fee, terms.economic_numerator_factor, terms.economic_denominator)


def preview(incident: Incident, policy: Policy | None = None) -> tuple[CreditTerms, Select]:
    """The figures as they would be if the incident closed now (live: until now)."""
    policy = policy or current_policy()
    terms = credit_terms(incident, policy)
    # The largest fee in scope from the cached profile: max() over every subscriber is a scan per view.
    fees = scope_profile.profile(incident.services, incident.regions, policy).fees
    check_no_overflow(max((fee for fee, _, _ in fees), default=0), terms.economic_numerator_factor,
                      terms.economic_denominator)
    return terms, ledger_select(incident, policy, terms)


def preview_totals(incident: Incident, terms: CreditTerms, policy: Policy) -> dict:
    """The preview's totals (as ``final_totals`` names them) from the scope's cached profile:
    the same integer rule as ``_ledger_columns`` applied once per (fee, data service) group, so
    a view of a million-subscriber preview reads no subscriber while their data is unchanged.
    A drill credits only its test list (``_over_affected``), which the scope's profile does not
    know: its few rows are summed in SQL instead."""
    if incident.drill:
        rows = ledger_select(incident, policy, terms).subquery()
        return _totals_of(select(*_total_columns(rows.c.economic_credit_fen, rows.c.data_credit_gb)))
    profile = scope_profile.profile(incident.services, incident.regions, policy)
    economic = data = credited = 0
    for fee, holds_data, count in profile.fees:
        each_economic = (round_half_up_int(fee * terms.economic_numerator_factor, terms.economic_denominator)
                         if terms.economic_numerator_factor else 0)
        each_data = terms.data_credit_gb if holds_data else 0
        economic += each_economic * count
        data += each_data * count
        credited += count if (each_economic > 0 or each_data > 0) else 0
    return {"subscribers": profile.affected, "economic_credit_fen": economic, "data_credit_gb": data,
            "credited_subscribers": credited}


FINALISED_EVENT = EventKind.compensation_finalised
LEDGER_WORK_MEM = "128MB"  # PostgreSQL, for the closing transaction only (SET LOCAL)


def final_ledger(incident_id: int) -> CompensationLedger | None:
    """The header of the incident's final ledger (its terms and totals), else None before closure."""
    return db.session.get(CompensationLedger, incident_id)


def is_final(incident_id: int) -> bool:
    return final_ledger(incident_id) is not None


def finalise(incident: Incident, policy: Policy, actor: User | None = None) -> int:
    """Write the final ledger in the caller's transaction (no commit); returns the rows written.

    Idempotent: a ledger already written for this incident is left as it is (and the primary
    key, derived from (incident_id, subscriber_id), would refuse a duplicate row anyway).
    The compensation notices are queued afterwards by ``followup.queue_pending``.
    """
    if is_final(incident.id):
        return 0
    terms = credit_terms(incident, policy)
    _guard_overflow(terms)
    record_policy_version(policy)
    entry_id = literal(incident.id * ENTRY_ID_BASE, BigInteger) + Subscriber.id  # models.entry_id_for
    # In subscriber (= entry id) order: PostgreSQL then reads the subscribers and their services
    # as three ordered streams merged (no hash tables over a million rows), the partition's heap
    # is laid out in key order and its primary key is built from presorted input.
    rows = _over_affected(incident, policy, terms,
                          first=[entry_id.label("id"), literal(incident.id, Integer).label("incident_id")]
                          ).order_by(Subscriber.id)
    columns = ["id", "incident_id", *LEDGER_COLUMNS]
    if db.session.get_bind().dialect.name == "postgresql":
        # Room for the sorts and joins of a million subscribers in memory, not spilled to temp files.
        db.session.execute(text(f"SET LOCAL work_mem = '{LEDGER_WORK_MEM}'"))
        # Loaded into the incident's own partition, its index built once (app/compensation/partitions.py).
        target = partitions.create_unindexed(incident.id)
        db.session.execute(insert(target).from_select(columns, rows))
        partitions.index_and_attach(incident.id)
    else:
        db.session.execute(insert(CompensationEntry).from_select(columns, rows))
    # Summed from the rows just written (one scan of the new partition): cheaper than summing the
    # INSERT's RETURNING in the same statement, which first buffers a million returned rows.
    totals = final_totals(incident.id)
    db.session.add(CompensationLedger(incident_id=incident.id, finalised_at=terms.computed_at,
                                      finalised_by=actor.id if actor else None, **terms_record(terms), **totals))
    timeline.record(
        incident, FINALISED_EVENT, actor=actor,
        message=(f"补偿已结算：{totals['subscribers']} 户，经济补偿合计 {fen_to_yuan(totals['economic_credit_fen'])} 元，"
                 f"流量补偿合计 {totals['data_credit_gb']} GB"),
        after={**terms_record(terms), **totals},
    )
    # The compensation notices follow in their own transaction (app/compensation/followup.py):
    # wake the scheduler after this commit so they are queued at once.
    db.session.info[CHANGED_FLAG] = True
    return totals["subscribers"]


def credited_subscriber_ids(incident_id: int) -> Select:
    return select(CompensationEntry.subscriber_id).where(
        of_incident(incident_id),
        (CompensationEntry.economic_credit_fen > 0) | (CompensationEntry.data_credit_gb > 0),
    )


def final_totals(incident_id: int) -> dict:
    """Totals of the computed ledger (version 1) — what closure wrote."""
    e = CompensationEntry
    return _totals_of(select(*_total_columns(e.economic_credit_fen, e.data_credit_gb)).where(of_incident(incident_id)))


def _total_columns(economic, data) -> tuple:
    credited = case(((economic > 0) | (data > 0), 1), else_=0)
    return (func.count(), func.coalesce(func.sum(economic), 0), func.coalesce(func.sum(data), 0),
            func.coalesce(func.sum(credited), 0))


def _totals_of(query: Select) -> dict:
    subscribers, economic, data, credited = db.session.execute(query).one()
    return {"subscribers": subscribers, "economic_credit_fen": int(economic), "data_credit_gb": int(data),
            "credited_subscribers": int(credited)}


def terms_record(terms: CreditTerms) -> dict:
    return {
        "policy_version": terms.policy_version,
        "outage_minutes": terms.outage_minutes,
        "operator_share": terms.operator_share,
        "recovery_window_breached": terms.recovery_window_breached,
        "multiplier": terms.multiplier,
        "below_minimum_outage": terms.below_minimum,
        "data_credit_gb_per_data_subscriber": terms.data_credit_gb,
    }
