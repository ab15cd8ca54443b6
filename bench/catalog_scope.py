"""A city in scope covers its districts: the affected count with the catalog expansion in SQL,
beside the same count over a hand-written list of the districts.

    .venv/bin/python bench/catalog_scope.py [--subscribers 300000] [--repeat 20] [--backend sqlite|postgresql|both]

For each backend, on a fresh migrated database: N subscribers with mobile data, spread over
Hangzhou's 13 districts (two thirds) and Ningbo's districts (one third). Timed, in one run:
  product  app.subscribers.affected.count_affected(["mobile_data"], ["杭州"]) — the scope expanded
           through catalog_regions.parent_code inside the one statement
  bare     the same COUNT with ``region IN (杭州, its 13 districts)`` written out (no catalog)
and the same pair for one district (西湖区, ~1/36 of the subscribers: the index on region is used), and
the catalog's expansion query (app.catalog.service.regions_within) alone.
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

            bare_sql = sa.text(
                "SELECT count(*) FROM subscribers s WHERE s.region IN :r AND EXISTS (SELECT 1 FROM "
                "subscriber_services x WHERE x.subscriber_id = s.id AND x.service IN ('mobile_data'))"
            ).bindparams(sa.bindparam("r", expanding=True))
            # Interleaved, so a burst of load on the shared machine falls on both alike.
            timings = {"city": [0.0, 0.0], "district": [0.0, 0.0]}
            for _ in range(repeat):
                for name, scope, written_out in (("city", ["杭州"], ["杭州", *hangzhou]), ("district", ["西湖区"], ["西湖区"])):
                    started = time.perf_counter()
                    count_affected(["mobile_data"], scope, policy)
                    timings[name][0] += time.perf_counter() - started
                    started = time.perf_counter()
                    db.session.scalar(bare_sql, {"r": written_out})
                    timings[name][1] += time.perf_counter() - started
            from app.catalog.service import regions_within

            started = time.perf_counter()
            for _ in range(repeat * 10):
                regions_within(["杭州"])
            expand = (time.perf_counter() - started) / (repeat * 10)
            db.session.commit()
        return {"expand_ms": expand * 1000, "backend": backend, "subscribers": subscribers, "fill_s": fill, "affected": expected,
                **{f"{name}_{kind}_ms": timings[name][i] / repeat * 1000
                   for name in timings for i, kind in enumerate(("product", "bare"))}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        r = run(backend, args.subscribers, args.repeat)
        print(f"{backend}: {r['subscribers']:,} subscribers, {r['affected']:,} in Hangzhou's districts: "
              f"scope 杭州 via the catalog {r['city_product_ms']:.1f} ms vs its districts written out "
              f"{r['city_bare_ms']:.1f} ms (ratio {r['city_product_ms'] / r['city_bare_ms']:.2f}x); scope 西湖区 "
              f"{r['district_product_ms']:.2f} ms vs bare {r['district_bare_ms']:.2f} ms "
              f"(ratio {r['district_product_ms'] / r['district_bare_ms']:.2f}x); the expansion query alone "
              f"{r['expand_ms']:.2f} ms")


if __name__ == "__main__":
    main()
