"""The PostgreSQL fast path of the subscriber CSV import: COPY the lines, validate in SQL.

``csv_import`` validated every row in Python: ~30× the cost of PostgreSQL's own COPY of the
same file (bench/csv_import.py). Here Python only decodes the bytes (to refuse a file that is
not UTF-8, as before) and streams them to ``COPY``: one staged row per physical line, numbered
as it arrives. One SQL statement then splits, normalises and checks every line, with the
same rules, in the same order, and the same messages as ``csv_import.parse``:

- phones: the common Chinese mobile shape (``1`` + 10 digits, optionally +86/0086/86, spaces,
  dashes, brackets) is normalised by a regular expression; whether a number is allocated is
  decided by its 7-digit prefix, asked of ``phonenumbers`` once per distinct prefix in the
  file (the country's numbering plan), and joined as a small table. Any other shape — rare —
  is parsed by ``app.phones.to_e164`` once per distinct value;
- region and service codes must be known: an anti-join against ``catalog_regions`` and the
  active ``catalog_services``;
- a later line with the number of an earlier good line is its duplicate.

A file with a double quote, a carriage return, or bytes \\x01/\\x02 in it needs the CSV
reader's full grammar (quoted fields, fields over several lines): it is handed, whole, to the
Python path (``Fallback``) before anything was written. The good rows then go through the
same set-based upsert as before, in the caller's transaction: nothing is half-imported.
"""
from __future__ import annotations

import codecs
import csv
import io
from typing import BinaryIO

from sqlalchemy import text

from app.extensions import db
from app.input_guard import CONTROL_CHARACTER
from app.phones import InvalidPhone, to_e164
from app.subscribers.schemas import LANGUAGES
from app.subscribers.service import fee_to_fen

CHUNK = 1 << 20
NEEDS_CSV_READER = (b'"', b"\r", b"\x00", b"\x01", b"\x02")
WHITESPACE = " \t\n\x0b\x0c\r\u3000"


class Fallback(Exception):
    """This file needs the Python CSV reader; ``head`` holds the bytes already read."""

    def __init__(self, head: bytes) -> None:
        super().__init__("csv grammar needed")
        self.head = head


def copy_lines(connection, stream: BinaryIO) -> int:
    """Stage every physical line as (n, line); returns the count. Raises Fallback (nothing staged
    that matters: the caller's transaction is rolled back) or UnicodeDecodeError."""
    connection.exec_driver_sql("CREATE TEMPORARY TABLE import_lines (n BIGINT GENERATED ALWAYS AS IDENTITY, "
                               "line TEXT) ON COMMIT DROP")
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen: list[bytes] = []   # bounded by the upload limit; replayed if the file needs the CSV reader
    first = True
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        # A delimiter and quote that never reach COPY (see NEEDS_CSV_READER): one column per line.
        with cursor.copy("COPY import_lines (line) FROM STDIN (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')") as copy:
            while chunk := stream.read(CHUNK):
                if first:
                    chunk = chunk.removeprefix(codecs.BOM_UTF8)
                    first = False
                seen.append(chunk)
                if any(mark in chunk for mark in NEEDS_CSV_READER):
                    raise Fallback(b"".join(seen))
                decoder.decode(chunk)  # UnicodeDecodeError: not UTF-8, nothing imported
                copy.write(chunk)
        decoder.decode(b"", final=True)
    # A field the CSV reader would refuse (over its size limit): the Python path names the line.
    if connection.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM import_lines WHERE length(line) > "
                                  f"{csv.field_size_limit()})").scalar_one():
        raise Fallback(b"".join(seen))
    return connection.exec_driver_sql("SELECT count(*) FROM import_lines").scalar_one()


def header_positions(connection) -> tuple[list[int], int] | str | None:
    """1-based positions of COLUMNS in the header line (len+1 for a missing optional column) and the
    width; a reason string when a required column is missing; None for an empty file."""
    from app.subscribers.csv_import import COLUMNS

    line = connection.exec_driver_sql("SELECT line FROM import_lines WHERE n = 1").scalar()
    if line is None:
        return None
    header = [h.strip().lower().lstrip("\ufeff") for h in next(csv.reader([line]))]
    missing = [c for c in ("phone", "region", "services", "monthly_fee") if c not in header]
    if missing:
        return f"缺少列 {', '.join(missing)} (missing column(s); expected {','.join(COLUMNS)})"
    return [header.index(name) + 1 if name in header else len(header) + 1 for name in COLUMNS], len(header)


def _fields(positions: list[int], width: int) -> str:
    def field(position: int) -> str:
        return f"btrim(coalesce(f[{position}], ''), :ws)" if position <= width else "''"

    phone, name, region, services, fee, language = (field(p) for p in positions)
    return (f"SELECT n AS line, cardinality(f) AS width, {phone} AS raw_phone, {name} AS name, {region} AS region, "
            f"{services} AS raw_services, {fee} AS raw_fee, {language} AS raw_language "
            f"FROM (SELECT n, string_to_array(line, ',') AS f FROM import_lines "
            f"WHERE n > 1 AND line IS NOT NULL AND btrim(line, :ws) <> '') lines")


def stage_rows(connection, positions: list[int], width: int) -> None:
    """import_rows: each data line split and trimmed, its phone normalised where the common shape allows."""
    connection.execute(text(f"""
        CREATE TEMPORARY TABLE import_rows ON COMMIT DROP AS
        SELECT r.*, substring(translate(raw_phone, ' -()' || chr(9), '') FROM '^(?:\\+86|0086|86)?(1[0-9]{{10}})$')
                    AS national
        FROM ({_fields(positions, width)}) r"""), {"ws": WHITESPACE})
    _phone_plan(connection)
    _odd_values(connection)
    connection.exec_driver_sql("ANALYZE import_rows")


def _phone_plan(connection) -> None:
    """valid_prefixes: the file's 7-digit mobile prefixes that phonenumbers says are allocated."""
    prefixes = connection.exec_driver_sql(
        "SELECT DISTINCT substr(national, 1, 7) FROM import_rows WHERE national IS NOT NULL").scalars().all()
    valid = []
    for prefix in prefixes:
        try:
            to_e164(prefix + "0000")
            valid.append(prefix)
        except InvalidPhone:
            pass
    connection.exec_driver_sql("CREATE TEMPORARY TABLE valid_prefixes (prefix TEXT PRIMARY KEY) ON COMMIT DROP")
    if valid:
        connection.execute(text("INSERT INTO valid_prefixes SELECT unnest(CAST(:p AS TEXT[]))"), {"p": valid})


def _odd_values(connection) -> None:
    """odd_phones / odd_fees: values outside the common shapes, parsed by the Python rules once each."""
    connection.exec_driver_sql("CREATE TEMPORARY TABLE odd_phones (raw TEXT PRIMARY KEY, e164 TEXT, problem TEXT) "
                               "ON COMMIT DROP")
    connection.exec_driver_sql("CREATE TEMPORARY TABLE odd_fees (raw TEXT PRIMARY KEY, fen BIGINT, problem TEXT) "
                               "ON COMMIT DROP")
    phones = connection.exec_driver_sql(
        "SELECT DISTINCT raw_phone FROM import_rows WHERE national IS NULL").scalars().all()
    rows = []
    for raw in phones:
        try:
            rows.append({"raw": raw, "e164": to_e164(raw), "problem": None})
        except InvalidPhone as exc:
            rows.append({"raw": raw, "e164": None, "problem": f"phone: {exc}"})
    if rows:
        connection.execute(text("INSERT INTO odd_phones VALUES (:raw, :e164, :problem)"), rows)
    fees = connection.exec_driver_sql(
        r"SELECT DISTINCT raw_fee FROM import_rows WHERE raw_fee !~ '^[0-9]{1,10}(\.[0-9]{1,2})?$'").scalars().all()
    rows = []
    for raw in fees:
        try:
            rows.append({"raw": raw, "fen": fee_to_fen(raw), "problem": None})
        except ValueError as exc:
            rows.append({"raw": raw, "fen": None, "problem": f"monthly_fee: {exc}"})
    if rows:
        connection.execute(text("INSERT INTO odd_fees VALUES (:raw, :fen, :problem)"), rows)


CONTROL = "[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f]"
PLAIN_FEE = "^[0-9]{1,10}(\\.[0-9]{1,2})?$"  # csv_import._PLAIN_FEE


def _check_services(connection) -> None:
    """import_service_checks: per line, its distinct services, any over 40 characters, the unknown ones
    (one set-based pass and one hash join with the catalog, not a sub-query per line)."""
    connection.execute(text("""
        CREATE TEMPORARY TABLE import_service_rows ON COMMIT DROP AS
        SELECT DISTINCT r.line, btrim(x, :ws) AS service
        FROM import_rows r, unnest(string_to_array(r.raw_services, ';')) x
        WHERE btrim(x, :ws) <> ''"""), {"ws": WHITESPACE})
    connection.exec_driver_sql("""
        CREATE TEMPORARY TABLE import_service_checks ON COMMIT DROP AS
        SELECT x.line, array_agg(x.service ORDER BY x.service) AS services,
               bool_or(length(x.service) > 40) AS too_long,
               array_agg(x.service ORDER BY x.service) FILTER (WHERE c.code IS NULL) AS unknown_services
        FROM import_service_rows x LEFT JOIN catalog_services c ON c.code = x.service AND c.active
        GROUP BY x.line""")
    connection.exec_driver_sql("ANALYZE import_service_checks")


def judge(connection, width: int) -> None:
    """import_judged: every data line with its E.164 phone, fee, services and the FIRST problem
    (csv_import.parse's order) or NULL; a duplicate is one of an earlier line without problem."""
    _check_services(connection)
    languages = "', '".join(LANGUAGES)
    connection.execute(text(f"""
        CREATE TEMPORARY TABLE import_judged ON COMMIT DROP AS
        WITH parsed AS (
            SELECT r.line, r.width, r.name, r.region, r.raw_services, r.raw_fee,
                   coalesce(nullif(r.raw_language, ''), 'zh-CN') AS language, r.raw_language,
                   CASE WHEN r.national IS NOT NULL THEN '+86' || r.national ELSE o.e164 END AS phone,
                   CASE WHEN r.national IS NOT NULL AND v.prefix IS NULL
                        THEN 'phone: 号码无效 (not a valid phone number)' ELSE o.problem END AS phone_problem,
                   CASE WHEN r.raw_fee ~ '{PLAIN_FEE}'
                        THEN split_part(r.raw_fee, '.', 1)::bigint * 100
                             + rpad(split_part(r.raw_fee, '.', 2), 2, '0')::bigint
                        ELSE f.fen END AS fee,
                   f.problem AS fee_problem,
                   coalesce(sc.services, '{{}}') AS services, coalesce(sc.too_long, false) AS services_too_long,
                   sc.unknown_services, cr.code IS NOT NULL AS region_known
            FROM import_rows r
            LEFT JOIN valid_prefixes v ON v.prefix = substr(r.national, 1, 7)
            LEFT JOIN odd_phones o ON r.national IS NULL AND o.raw = r.raw_phone
            LEFT JOIN odd_fees f ON f.raw = r.raw_fee
            LEFT JOIN import_service_checks sc ON sc.line = r.line
            LEFT JOIN catalog_regions cr ON cr.code = r.region
        ), checked AS (
            SELECT p.*,
                   CASE
                     WHEN p.width <> {width} THEN '列数为 ' || p.width || '，应为 {width} (wrong number of columns)'
                     WHEN p.name ~ '{CONTROL}' THEN 'name: {CONTROL_CHARACTER}'
                     WHEN p.region ~ '{CONTROL}' THEN 'region: {CONTROL_CHARACTER}'
                     WHEN p.raw_services ~ '{CONTROL}' THEN 'services: {CONTROL_CHARACTER}'
                     WHEN p.raw_language ~ '{CONTROL}' THEN 'language: {CONTROL_CHARACTER}'
                     WHEN p.phone_problem IS NOT NULL THEN p.phone_problem
                   END AS early_problem,
                   CASE
                     WHEN p.region = '' OR length(p.region) > 60
                       THEN 'region: 地区不能为空且不超过60字 (region is required, at most 60 characters)'
                     WHEN cardinality(p.services) = 0 OR p.services_too_long
                       THEN 'services: 至少一项业务，每项不超过40字 (at least one service, each at most 40 characters)'
                     WHEN p.fee_problem IS NOT NULL THEN p.fee_problem
                     WHEN p.language NOT IN ('{languages}')
                       THEN 'language: 仅支持 {"/".join(LANGUAGES)} (unsupported language ' || quote_literal(p.language) || ')'
                     WHEN length(p.name) > 120 THEN 'name: 不超过120字 (at most 120 characters)'
                     WHEN NOT p.region_known
                       THEN 'region: 未知的区域代码「' || p.region || '」(unknown region code: ' || p.region
                            || '; see GET /api/v1/catalog/regions)'
                     WHEN p.unknown_services IS NOT NULL
                       THEN 'services: 未知的业务代码「' || array_to_string(p.unknown_services, '」「')
                            || '」(unknown service code: ' || array_to_string(p.unknown_services, ', ')
                            || '; see GET /api/v1/catalog/services)'
                   END AS late_problem
            FROM parsed p
        ), ranked AS (
            -- the first line of each number without any problem: later lines with it are duplicates
            SELECT c.*, min(c.line) FILTER (WHERE c.early_problem IS NULL AND c.late_problem IS NULL)
                                    OVER (PARTITION BY c.phone) AS first_good
            FROM checked c
        )
        SELECT line, phone, name, region, fee, language, services,
               coalesce(early_problem,
                        CASE WHEN first_good < line
                             THEN 'phone: 与第 ' || first_good || ' 行号码重复 (duplicate of line ' || first_good || ')'
                        END,
                        late_problem) AS problem
        FROM ranked"""), {"ws": WHITESPACE})


def rejected(connection, limit: int) -> tuple[int, list[dict]]:
    count = connection.exec_driver_sql("SELECT count(*) FROM import_judged WHERE problem IS NOT NULL").scalar_one()
    rows = connection.execute(text("SELECT line, problem FROM import_judged WHERE problem IS NOT NULL "
                                   "ORDER BY line LIMIT :limit"), {"limit": limit}).all()
    return count, [{"line": line, "reason": reason} for line, reason in rows]


def stage_good_rows(connection) -> int:
    """The good rows into the staging tables the upsert reads (csv_import._upsert)."""
    connection.exec_driver_sql("CREATE TEMPORARY TABLE import_subscribers ON COMMIT DROP AS "
                               "SELECT phone, name, region, fee, language FROM import_judged WHERE problem IS NULL")
    connection.exec_driver_sql("CREATE TEMPORARY TABLE import_services ON COMMIT DROP AS "
                               "SELECT phone, unnest(services) AS service FROM import_judged WHERE problem IS NULL")
    connection.exec_driver_sql("ALTER TABLE import_subscribers ADD PRIMARY KEY (phone)")
    connection.exec_driver_sql("ANALYZE import_subscribers")
    connection.exec_driver_sql("ANALYZE import_services")
    return connection.exec_driver_sql("SELECT count(*) FROM import_subscribers").scalar_one()


class Replay(io.RawIOBase):
    """The file again from its start, for the Python path after a Fallback: ``head``, then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        data = self.rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
