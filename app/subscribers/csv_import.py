"""CSV import of subscribers: every row validated, then written set-based.

On PostgreSQL the file is COPYed and validated in SQL (``csv_copy``, ``copy_write``) unless
it has quoted fields or NOC_IMPORT_SQL_VALIDATION=0; SQLite, and those files, take the Python
path below, which validates every row in Python.

Columns: ``phone,name,region,services,monthly_fee,language`` (services ``;``-separated).
Each bad row is rejected with its line and reason; each good row creates or updates the
subscriber with that number. The good rows go to temporary staging tables (COPY on
PostgreSQL, executemany on SQLite) and from there into ``subscribers`` and
``subscriber_services`` with a few ``INSERT … SELECT … ON CONFLICT`` statements in one
transaction: a row is imported whole or not at all, and a million rows take seconds.
"""
from __future__ import annotations

import csv
import gc
import io
import os
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator, TextIO

from sqlalchemy import bindparam, select, text

from app.catalog.models import CatalogRegion, CatalogService

from app.clock import utcnow
from app.db_types import UTCDateTime
from app.extensions import db
from app.input_guard import text_problem
from app.phones import InvalidPhone
from app.subscribers import copy_write, csv_copy
from app.subscribers.phone_cache import PhoneParser
from app.subscribers.schemas import LANGUAGES
from app.subscribers.service import fee_to_fen

COLUMNS = ("phone", "name", "region", "services", "monthly_fee", "language")
MAX_REJECTED_LISTED = 1000
_PLAIN_FEE = re.compile(r"^(\d{1,10})(?:\.(\d{1,2}))?$")


class UnreadableCsv(ValueError):
    """The csv module cannot read the file past ``line`` (e.g. a field over its 131,072-character
    limit, a stray quote): the whole file is refused, nothing is imported."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rejected_rows: list[dict] = field(default_factory=list)
    empty: bool = False   # not even a header line

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejected_rows) < MAX_REJECTED_LISTED:
            self.rejected_rows.append({"line": line, "reason": reason})


def parse(stream: TextIO, result: ImportResult, progress: Callable[[int], None] | None = None):
    """Yield (line, phone, name, region, fee_fen, language, services) for each good row; record the bad ones."""
    reader = _records(csv.reader(stream))
    header = next(reader, None)
    if header is None:
        result.empty = True
        return
    header = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in ("phone", "region", "services", "monthly_fee") if c not in header]
    if missing:
        result.reject(1, f"缺少列 {', '.join(missing)} (missing column(s); expected {','.join(COLUMNS)})")
        return
    # Missing optional columns read as "" from one extra empty cell.
    positions = [header.index(name) if name in header else len(header) for name in COLUMNS]
    phones = PhoneParser()
    catalog = _Catalog()
    seen: dict[str, int] = {}
    width = len(header)
    for number, row in enumerate(reader, start=2):
        if progress and number % 10000 == 0:
            progress(10000)
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            result.reject(number, f"列数为 {len(row)}，应为 {width} (wrong number of columns)")
            continue
        row.append("")
        raw_phone, name, region, raw_services, raw_fee, language = (row[i].strip() for i in positions)
        problem = _text_problem(name=name, region=region, services=raw_services, language=language)
        if problem:
            result.reject(number, problem)
            continue
        try:
            phone = phones.e164(raw_phone)
        except InvalidPhone as exc:
            result.reject(number, f"phone: {exc}")
            continue
        if phone in seen:
            result.reject(number, f"phone: 与第 {seen[phone]} 行号码重复 (duplicate of line {seen[phone]})")
            continue
        if not region or len(region) > 60:
            result.reject(number, "region: 地区不能为空且不超过60字 (region is required, at most 60 characters)")
            continue
        services = list(dict.fromkeys(filter(None, map(str.strip, raw_services.split(";")))))
        if not services or max(map(len, services)) > 40:
            result.reject(number, "services: 至少一项业务，每项不超过40字 (at least one service, each at most 40 characters)")
            continue
        match = _PLAIN_FEE.match(raw_fee)
        if match:   # the common "58" / "58.5" / "58.50": integer arithmetic, exact
            fee = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
        else:
            try:
                fee = fee_to_fen(raw_fee)
            except ValueError as exc:
                result.reject(number, f"monthly_fee: {exc}")
                continue
        language = language or "zh-CN"
        if language not in LANGUAGES:
            result.reject(number, f"language: 仅支持 {'/'.join(LANGUAGES)} (unsupported language {language!r})")
            continue
        if len(name) > 120:
            result.reject(number, "name: 不超过120字 (at most 120 characters)")
            continue
        if region not in catalog.regions:
            result.reject(number, f"region: 未知的区域代码「{region}」(unknown region code: {region}; "
                                  "see GET /api/v1/catalog/regions)")
            continue
        unknown = sorted(s for s in services if s not in catalog.services)
        if unknown:
            result.reject(number, f"services: 未知的业务代码「{'」「'.join(unknown)}」(unknown service code: "
                                  f"{', '.join(unknown)}; see GET /api/v1/catalog/services)")
            continue
        seen[phone] = number
        yield number, phone, name, region, fee, language, services


class _Catalog:
    """The region and active service codes a row may name, read once per import (the catalog is small)."""

    def __init__(self) -> None:
        self.regions = set(db.session.scalars(select(CatalogRegion.code)))
        self.services = set(db.session.scalars(select(CatalogService.code).where(CatalogService.active)))


def _records(reader) -> Iterator[list[str]]:
    """The reader's rows; one it cannot read refuses the file, naming the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableCsv(reader.line_num, f"CSV 无法解析 (unreadable CSV): {exc}") from None
        yield row


def _text_problem(**fields: str) -> str | None:
    """'field: reason' for the first text no database can store (control characters, as in JSON)."""
    for name, value in fields.items():
        problem = text_problem(value)
        if problem:
            return f"{name}: {problem}"
    return None


def import_csv(stream: TextIO, progress: Callable[[int], None] | None = None) -> ImportResult:
    # Millions of small tuples and no reference cycles: the cyclic collector would rescan
    # them again and again as they pile up (it doubled the import time), so it waits.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(stream, progress)
    finally:
        if enabled:
            gc.enable()


def _import(stream: TextIO, progress: Callable[[int], None] | None) -> ImportResult:
    result = ImportResult()
    subscribers: list[tuple] = []
    services: list[tuple] = []
    for line, phone, name, region, fee, language, wanted in parse(stream, result, progress):
        subscribers.append((phone, name, region, fee, language))
        services.extend((phone, s) for s in wanted)
    if subscribers:
        result.created, result.updated = _write(subscribers, services)
    db.session.commit()
    return result


def import_binary_stream(stream: BinaryIO, progress=None) -> ImportResult:
    """Import from a byte stream (an upload, a request body, a file). On PostgreSQL by COPY and
    SQL (app/subscribers/csv_copy.py) unless the file needs the CSV reader's full grammar;
    otherwise decoded as it is read: memory holds the validated rows, never the file. newline=""
    as the csv module wants: \n, \r\n and a lone \r all end a line. UnicodeDecodeError or
    UnreadableCsv: nothing was written."""
    if db.session.get_bind().dialect.name == "postgresql" and os.environ.get("NOC_IMPORT_SQL_VALIDATION") != "0":
        try:
            return _import_by_copy(stream)
        except csv_copy.Fallback as fallback:
            db.session.rollback()
            stream = csv_copy.Replay(fallback.head, stream)
        except BaseException:
            db.session.rollback()
            raise
    if not isinstance(stream, io.BufferedIOBase):
        stream = io.BufferedReader(stream)
    return import_csv(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), progress)


IMPORT_WORK_MEM = "256MB"  # PostgreSQL, for the import's transaction only (SET LOCAL)


def _import_by_copy(stream: BinaryIO) -> ImportResult:
    result = ImportResult()
    connection = db.session.connection()
    # The hash tables of a million lines (distinct values, the foreign key's check) in memory.
    connection.exec_driver_sql(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
    try:
        with connection.begin_nested():
            positions, width, lines = csv_copy.copy_fields(connection, stream)
        source = csv_copy.fields_source(positions, width)
    except csv_copy.NotPlain as not_plain:   # split line by line in SQL instead
        lines = csv_copy.copy_lines(connection, csv_copy.Replay(not_plain.head, stream))
        header = csv_copy.header_positions(connection)
        if header is None or isinstance(header, str):
            db.session.rollback()
            if header is None:
                result.empty = True
            else:
                result.reject(1, header)
            return result
        positions, width = header
        source = csv_copy.stage_rows(connection, positions, width)
    csv_copy.lookups(connection, source)
    bulk = copy_write.lock(connection)
    csv_copy.judge(connection, source, width, lines, bulk)
    result.created, result.updated, result.rejected = copy_write.write(connection, bulk)
    if result.rejected:
        result.rejected_rows = csv_copy.rejected(connection, MAX_REJECTED_LISTED)
    db.session.commit()
    return result


def _write(subscribers: list[tuple], services: list[tuple]) -> tuple[int, int]:
    connection = db.session.connection()
    dialect = connection.dialect.name
    raw = connection.connection.driver_connection
    temp = "TEMPORARY" if dialect == "postgresql" else "TEMP"
    on_commit = "ON COMMIT DROP" if dialect == "postgresql" else ""
    connection.exec_driver_sql("DROP TABLE IF EXISTS import_subscribers") if dialect == "sqlite" else None
    connection.exec_driver_sql("DROP TABLE IF EXISTS import_services") if dialect == "sqlite" else None
    connection.exec_driver_sql(f"CREATE {temp} TABLE import_subscribers (phone VARCHAR(20) PRIMARY KEY, "
                               f"name VARCHAR(120), region VARCHAR(60), fee BIGINT, language VARCHAR(10)) {on_commit}")
    connection.exec_driver_sql(f"CREATE {temp} TABLE import_services (phone VARCHAR(20), service VARCHAR(40), "
                               f"PRIMARY KEY (phone, service)) {on_commit}")
    if dialect == "postgresql":
        with raw.cursor() as cursor:
            with cursor.copy("COPY import_subscribers (phone, name, region, fee, language) FROM STDIN") as copy:
                for row in subscribers:
                    copy.write_row(row)
            with cursor.copy("COPY import_services (phone, service) FROM STDIN") as copy:
                for row in services:
                    copy.write_row(row)
    else:
        cursor = raw.cursor()
        cursor.executemany("INSERT INTO import_subscribers VALUES (?, ?, ?, ?, ?)", subscribers)
        cursor.executemany("INSERT INTO import_services VALUES (?, ?)", services)
        cursor.close()
    if dialect == "postgresql":
        # Temporary tables have no statistics until analysed; without them the planner
        # joins a million staged rows by nested loop.
        connection.exec_driver_sql("ANALYZE import_subscribers")
        connection.exec_driver_sql("ANALYZE import_services")
    created, updated = _upsert(connection, len(subscribers))
    if dialect == "sqlite":
        connection.exec_driver_sql("DROP TABLE import_subscribers")
        connection.exec_driver_sql("DROP TABLE import_services")
    return created, updated


def _upsert(connection, staged: int) -> tuple[int, int]:
    """From the staging tables import_subscribers / import_services into the real ones, set-based;
    returns (created, updated)."""
    dialect = connection.dialect.name
    updated = connection.execute(text(
        "SELECT count(*) FROM import_subscribers i JOIN subscribers s ON s.phone = i.phone")).scalar_one()
    stamp = {"now": utcnow()}
    utc = UTCDateTime()

    # In phone order (the unique index's order); an unchanged subscriber is not rewritten.
    connection.execute(text(f"""
        INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, created_at, updated_at)
        SELECT phone, name, region, fee, language, :now, :now FROM import_subscribers WHERE true ORDER BY phone
        {copy_write.UPDATE_CHANGED}
    """).bindparams(bindparam("now", type_=utc)), stamp)
    if dialect == "postgresql":
        connection.exec_driver_sql("ANALYZE subscribers")   # it may just have grown by a million rows
    # Each imported subscriber ends with exactly the file's services: drop the others, add the
    # missing ones — in subscriber id order, so both indexes and the FK check stay cache-local.
    connection.execute(text("""
        DELETE FROM subscriber_services
        WHERE subscriber_id IN (SELECT s.id FROM subscribers s JOIN import_subscribers i ON i.phone = s.phone)
          AND NOT EXISTS (SELECT 1 FROM import_services x JOIN subscribers s2 ON s2.phone = x.phone
                          WHERE s2.id = subscriber_services.subscriber_id AND x.service = subscriber_services.service)"""))
    connection.execute(text("""
        INSERT INTO subscriber_services (subscriber_id, service)
        SELECT s.id, x.service FROM import_services x JOIN subscribers s ON s.phone = x.phone
        WHERE NOT EXISTS (SELECT 1 FROM subscriber_services ss WHERE ss.subscriber_id = s.id AND ss.service = x.service)
        ORDER BY s.id"""))
    return staged - updated, updated


def count_lines(path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
