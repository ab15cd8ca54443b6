"""A city in scope covers its districts: the affected count with the catalog expansion in SQL,
beside the same count over a hand-written list of the districts.

    .venv/bin/python bench/catalog_scope.py [--subscribers 300000] [--repeat 20] [--backend sqlite|postgresql|both]

For each backend, on a fresh migrated database: N subscribers with mobile data, spread over
Hangzhou's 13 districts (two thirds) and Ningbo's districts (one third). Timed, in one run:
  product  app.subscribers.affected.count_affected(["mobile_data"], ["杭州"]) — the scope expanded
           through catalog_regions.parent_code inside the one statement
  bare     the same COUNT with ``region IN (杭州, its 13 districts)`` written out (no catalog)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402


def run(backend: str, subscribers: int, repeat: int) -> dict:
    with fresh_database(backend) as url:
        app = make_app(url)
        with app.app_context():
            from app.catalog.seed import CITIES
            from app.extensions import db
            from app.policy import current_policy
            from app.subscribers.affected import count_affected

            fill = fill_subscribers(subscribers)
            hangzhou = [d for d, _ in CITIES["杭州"][2]]
            ningbo = [d for d, _ in CITIES["宁波"][2]]
            spread = [*hangzhou, *hangzhou, *ningbo]  # 26 of 36 shares in Hangzhou
            for k, district in enumerate(spread):
                db.session.execute(sa.text("UPDATE subscribers SET region = :r WHERE id % :n = :k"),
                                   {"r": district, "n": len(spread), "k": k})
            db.session.commit()
            if backend == "postgresql":
                db.session.execute(sa.text("ANALYZE"))
            policy = current_policy()
            expected = db.session.scalar(sa.text("SELECT count(*) FROM subscribers WHERE region IN :r")
                                         .bindparams(sa.bindparam("r", expanding=True)), {"r": hangzhou})
            assert count_affected(["mobile_data"], ["杭州"], policy) == expected

            started = time.perf_counter()
            for _ in range(repeat):
                count_affected(["mobile_data"], ["杭州"], policy)
            product = (time.perf_counter() - started) / repeat

            bare_sql = sa.text(
                "SELECT count(*) FROM subscribers s WHERE s.region IN :r AND EXISTS (SELECT 1 FROM "
                "subscriber_services x WHERE x.subscriber_id = s.id AND x.service IN ('mobile_data'))"
            ).bindparams(sa.bindparam("r", expanding=True))
            started = time.perf_counter()
            for _ in range(repeat):
                db.session.scalar(bare_sql, {"r": ["杭州", *hangzhou]})
            bare = (time.perf_counter() - started) / repeat
            db.session.commit()
        return {"backend": backend, "subscribers": subscribers, "fill_s": fill, "affected": expected,
                "product_ms": product * 1000, "bare_ms": bare * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        r = run(backend, args.subscribers, args.repeat)
        print(f"{backend}: {r['subscribers']:,} subscribers, {r['affected']:,} in Hangzhou's districts: "
              f"city scope via the catalog {r['product_ms']:.1f} ms vs districts written out {r['bare_ms']:.1f} ms "
              f"(ratio {r['product_ms'] / r['bare_ms']:.2f}x)")


if __name__ == "__main__":
    main()
