"""ledger entries keep only what varies per subscriber: the run's terms live on the header

Every entry repeated its incident's outage minutes, operator share, multiplier, policy version
and computation time, which the ledger header (``compensation_ledgers``, written in the same
transaction since 0006) already holds: dropped from the entries, the rows a million-subscriber
closure writes are narrower (less heap, less WAL). Readers join the header.

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-01 08:00:00

"""
from alembic import op
import sqlalchemy as sa

from app.db_types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0030'
branch_labels = None
depends_on = None

# Each moved column, its type and where the header keeps it.
MOVED = (
    ("outage_minutes", sa.Integer(), "outage_minutes"),
    ("operator_share", sa.Integer(), "operator_share"),
    ("multiplier", sa.Integer(), "multiplier"),
    ("policy_version", sa.String(length=60), "policy_version"),
    ("computed_at", UTCDateTime(), "finalised_at"),
)


def upgrade():
    # PostgreSQL: a DROP COLUMN on the partitioned table drops it from every partition (metadata
    # only, no rewrite). SQLite (3.35+) drops a column in place, its guard triggers kept.
    for column, _, _ in MOVED:
        op.drop_column('compensation_entries', column)


def downgrade():
    for column, type_, _ in MOVED:
        op.add_column('compensation_entries', sa.Column(column, type_, nullable=True))
    # The entries are never overwritten (a guard trigger refuses it): set aside while the
    # header's terms are copied back onto them.
    _guards("DISABLE")
    assignments = ", ".join(
        f"{column} = (SELECT h.{source} FROM compensation_ledgers h WHERE h.incident_id = compensation_entries.incident_id)"
        for column, _, source in MOVED)
    op.execute(f"UPDATE compensation_entries SET {assignments}")
    _guards("ENABLE")
    # SQLite can neither add a NOT NULL column without a default nor alter one in place (a table
    # rebuild would drop the guard triggers): there the columns stay nullable.
    if op.get_bind().dialect.name == "postgresql":
        for column, _, _ in MOVED:
            op.execute(f"ALTER TABLE compensation_entries ALTER COLUMN {column} SET NOT NULL")


SQLITE_UPDATE_GUARD = """
    CREATE TRIGGER compensation_entries_no_update
    BEFORE UPDATE ON compensation_entries
    BEGIN
        SELECT RAISE(ABORT, 'compensation_entries is never overwritten');
    END
"""


def _guards(action: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE compensation_entries {action} TRIGGER compensation_entries_immutable")
    elif action == "DISABLE":
        op.execute("DROP TRIGGER compensation_entries_no_update")
    else:
        op.execute(SQLITE_UPDATE_GUARD)
