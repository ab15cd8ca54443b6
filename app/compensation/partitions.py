"""One PostgreSQL partition of ``compensation_entries`` per incident: a ledger is loaded in bulk.

Inserting a million rows one by one into the shared table maintained its primary-key index
row by row — most of a million-subscriber closure's time (bench/compensation.py). An
incident's entries are one key range (``models.entry_id_range``) and are written once, so on
PostgreSQL the closure loads them into a table of their own with no index, builds the
primary key once, sorted, and attaches the table as that range's partition, all in the
closing transaction (DDL is transactional there: a crash leaves nothing). A CHECK of the
range, added before the load, lets ATTACH skip its validation scan. Row triggers (the ledger
is never overwritten) and the foreign key of ``compensation_versions`` follow the partition.

Readers are unchanged: every query names an entry id or an incident's id range, so the
planner reads only that incident's partition. SQLite keeps one plain table.
"""
from __future__ import annotations

import re

from sqlalchemy import MetaData, Table, text

from app.compensation.models import CompensationEntry, entry_id_range
from app.extensions import db


def name_of(incident_id: int) -> str:
    return f"compensation_entries_i{int(incident_id)}"


def create_unindexed(incident_id: int) -> Table:
    """A new empty table shaped like the ledger, for this incident's range; returns it to INSERT into."""
    name = name_of(incident_id)
    low, high = entry_id_range(incident_id)
    _drop_if_empty_leftover(name)
    db.session.execute(text(f"CREATE TABLE {name} (LIKE compensation_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    db.session.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK (id BETWEEN {low} AND {high})"))
    return Table(name, MetaData(), *(column._copy() for column in CompensationEntry.__table__.columns))


def index_and_attach(incident_id: int) -> None:
    """Build the primary key in one sorted pass, then make the table the incident's partition."""
    name = name_of(incident_id)
    low, high = entry_id_range(incident_id)
    db.session.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT pk_{name} PRIMARY KEY (id)"))
    db.session.execute(text(f"ALTER TABLE compensation_entries ATTACH PARTITION {name} "
                            f"FOR VALUES FROM ({low}) TO ({high + 1})"))


def _drop_if_empty_leftover(name: str) -> None:
    """A partition of an incident with no final ledger can only be an emptied one (a database
    truncated table by table, as the tests do): drop it. One holding rows is refused."""
    exists = db.session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
    if not exists:
        return
    if db.session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {name})")):
        raise RuntimeError(f"{name} holds entries but its incident has no final ledger: refusing to overwrite")
    if db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(:name))"),
                         {"name": name}):
        db.session.execute(text(f"ALTER TABLE compensation_entries DETACH PARTITION {name}"))
    db.session.execute(text(f"DROP TABLE {name}"))


PARTITION_NAME = re.compile(r"^compensation_entries_i\d+$")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: the per-incident partitions (and the foreign keys PostgreSQL clones onto
    them) are data, made at closure, not schema the models describe."""
    if type_ == "table" and name and PARTITION_NAME.match(name):
        return False
    if type_ == "foreign_key_constraint" and reflected:
        referred = getattr(obj, "referred_table", None)
        if referred is not None and PARTITION_NAME.match(referred.name):
            return False
    return True
