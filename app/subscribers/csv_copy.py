"""The PostgreSQL path of the subscriber CSV import (the default there): COPY, validate in SQL.

``csv_import`` validated every row in Python: ~40× the cost of PostgreSQL's own COPY of the
same file (bench/csv_import.py). Here Python only decodes the bytes (to refuse a file that is
not UTF-8) and streams them to ``COPY``:

- a plain file (``copy_fields``: every line as wide as the header, no blank line, no control
  character, no space beside a comma or a line's end) is split into fields by COPY itself;
- any other file is staged one row per physical line and split by SQL (``copy_lines``,
  ``stage_rows``).

Each distinct value that needs Python's rules — a mobile prefix (allocated or not, asked of
``phonenumbers`` once per 7-digit prefix), a phone outside the common shapes, a fee, a list of
services — is judged once in Python and joined as a small table (``lookups``). One statement
(``judge``) then checks every line with the same rules, in the same order, and the same
messages as ``csv_import.parse``; a later line with the number of an earlier good line is its
duplicate (``mark_duplicates``).

A file with a double quote, a carriage return, bytes \\x00-\\x02 or a ``\\.`` (COPY's end marker)
needs the CSV reader: it is handed, whole, to the Python path (``Fallback``) before anything
was written. ``copy_write`` writes the good lines in the caller's transaction: nothing is
half-imported.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from typing import BinaryIO

import psycopg
from sqlalchemy import text

from app.extensions import db
from app.input_guard import CONTROL_CHARACTER
from app.phones import InvalidPhone, to_e164
from app.subscribers.schemas import LANGUAGES
from app.subscribers.service import fee_to_fen

CHUNK = 1 << 20
NEEDS_CSV_READER = (b'"', b"\r", b"\x00", b"\x01", b"\x02", b"\\.")  # \. alone ends a COPY
WHITESPACE = " \t\n\x0b\x0c\r\u3000"
CONTROL = "[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f]"
DUPLICATE = "'phone: 与第 ' || {0} || ' 行号码重复 (duplicate of line ' || {0} || ')'"


class Fallback(Exception):
    """This file needs the Python CSV reader; ``head`` holds the bytes already read."""

    def __init__(self, head: bytes) -> None:
        super().__init__("csv grammar needed")
        self.head = head


class NotPlain(Exception):
    """This file cannot be split by COPY itself (see ``copy_fields``): stage it line by line.
    ``head`` holds the bytes already read."""

    def __init__(self, head: bytes) -> None:
        super().__init__("not a plain file")
        self.head = head


class _Chunks:
    """The stream in chunks, its BOM dropped: every byte kept (for a replay), checked to be UTF-8,
    and refused (Fallback) as soon as the file needs the CSV reader."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.seen, self.decoder = stream, [], codecs.getincrementaldecoder("utf-8")()
        self.breaks = 0

    def __iter__(self):
        first = True
        while chunk := self.stream.read(CHUNK):
            if first:
                chunk, first = chunk.removeprefix(codecs.BOM_UTF8), False
            self.seen.append(chunk)
            if any(mark in chunk for mark in NEEDS_CSV_READER):
                raise Fallback(self.head())
            self.decoder.decode(chunk)  # UnicodeDecodeError: not UTF-8, nothing imported
            self.breaks += chunk.count(b"\n")
            yield chunk
        self.decoder.decode(b"", final=True)

    def head(self) -> bytes:
        return b"".join(self.seen)

    def lines(self) -> int:
        """Physical lines read (at most: the last may have ended the file)."""
        return self.breaks + 1


def copy_lines(connection, stream: BinaryIO) -> int:
    """Stage every physical line as (n, line); returns ``_Chunks.lines``. Raises Fallback (nothing staged that matters: the
    caller's transaction is rolled back) or UnicodeDecodeError."""
    connection.exec_driver_sql("CREATE TEMPORARY TABLE import_lines (n BIGINT GENERATED ALWAYS AS IDENTITY, "
                               "line TEXT) ON COMMIT DROP")
    chunks = _Chunks(stream)
    with connection.connection.driver_connection.cursor() as cursor:
        # A delimiter and quote that never reach COPY (see NEEDS_CSV_READER): one column per line.
        with cursor.copy("COPY import_lines (line) FROM STDIN (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')") as copy:
            for chunk in chunks:
                copy.write(chunk)
    # A field the CSV reader would refuse (over its size limit): the Python path names the line.
    if connection.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM import_lines WHERE length(line) > "
                                  f"{csv.field_size_limit()})").scalar_one():
        raise Fallback(chunks.head())
    return chunks.lines()


def copy_fields(connection, stream: BinaryIO) -> tuple[list[int], int, int]:
    """A plain file — the header's width on every line, no blank line, no control character, no
    space beside a comma or a line's end, no line near the CSV reader's field limit — COPYed
    field by field into import_fields, so that PostgreSQL's COPY does the splitting that the
    line path does with a SQL function per field. Returns the header's (positions, width) and
    ``_Chunks.lines``.
    Raises NotPlain for any other file: the caller's savepoint forgets the attempt."""
    chunks = _Chunks(stream)
    plain = _PlainCheck()
    head = b""
    for chunk in chunks:
        head += chunk
        if b"\n" in head:
            break
    if b"\n" not in head:
        raise NotPlain(chunks.head())
    header = _header(head[:head.index(b"\n")].decode())
    if not isinstance(header, tuple):
        raise NotPlain(chunks.head())
    positions, width = header
    fields = [f"f{i}" for i in range(1, width + 1)]
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE import_fields (n BIGINT GENERATED ALWAYS AS IDENTITY, "
        f"{', '.join(f + ' TEXT' for f in fields)}, c TEXT GENERATED ALWAYS AS ({_compact(f'f{positions[0]}')}) STORED) "
        f"ON COMMIT DROP")
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY import_fields ({', '.join(fields)}) FROM STDIN (FORMAT csv, HEADER true, "
                             f"QUOTE E'\\x02', FORCE_NOT_NULL ({', '.join(fields)}))") as copy:
                for chunk in itertools.chain([head], chunks):
                    if not plain.check(chunk):
                        raise NotPlain(chunks.head())
                    copy.write(chunk)
                if not plain.finish():
                    raise NotPlain(chunks.head())
    except psycopg.errors.BadCopyFileFormat:   # a line of another width
        raise NotPlain(chunks.head()) from None
    return positions, width, chunks.lines()


class _PlainCheck:
    """Whether the chunks so far are plain (``copy_fields``); a pattern may straddle two chunks."""

    SPACES = (b" ", b"\t", "\u3000".encode())
    EDGES = (tuple(s + b"," for s in SPACES) + tuple(b"," + s for s in SPACES) + tuple(s + b"\n" for s in SPACES)
             + tuple(b"\n" + s for s in SPACES) + (b"\n\n",))
    CONTROL_BYTES = re.compile(b"[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f]")

    def __init__(self) -> None:
        self.tail = b"\n"   # the file's start starts a line
        self.run = 0        # bytes since the last line break
        self.limit = csv.field_size_limit()

    def check(self, chunk: bytes) -> bool:
        data = self.tail + chunk
        self.tail = data[-3:]
        if self.CONTROL_BYTES.search(chunk) or any(edge in data for edge in self.EDGES):
            return False
        return not self._long_line(chunk)

    def finish(self) -> bool:
        """The end of the file ends its last line."""
        return self.tail.endswith(b"\n") or self.check(b"\n")

    def _long_line(self, chunk: bytes) -> bool:
        """A line of more bytes than the CSV reader's field limit (in characters: it may still fit)."""
        start = chunk.find(b"\n")
        if start < 0:
            self.run += len(chunk)
            return self.run > self.limit
        if self.run + start > self.limit:
            return True
        start += 1
        while start < len(chunk):
            # every line inside the window [start, start + limit] is short enough
            last = chunk.rfind(b"\n", start, start + self.limit + 1)
            if last < 0:
                break
            start = last + 1
        self.run = len(chunk) - start
        return self.run > self.limit


def header_positions(connection) -> tuple[list[int], int] | str | None:
    """``_header`` of the staged first line."""
    line = connection.exec_driver_sql("SELECT line FROM import_lines WHERE n = 1").scalar()
    return None if line is None else _header(line)


def _header(line: str) -> tuple[list[int], int] | str:
    """1-based positions of COLUMNS in the header line (len+1 for a missing optional column) and the
    width; a reason string when a required column is missing."""
    from app.subscribers.csv_import import COLUMNS

    header = [h.strip().lower().lstrip("\ufeff") for h in next(csv.reader([line]))]
    missing = [c for c in ("phone", "region", "services", "monthly_fee") if c not in header]
    if missing:
        return f"缺少列 {', '.join(missing)} (missing column(s); expected {','.join(COLUMNS)})"
    return [header.index(name) + 1 if name in header else len(header) + 1 for name in COLUMNS], len(header)


def _compact(phone: str) -> str:
    return f"translate({phone}, ' -()' || chr(9), '')"


# The common mobile shape (csv_import's PhoneParser; ``c`` is the phone without separators) by
# lengths and LIKE, then one plain digits test: a regular expression with a group cost ~25 µs a line.
_SHAPE = ("CASE WHEN octet_length(c) = 11 AND c LIKE '1%' THEN c "
          "WHEN octet_length(c) = 14 AND c LIKE '+861%' THEN substr(c, 4) "
          "WHEN octet_length(c) = 13 AND c LIKE '861%' THEN substr(c, 3) "
          "WHEN octet_length(c) = 15 AND c LIKE '00861%' THEN substr(c, 5) END")
NATIONAL = f"CASE WHEN ({_SHAPE}) ~ '^[0-9]+$' THEN {_SHAPE} END"


def fields_source(positions: list[int], width: int) -> str:
    """The staged rows of a plain file (``copy_fields``), as the line path's import_rows."""
    phone, name, region, services, fee, language = (f"f{p}" if p <= width else "''" for p in positions)
    return (f"(SELECT n + 1 AS line, {width} AS width, {phone} AS raw_phone, {name} AS name, {region} AS region, "
            f"{services} AS raw_services, {fee} AS raw_fee, {language} AS raw_language, false AS has_control, c "
            f"FROM import_fields) import_rows")


def _fields(positions: list[int], width: int) -> str:
    # split_part, not string_to_array: a text[] subscript costs more than a scan of the short line.
    def field(position: int) -> str:
        return f"btrim(split_part(line, ',', {position}), :ws)" if position <= width else "''"

    phone, name, region, services, fee, language = (field(p) for p in positions)
    return (f"SELECT n AS line, length(line) - length(replace(line, ',', '')) + 1 AS width, {phone} AS raw_phone, "
            f"{name} AS name, {region} AS region, {services} AS raw_services, {fee} AS raw_fee, "
            f"{language} AS raw_language, line ~ '{CONTROL}' AS has_control "
            f"FROM import_lines WHERE n > 1 AND line IS NOT NULL AND btrim(line, :ws) <> ''")


def stage_rows(connection, positions: list[int], width: int) -> str:
    """import_rows: each data line split and trimmed, its phone without separators (``c``);
    returns the source name the lookups and the judge read."""
    connection.execute(text(f"""
        CREATE TEMPORARY TABLE import_rows ON COMMIT DROP AS
        SELECT r.*, {_compact('raw_phone')} AS c FROM ({_fields(positions, width)}) r"""), {"ws": WHITESPACE})
    return "import_rows"


def lookups(connection, source: str) -> None:
    """valid_prefixes, odd_phones, fees, service_sets: the file's distinct mobile prefixes, phones
    outside the common shapes, fees and service lists, judged in Python by the Python path's
    rules — one scan of the staged rows (three hashed grouping sets) finds them all."""
    found = connection.execute(text(f"""
        SELECT GROUPING(odd, phone) = 0, GROUPING(raw_fee) = 0, odd, phone, raw_fee, raw_services
        FROM (SELECT national IS NULL AS odd, coalesce(substr(national, 1, 7), raw_phone) AS phone, raw_fee, raw_services
              FROM (SELECT *, {NATIONAL} AS national FROM {source} OFFSET 0) import_rows) r
        GROUP BY GROUPING SETS ((odd, phone), (raw_fee), (raw_services))""")).all()
    prefixes, phones, fees, service_lists = [], [], [], []
    for is_phone, is_fee, odd, phone, fee, services in found:
        if is_phone:
            (phones if odd else prefixes).append(phone)
        elif is_fee:
            fees.append(fee)
        else:
            service_lists.append(services)
    _table(connection, "valid_prefixes", "prefix TEXT PRIMARY KEY", [(p,) for p in prefixes if _allocated(p)])
    _table(connection, "odd_phones", "raw TEXT PRIMARY KEY, e164 TEXT, problem TEXT", map(_odd_phone, phones))
    _table(connection, "fees", "raw TEXT PRIMARY KEY, fen BIGINT, problem TEXT", map(_fee, fees))
    active = _active_services(connection)
    _table(connection, "service_sets", "raw TEXT PRIMARY KEY, services TEXT[], problem TEXT, unknown TEXT",
           (_service_set(raw, active) for raw in service_lists))


def _table(connection, name: str, columns: str, rows) -> None:
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")
    rows = list(rows)
    if rows:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {name} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    connection.exec_driver_sql(f"ANALYZE {name}")


def _allocated(prefix: str) -> bool:
    try:
        to_e164(prefix + "0000")
        return True
    except InvalidPhone:
        return False


def _odd_phone(raw: str) -> tuple:
    try:
        return raw, to_e164(raw), None
    except InvalidPhone as exc:
        return raw, None, f"phone: {exc}"


def _fee(raw: str) -> tuple:
    try:
        return raw, fee_to_fen(raw), None
    except ValueError as exc:
        return raw, None, f"monthly_fee: {exc}"


def _active_services(connection) -> set[str]:
    return set(connection.exec_driver_sql("SELECT code FROM catalog_services WHERE active").scalars())


def _service_set(raw: str, active: set[str]) -> tuple:
    """(raw, services, the length problem, the unknown-code problem) as csv_import.parse words them."""
    services = list(dict.fromkeys(filter(None, map(str.strip, raw.split(";")))))
    if not services or max(map(len, services)) > 40:
        return raw, services, "services: 至少一项业务，每项不超过40字 (at least one service, each at most 40 characters)", None
    unknown = sorted(s for s in services if s not in active)
    if not unknown:
        return raw, services, None, None
    return raw, services, None, (f"services: 未知的业务代码「{'」「'.join(unknown)}」(unknown service code: "
                                 f"{', '.join(unknown)}; see GET /api/v1/catalog/services)")


def judge(connection, source: str, width: int, lines: int, bulk: bool) -> None:
    """import_judged: every data line with its E.164 phone, fee, services and the FIRST problem
    (csv_import.parse's order) or NULL; ``id`` the subscriber's for a good line: the existing one
    (not looked for in a bulk load: the table is empty), or a new one from a block of the
    sequence (``reserve_ids``). Duplicates are left to ``mark_duplicates``. The caller holds a
    lock on subscribers that keeps the ids true."""
    languages = "', '".join(LANGUAGES)
    new_id = f"{reserve_ids(connection, lines)} + c.line"
    existing = ("false AS existed", f"{new_id}", "") if bulk else (
        "s.id IS NOT NULL AS existed", f"coalesce(s.id, {new_id})",
        "LEFT JOIN subscribers s ON c.early_problem IS NULL AND c.late_problem IS NULL AND s.phone = c.phone")
    connection.execute(text(f"""
        CREATE TEMPORARY TABLE import_judged ON COMMIT DROP AS
        WITH parsed AS (
            SELECT r.line, r.width, r.name, r.region, r.raw_services, r.has_control,
                   coalesce(nullif(r.raw_language, ''), 'zh-CN') AS language, r.raw_language,
                   -- odd_phones is asked for the odd phones only (rare), not joined to every line
                   CASE WHEN r.national IS NOT NULL THEN '+86' || r.national
                        ELSE (SELECT o.e164 FROM odd_phones o WHERE o.raw = r.raw_phone) END AS phone,
                   CASE WHEN r.national IS NULL THEN (SELECT o.problem FROM odd_phones o WHERE o.raw = r.raw_phone)
                        WHEN v.prefix IS NULL THEN 'phone: 号码无效 (not a valid phone number)' END AS phone_problem,
                   f.fen AS fee, f.problem AS fee_problem,
                   coalesce(sc.services, '{{}}') AS services, sc.problem AS services_problem,
                   sc.unknown AS unknown_services, cr.code IS NOT NULL AS region_known
            FROM (SELECT *, {NATIONAL} AS national FROM {source} OFFSET 0) r
            LEFT JOIN valid_prefixes v ON v.prefix = substr(r.national, 1, 7)
            LEFT JOIN fees f ON f.raw = r.raw_fee
            LEFT JOIN service_sets sc ON sc.raw = r.raw_services
            LEFT JOIN catalog_regions cr ON cr.code = r.region
        ), checked AS (
            SELECT p.*,
                   CASE
                     WHEN p.width <> {width} THEN '列数为 ' || p.width || '，应为 {width} (wrong number of columns)'
                     WHEN p.has_control AND p.name ~ '{CONTROL}' THEN 'name: {CONTROL_CHARACTER}'
                     WHEN p.has_control AND p.region ~ '{CONTROL}' THEN 'region: {CONTROL_CHARACTER}'
                     WHEN p.has_control AND p.raw_services ~ '{CONTROL}' THEN 'services: {CONTROL_CHARACTER}'
                     WHEN p.has_control AND p.raw_language ~ '{CONTROL}' THEN 'language: {CONTROL_CHARACTER}'
                     WHEN p.phone_problem IS NOT NULL THEN p.phone_problem
                   END AS early_problem,
                   CASE
                     WHEN p.region = '' OR length(p.region) > 60
                       THEN 'region: 地区不能为空且不超过60字 (region is required, at most 60 characters)'
                     WHEN p.services_problem IS NOT NULL THEN p.services_problem
                     WHEN p.fee_problem IS NOT NULL THEN p.fee_problem
                     WHEN p.language NOT IN ('{languages}')
                       THEN 'language: 仅支持 {"/".join(LANGUAGES)} (unsupported language ' || quote_literal(p.language) || ')'
                     WHEN length(p.name) > 120 THEN 'name: 不超过120字 (at most 120 characters)'
                     WHEN NOT p.region_known
                       THEN 'region: 未知的区域代码「' || p.region || '」(unknown region code: ' || p.region
                            || '; see GET /api/v1/catalog/regions)'
                     WHEN p.unknown_services IS NOT NULL THEN p.unknown_services
                   END AS late_problem
            FROM parsed p OFFSET 0
        )
        SELECT c.line, c.phone, c.name, c.region, c.fee, c.language, c.services,
               c.early_problem IS NULL AS may_be_duplicate, {existing[0]},
               coalesce(c.early_problem, c.late_problem) AS problem,
               CASE WHEN c.early_problem IS NULL AND c.late_problem IS NULL THEN {existing[1]} END AS id
        FROM checked c {existing[2]}"""))


def reserve_ids(connection, lines: int) -> int:
    """A block of ``subscribers.id`` values, one per line of the file (a new subscriber's id is the
    returned base plus its line number): one sequence call instead of one per subscriber."""
    # The caller's lock on subscribers holds back every other INSERT (and so its nextval) till commit.
    return connection.execute(text("""
        SELECT setval(CAST(seq AS regclass), nextval(CAST(seq AS regclass)) + :lines) - :lines - 1
        FROM pg_get_serial_sequence('subscribers', 'id') seq"""), {"lines": lines}).scalar_one()


def mark_duplicates(connection) -> None:
    """A later line with the number of an earlier good line is its duplicate (before its own
    late problem, as in csv_import.parse)."""
    connection.exec_driver_sql(f"""
        UPDATE import_judged j SET problem = {DUPLICATE.format('f.first_good')}, id = NULL
        FROM (SELECT phone, min(line) AS first_good FROM import_judged WHERE problem IS NULL GROUP BY phone) f
        WHERE j.phone = f.phone AND j.may_be_duplicate AND j.line > f.first_good""")


def rejected(connection, limit: int) -> list[dict]:
    rows = connection.execute(text("SELECT line, problem FROM import_judged WHERE problem IS NOT NULL "
                                   "ORDER BY line LIMIT :limit"), {"limit": limit}).all()
    return [{"line": line, "reason": reason} for line, reason in rows]


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
