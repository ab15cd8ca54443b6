"""Models shared by every domain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

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
    exists = db.session.scalar(select(PolicyVersion.version).where(PolicyVersion.version == policy.version))
    if exists is None:
        db.session.add(PolicyVersion(version=policy.version, content=policy.data, first_used_at=utcnow()))
    return policy.version
