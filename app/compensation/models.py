"""The compensation ledger (补偿台账) and rectification items (整改).

The ledger never overwrites a figure. ``CompensationEntry`` is one row per affected
subscriber per incident, written once at closure by one INSERT … SELECT: it IS version 1,
the computed figures with the inputs that differ per subscriber (fee, data service); the
inputs every entry of the incident shares (minutes, operator share, multiplier, policy
version, when computed) are on its header, ``CompensationLedger``, written in the same
transaction. A dispute adds a ``CompensationVersion`` (version 2, 3, …)
in state ``proposed``; a duty manager's approval makes it current. The current figures
of an entry are those of its latest approved version, else the computed ones. Keeping
version 1 on the entry itself halves the rows written for a million-subscriber closure.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum


ENTRY_ID_BASE = 10_000_000_000  # above any subscriber id (a 32-bit integer column)


def entry_id_for(incident_id, subscriber_id):
    """The entry id: incident_id × 10^10 + subscriber_id (works on ints and SQL expressions)."""
    return incident_id * ENTRY_ID_BASE + subscriber_id


def entry_id_range(incident_id: int) -> tuple[int, int]:
    """Every entry id of one incident lies in this closed range, in subscriber order."""
    return incident_id * ENTRY_ID_BASE, incident_id * ENTRY_ID_BASE + ENTRY_ID_BASE - 1


def of_incident(incident_id: int):
    """WHERE clause for one incident's entries: a primary-key range scan."""
    low, high = entry_id_range(incident_id)
    return CompensationEntry.id.between(low, high)


class CompensationEntry(db.Model):
    """One subscriber's compensation for one incident (version 1, as computed at closure).

    The primary key is derived, ``incident_id × 10^10 + subscriber_id``, so that ONE index
    gives everything the ledger needs: a subscriber can be credited at most once per
    incident (a crash and a re-run can never duplicate a credit), the entry id the API
    uses, and an incident's entries as one key range already in subscriber order. A
    surrogate id plus a unique (incident, subscriber) index doubled the write cost of a
    million-row closure (bench/compensation.py).
    """

    __tablename__ = "compensation_entries"
    __table_args__ = (
        CheckConstraint(f"id = incident_id * {ENTRY_ID_BASE} + subscriber_id", name="id_derived"),
        CheckConstraint(f"subscriber_id BETWEEN 1 AND {ENTRY_ID_BASE - 1}", name="subscriber_id_range"),
        CheckConstraint("economic_credit_fen >= 0", name="economic_not_negative"),
        CheckConstraint("data_credit_gb >= 0", name="data_not_negative"),
        # PostgreSQL: one partition per incident's key range, bulk-loaded at closure (partitions.py).
        {"postgresql_partition_by": "RANGE (id)"},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    # No foreign keys here, on purpose: both ids come from the very rows the INSERT … SELECT
    # reads (the incident being closed, the subscribers table), and PostgreSQL checks a
    # foreign key with one trigger call and one row lock per inserted row — for a million
    # subscribers that alone took longer than the whole ledger.
    incident_id: Mapped[int] = mapped_column(Integer)
    subscriber_id: Mapped[int] = mapped_column(Integer)
    # The subscriber's own inputs; with the header's terms any figure can be explained and
    # recomputed by hand. Only what varies per subscriber is here: a million-row closure writes
    # narrow rows (migration 0028 moved the shared terms to the header).
    monthly_fee_fen: Mapped[int] = mapped_column(BigInteger)
    data_service: Mapped[bool] = mapped_column()          # holds one of policy compensation.data_services
    # The computed result (version 1).
    economic_credit_fen: Mapped[int] = mapped_column(BigInteger)
    data_credit_gb: Mapped[int] = mapped_column(Integer)


class CompensationLedger(db.Model):
    """The ledger's header: one row per incident whose ledger is final (written at closure).

    It is written in the same transaction as the entries, so it marks a final ledger even
    when no subscriber was affected (and there are no entries at all), and it keeps the
    terms every entry shares (the entries' inputs besides fee and data service; ``finalised_at``
    is when they were computed) and the totals as computed (before any dispute).
    """

    __tablename__ = "compensation_ledgers"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True, autoincrement=False)
    finalised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finalised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    policy_version: Mapped[str] = mapped_column(String(60))
    outage_minutes: Mapped[int] = mapped_column(Integer)
    operator_share: Mapped[int] = mapped_column(Integer)  # percent
    recovery_window_breached: Mapped[bool] = mapped_column()
    multiplier: Mapped[int] = mapped_column(Integer)
    below_minimum_outage: Mapped[bool] = mapped_column()
    data_credit_gb_per_data_subscriber: Mapped[int] = mapped_column(Integer)
    subscribers: Mapped[int] = mapped_column(Integer)
    # Entries with any credit (economic or data) as computed: with the other totals, the
    # base the ledger's current totals are read from (ledger.final_totals) without a scan.
    credited_subscribers: Mapped[int] = mapped_column(Integer)
    economic_credit_fen: Mapped[int] = mapped_column(BigInteger)
    data_credit_gb: Mapped[int] = mapped_column(BigInteger)
    # When the compensation notices of this ledger were queued: a follow-up job after the
    # closing transaction (app/compensation/followup.py), so a million-row closure does not
    # also queue a million notices in its own transaction. NULL: still to queue.
    notices_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VersionStatus(LabeledEnum):
    proposed = "proposed", "待审批"   # recorded by an agent from a dispute, awaiting a duty manager (or a second one)
    approved = "approved", "已批准"   # current unless a later version is approved
    rejected = "rejected", "已驳回"


class CompensationVersion(db.Model):
    """An adjusted plan (补偿方案协商) for one entry: version 2 and later."""

    __tablename__ = "compensation_versions"
    __table_args__ = (
        UniqueConstraint("entry_id", "version"),
        CheckConstraint("version >= 2", name="version_after_computed"),
        CheckConstraint("economic_credit_fen >= 0", name="economic_not_negative"),
        CheckConstraint("data_credit_gb >= 0", name="data_not_negative"),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="status_known"),
        Index("ix_compensation_versions_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("compensation_entries.id"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    economic_credit_fen: Mapped[int] = mapped_column(BigInteger)
    data_credit_gb: Mapped[int] = mapped_column(Integer)
    dispute_reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Above the policy's cap (compensation.max_adjusted_*) a plan needs two approvals by two
    # different duty managers, neither of them the proposer; the first is recorded here and
    # the plan stays proposed until the second.
    second_approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)


class RectificationState(LabeledEnum):
    """Derived, not stored: from ``completed_at`` and the due date in the policy's zone."""

    open = "open", "待整改"
    overdue = "overdue", "已逾期"
    done = "done", "已完成"


class RectificationItem(db.Model):
    """整改: a corrective action with an owner and a due date, tracked until completed."""

    __tablename__ = "rectification_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(120))
    due_date: Mapped[date] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completion_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
