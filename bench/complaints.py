"""Complaints during an outage: registration rate, and the linking query beside a bare lookup.

    .venv/bin/python bench/complaints.py [--subscribers 1000000] [--complaints 20000] [--backend sqlite|postgresql|both]

For each backend, on a fresh migrated database: N subscribers in 杭州 with mobile data, one
open incident covering them all plus 30 open incidents elsewhere (the linking query must
look past them). Timed, in one run:
  register  app.complaints.service.register(...) for each complaint, each its own unit of
            work (number, repeat check, subscriber lookup, linking, five deadlines, the
            acknowledgement SMS queued, history) — what an agent's button does
  link      app.incidents.scope.incident_covering(...) alone, for 2,000 random subscribers
  bare      SELECT id FROM subscribers WHERE phone = ? (one unique-index lookup), the same 2,000 times
  insert    a bare single-row INSERT into complaint_events + commit, 2,000 times (the floor of a unit of work)
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402

PROBES = 2000


def _phone(n: int) -> str:
    return f"+86139{n:07d}8"  # the numbering of bench.common.fill_subscribers


def run(backend: str, subscribers: int, complaints: int) -> dict:
    with fresh_database(backend) as url:
        app = make_app(url)
        with app.app_context():
            from app.auth.models import Role
            from app.auth.service import create_user
            from app.clock import utcnow
            from app.complaints import service as complaint_service
            from app.db_types import UTCDateTime
            from app.extensions import db
            from app.incidents import service as incidents
            from app.incidents.scope import incident_covering
            from app.policy import current_policy

            fill = fill_subscribers(subscribers)
            operator, _ = create_user("bench-operator", Role.operator)
            agent, _ = create_user("bench-agent", Role.agent)
            from app.catalog.seed import REGIONS

            elsewhere = [r["code"] for r in REGIONS if r["level"] == "district" and r["parent_code"] != "杭州"]
            for n in range(30):
                incidents.declare(operator, title=f"其他故障 {n}", services=["broadband"], regions=[elsewhere[n]])
            outage = incidents.declare(operator, title="杭州移动数据中断", services=["mobile_data"], regions=["杭州"])
            rng = random.Random(7)

            started = time.perf_counter()
            for i in range(complaints):
                complaint_service.register(agent, phone=_phone(rng.randint(1, subscribers)), name="用户",
                                           channel="phone", category="service_quality", grade=1,
                                           content="手机上网中断")
            register = time.perf_counter() - started
            linked = db.session.scalar(sa.text("SELECT count(*) FROM complaints WHERE incident_id = :i"),
                                       {"i": outage.id})
            assert linked == complaints, linked

            policy = current_policy()
            since = utcnow() - timedelta(hours=72)
            probes = [rng.randint(1, subscribers) for _ in range(PROBES)]
            rows = {n: db.session.execute(sa.text("SELECT id, region FROM subscribers WHERE phone = :p"),
                                          {"p": _phone(n)}).one() for n in probes}
            db.session.commit()
            started = time.perf_counter()
            for n in probes:
                assert incident_covering(rows[n].id, rows[n].region, since, policy).id == outage.id
            link = time.perf_counter() - started

            started = time.perf_counter()
            for n in probes:
                db.session.execute(sa.text("SELECT id FROM subscribers WHERE phone = :p"), {"p": _phone(n)}).one()
            bare = time.perf_counter() - started

            first = db.session.scalar(sa.text("SELECT min(id) FROM complaints"))
            now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
            started = time.perf_counter()
            for _ in range(PROBES):
                db.session.execute(sa.text("INSERT INTO complaint_events (complaint_id, kind, at, actor_name, message) "
                                           "VALUES (:c, 'bench', :now, 'bench', '')").bindparams(now), {"c": first})
                db.session.commit()
            insert = time.perf_counter() - started
        return {"backend": backend, "subscribers": subscribers, "fill_s": fill, "complaints": complaints,
                "register_s": register, "link_us": link / PROBES * 1e6, "bare_us": bare / PROBES * 1e6,
                "insert_us": insert / PROBES * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.subscribers, args.complaints)
        per = r["register_s"] / r["complaints"] * 1000
        print(f"{backend}: {r['subscribers']:,} subscribers (filled in {r['fill_s']:.1f} s), "
              f"{r['complaints']:,} complaints registered in {r['register_s']:.1f} s = "
              f"{r['complaints'] / r['register_s']:.0f}/s ({per:.2f} ms each; a bare one-row INSERT + commit "
              f"{r['insert_us'] / 1000:.2f} ms, ratio {per * 1000 / r['insert_us']:.1f}x)")
        print(f"{backend}: linking query {r['link_us']:.0f} µs vs bare phone lookup {r['bare_us']:.0f} µs "
              f"(ratio {r['link_us'] / r['bare_us']:.1f}x), 31 open incidents")


if __name__ == "__main__":
    main()
