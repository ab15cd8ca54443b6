"""Benchmark: ``flask subscribers import`` of N rows on PostgreSQL beside a bare ``COPY``.

    .venv/bin/python bench/csv_import.py [--rows N] [--no-python]

A fresh migrated database and a CSV of N subscribers (mobile numbers in several formats,
two services on every third row). Two bare baselines, in the same run:

1. PostgreSQL's own ``COPY … FROM STDIN (FORMAT csv)`` of the same file into an unindexed table
   of text columns: the least a database can do with these bytes (the target: import ≤ 2× this);
2. ``COPY`` of the same rows, already valid and in the product's shape (E.164, fen, one row per
   service), into the real ``subscribers`` and ``subscriber_services`` with their indexes, keys
   and triggers: the database's own cost of holding these rows (then emptied again).

Then the product imports the file into the empty tables, and again over itself (every row an
update); last, the same update through the Python path (SQLite's, and quoted files').
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, make_app  # noqa: E402


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("phone,name,region,services,monthly_fee,language\n")
        for n in range(rows):
            national = f"139{n:08d}"
            phone = ("+86" + national, national, f"+86 {national[:3]} {national[3:7]} {national[7:]}")[n % 3]
            services = "mobile_data;broadband" if n % 3 == 0 else "mobile_data"
            handle.write(f"{phone},用户{n},{('杭州', '宁波')[n % 2]},{services},{58 + n % 100}.50,zh-CN\n")


def shaped_rows(rows: int) -> tuple[bytes, bytes]:
    """The file's rows as the product stores them: COPY text for subscribers and their services."""
    now = "2026-01-01 00:00:00+00"
    subscribers, services = [], []
    for n in range(rows):
        subscribers.append(f"{n + 1}\t+86139{n:08d}\t用户{n}\t{('杭州', '宁波')[n % 2]}\t{(58 + n % 100) * 100 + 50}"
                           f"\tzh-CN\t{now}\t{now}\n")
        services.append(f"{n + 1}\tmobile_data\n")
        if n % 3 == 0:
            services.append(f"{n + 1}\tbroadband\n")
    return "".join(subscribers).encode(), "".join(services).encode()


def bare_copies(cursor, csv_path: Path, rows: int) -> tuple[float, float]:
    """(COPY of the file into text columns, COPY of the shaped rows into the real tables), seconds."""
    cursor.execute("CREATE TABLE bench_copy (phone text, name text, region text, services text, "
                   "monthly_fee text, language text)")
    started = time.perf_counter()
    with open(csv_path, "rb") as handle, cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    cursor.connection.commit()
    text_columns = time.perf_counter() - started
    subscribers, services = shaped_rows(rows)
    started = time.perf_counter()
    with cursor.copy("COPY subscribers (id, phone, name, region, monthly_fee_fen, language, created_at, updated_at) "
                     "FROM STDIN") as copy:
        copy.write(subscribers)
    with cursor.copy("COPY subscriber_services (subscriber_id, service) FROM STDIN") as copy:
        copy.write(services)
    cursor.connection.commit()
    real_tables = time.perf_counter() - started
    cursor.execute("TRUNCATE subscribers CASCADE")   # the tables referencing it are empty
    cursor.execute("DROP TABLE bench_copy")
    cursor.connection.commit()
    return text_columns, real_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-python", action="store_true", help="skip the Python path's run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="noc-bench-import-"))
    csv_path = folder / "subscribers.csv"
    write_csv(csv_path, args.rows)
    with fresh_database("postgresql") as url:
        app = make_app(url)
        with app.app_context():
            from app.extensions import db
            from app.subscribers.csv_import import import_binary_stream, import_csv

            raw = db.engine.raw_connection()
            with raw.cursor() as cursor:
                bare, bare_tables = bare_copies(cursor, csv_path, args.rows)
            raw.close()
            figures = {"bare COPY of the file (text columns)": bare,
                       "bare COPY of its rows into the real tables": bare_tables}
            for label in ("IMPORT into the empty tables", "import again (every row an update)"):
                started = time.perf_counter()
                with open(csv_path, "rb") as handle:   # as `flask subscribers import` reads it
                    result = import_binary_stream(handle)
                figures[label] = time.perf_counter() - started
                assert result.rejected == 0, result.rejected_rows[:3]
            if not args.no_python:
                started = time.perf_counter()
                with open(csv_path, encoding="utf-8-sig", newline="") as handle:
                    result = import_csv(handle)   # the Python path (SQLite, quoted files): for comparison
                figures["same update through the Python path"] = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    print(f"\n== subscriber CSV import, {args.rows:,} rows, PostgreSQL ==")
    for label, seconds in figures.items():
        print(f"  {label:<44} {seconds:8.2f} s   {seconds / bare:5.1f}× COPY   {seconds / bare_tables:5.2f}× real-table COPY")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    csv_path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
