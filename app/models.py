"""Models shared by every domain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.policy import Policy


class PolicyVersion(db.Model):
    """Every policy that ever produced a result, so any figure can be explained later."""

    __tablename__ = "policy_versions"

    version: Mapped[str] = mapped_column(String(60), primary_key=True)
    content: Mapped[dict] = mapped_column(JSON)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime())


def record_policy_version(policy: Policy) -> str:
    """Keep the policy's content under its version (idempotent); returns the version."""
    # One look per transaction: a declaration asks for the incident and again for its deadlines.
    known = db.session.info.setdefault(_RECORDED, set())
    if policy.version in known:
        return policy.version
    exists = db.session.scalar(select(PolicyVersion.version).where(PolicyVersion.version == policy.version))
    if exists is None:
        db.session.add(PolicyVersion(version=policy.version, content=policy.data, first_used_at=utcnow()))
    known.add(policy.version)
    return policy.version


_RECORDED = "noc_policy_versions_recorded"


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction) -> None:
    """The next transaction looks again (commit, rollback or close of the outermost one)."""
    if transaction.parent is None:
        session.info.pop(_RECORDED, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_a_rollback(session: Session, _previous) -> None:
    """Any rollback, a savepoint's too, may have dropped the row this transaction added."""
    session.info.pop(_RECORDED, None)
