"""The COPY path's writes: the good lines of ``import_judged`` (csv_copy) into ``subscribers`` and
``subscriber_services``, in the caller's transaction.

Locks, taken before the lines are judged (their ``id`` is the existing subscriber's, read then):

- into an empty table, a bulk load: ACCESS EXCLUSIVE on both tables (readers wait too, for
  seconds, on a table that had nothing to read), the secondary indexes and the foreign key
  dropped and rebuilt after a plain INSERT (``app.pg_indexes``);
- otherwise an upsert under EXCLUSIVE on both: readers go on, every other writer (the API's
  ``POST /subscribers``, an opt-out) waits for the import's commit, so no number is inserted
  between the judging and the write. Both tables are locked in the order the API's writes
  take them (subscribers, then their services): no deadlock.

A bulk load's file usually has no duplicate number: the rebuild of the unique index on the
phone finds out, a savepoint undoes the attempt, and ``csv_copy.mark_duplicates`` names them
before the load is done again.
"""
from __future__ import annotations

from psycopg.errors import UniqueViolation
from sqlalchemy import bindparam, text
from sqlalchemy.exc import DBAPIError

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.pg_indexes import secondary_indexes_dropped
from app.subscribers import csv_copy

TABLES = ("subscribers", "subscriber_services")

# The upsert's conflict clause, shared by both import paths (here and csv_import's Python path):
# an existing number takes the file's fields; an unchanged subscriber is not rewritten.
UPDATE_CHANGED = """ON CONFLICT (phone) DO UPDATE SET name = excluded.name, region = excluded.region,
            monthly_fee_fen = excluded.monthly_fee_fen, language = excluded.language, updated_at = excluded.updated_at
        WHERE subscribers.name IS DISTINCT FROM excluded.name OR subscribers.region IS DISTINCT FROM excluded.region
           OR subscribers.monthly_fee_fen IS DISTINCT FROM excluded.monthly_fee_fen
           OR subscribers.language IS DISTINCT FROM excluded.language"""


def lock(connection) -> bool:
    """Lock both tables for the import; True when subscribers is empty (a bulk load). EXCLUSIVE
    first, before reading them: two imports queue here instead of deadlocking on an upgrade."""
    connection.exec_driver_sql(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
    if not _empty(connection):
        return False
    connection.exec_driver_sql(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE")
    return True


def _empty(connection) -> bool:
    return not connection.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM subscribers)").scalar_one()


def write(connection, bulk: bool) -> tuple[int, int, int]:
    """(created, updated, rejected). A bulk load leaves the duplicates to the rebuild of the unique index
    unless a rejected line may be one (the index sees only the good lines); an upsert names them
    first (ON CONFLICT would let a second line update a row the first one left unchanged)."""
    if not bulk or connection.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM import_judged "
                                              "WHERE problem IS NOT NULL AND may_be_duplicate)").scalar_one():
        csv_copy.mark_duplicates(connection)
        _write(connection, bulk)
    else:
        try:
            with connection.begin_nested():
                _write(connection, bulk)
        except DBAPIError as error:
            if not isinstance(error.orig, UniqueViolation):
                raise
            csv_copy.mark_duplicates(connection)
            _write(connection, bulk)
    return connection.exec_driver_sql(
        "SELECT count(*) FILTER (WHERE problem IS NULL AND NOT existed), count(*) FILTER (WHERE problem IS NULL "
        "AND existed), count(*) FILTER (WHERE problem IS NOT NULL) FROM import_judged").one()


def _write(connection, bulk: bool) -> None:
    now = {"now": utcnow()}
    utc = UTCDateTime()
    columns = "id, phone, name, region, monthly_fee_fen, language, created_at, updated_at"
    rows = "SELECT id, phone, name, region, fee, language, :now, :now FROM import_judged WHERE problem IS NULL"
    services = ("INSERT INTO subscriber_services (subscriber_id, service) "
                "SELECT id, unnest(services) FROM import_judged WHERE problem IS NULL")
    if bulk:
        with secondary_indexes_dropped(connection, TABLES):
            connection.execute(text(f"INSERT INTO subscribers ({columns}) {rows}").bindparams(
                bindparam("now", type_=utc)), now)
            connection.exec_driver_sql(services)
    else:
        connection.execute(text(f"""
            INSERT INTO subscribers ({columns}) {rows} ORDER BY phone {UPDATE_CHANGED}""").bindparams(bindparam("now", type_=utc)), now)
        # Each imported subscriber ends with exactly the file's services.
        connection.exec_driver_sql("""
            DELETE FROM subscriber_services ss USING import_judged j
            WHERE j.problem IS NULL AND j.existed AND ss.subscriber_id = j.id AND ss.service <> ALL (j.services)""")
        connection.exec_driver_sql(services + " ORDER BY 1 ON CONFLICT DO NOTHING")
    connection.exec_driver_sql("ANALYZE subscribers")   # it may just have grown by a million rows
