"""PostgreSQL bulk loads: a table's secondary indexes and foreign keys dropped for the load and
rebuilt after it, in the caller's transaction.

Into an empty table, one sort per index after the load costs a fraction of a million
incremental index insertions, and a foreign key checked by one join costs a fraction of a
million row-by-row checks. DDL is transactional in PostgreSQL: a crash or an error before the
commit leaves the indexes and keys as they were. The caller holds ACCESS EXCLUSIVE locks on the
tables (DROP INDEX needs it anyway); a primary key another table's foreign key uses stays.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text

# Sorting in memory: the default (64MB) spills a million-row index build to disk.
BUILD_MEMORY = "512MB"


def _definitions(connection, table: str) -> list[tuple[str, str, str]]:
    """(kind, name, definition) of the table's unique constraints, plain indexes, foreign keys, and
    its primary key when no foreign key refers to it."""
    rows = connection.execute(text("""
        SELECT CASE c.contype WHEN 'f' THEN 'foreign' ELSE 'unique' END, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.conrelid = CAST(:t AS regclass)
          AND (c.contype IN ('u', 'f') OR c.contype = 'p' AND NOT EXISTS (
               SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid))
        UNION ALL
        SELECT 'index', i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = CAST(:t AS regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))
        ORDER BY 1, 2"""), {"t": table}).all()
    return [tuple(row) for row in rows]


@contextmanager
def secondary_indexes_dropped(connection, tables: tuple[str, ...]):
    """Drop the tables' secondary indexes, unique constraints and foreign keys; rebuild them on exit
    (a duplicate then fails the rebuild of its unique constraint: the caller's savepoint undoes it)."""
    saved = [(table, *definition) for table in tables for definition in _definitions(connection, table)]
    for table, kind, name, _ in sorted(saved, key=lambda s: s[1] != "foreign"):  # keys before their indexes
        if kind == "index":
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        else:
            connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    for table, kind, name, definition in sorted(saved, key=lambda s: s[1] == "foreign"):  # indexes first
        if kind == "index":
            connection.exec_driver_sql(definition)
        else:
            connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
