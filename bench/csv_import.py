"""Benchmark: ``flask subscribers import`` of N rows on PostgreSQL beside a bare ``COPY``.

    .venv/bin/python bench/csv_import.py [--rows N]

A fresh migrated database and a CSV of N subscribers (mobile numbers in several formats,
two services on every third row). The bare baseline is PostgreSQL's own ``COPY … FROM STDIN
(FORMAT csv)`` of the same file into an unindexed table of text columns: the least a database
can do with these bytes. Then the product imports the file into the empty database, and
again over itself (every row an update). Target: import ≤ 2× COPY.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="noc-bench-import-"))
    csv_path = folder / "subscribers.csv"
    write_csv(csv_path, args.rows)
    with fresh_database("postgresql") as url:
        app = make_app(url, NOC_IMPORT_SQL_VALIDATION="1")
        with app.app_context():
            from app.extensions import db
            from app.subscribers.csv_import import import_binary_stream, import_csv

            raw = db.engine.raw_connection()
            with raw.cursor() as cursor:
                cursor.execute("CREATE TABLE bench_copy (phone text, name text, region text, services text, "
                               "monthly_fee text, language text)")
                started = time.perf_counter()
                with open(csv_path, "rb") as handle, \
                        cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
                raw.commit()
                bare = time.perf_counter() - started
            raw.close()
            figures = {"bare COPY of the same file": bare}
            for label in ("IMPORT into the empty table (COPY + SQL)", "import again (every row an update)"):
                started = time.perf_counter()
                with open(csv_path, "rb") as handle:   # as `flask subscribers import` reads it
                    result = import_binary_stream(handle)
                figures[label] = time.perf_counter() - started
                assert result.rejected == 0, result.rejected_rows[:3]
            started = time.perf_counter()
            with open(csv_path, encoding="utf-8-sig", newline="") as handle:
                result = import_csv(handle)   # the Python path (SQLite, quoted files): for comparison
            figures["same update through the Python path"] = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    print(f"\n== subscriber CSV import, {args.rows:,} rows, PostgreSQL ==")
    for label, seconds in figures.items():
        print(f"  {label:<40} {seconds:8.2f} s   {seconds / bare:5.1f}× COPY")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    csv_path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
