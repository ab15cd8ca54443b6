"""Delivery-status callbacks per second: the product's webhook (signature check, replay guard,
forward-only status, fulfilment) beside the bare database work of recording a status.

    .venv/bin/python bench/webhooks.py [--callbacks 3000] [--backend sqlite|postgresql|both]

  bare      one transaction per callback: UPDATE notices SET status, provider_sid WHERE id
  guard     the same plus the replay guard alone: INSERT … ON CONFLICT DO NOTHING into
            sms_status_callbacks_seen (what a callback costs more for not acting twice)
  product   POST /api/v1/webhooks/sms/status?notice=ID, signed as Twilio signs, through the
            Flask test client (no HTTP server): signature, insert-or-ignore, row lock, update,
            fulfilment check, commit
  replays   the same signed requests posted again: each must change nothing
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.common import fill_subscribers, fresh_database, make_app  # noqa: E402

STATUS = "/api/v1/webhooks/sms/status"


def accepted_notices(count: int) -> list[int]:
    """``count`` recovery notices, accepted by the provider as SM<id>."""
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.extensions import db
    from app.incidents import service as incidents
    from app.notify.outbox import queue_for_affected

    fill_subscribers(count)
    user, _ = create_user("bench", Role.duty_manager)
    incident = incidents.declare(user, title="基准", services=["mobile_data"], regions=["杭州"])
    queue_for_affected(incident, "recovery")
    db.session.execute(sa.text("UPDATE notices SET status = 'accepted', provider_sid = 'SM' || id, attempts = 1"))
    db.session.commit()
    return list(db.session.scalars(sa.text("SELECT id FROM notices ORDER BY id")))


def timed(fn, items) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def run(backend: str, count: int) -> dict:
    from app.extensions import db

    with fresh_database(backend) as url:
        app = make_app(url)
        with app.app_context():
            ids = accepted_notices(count)
            half = len(ids) // 2
            bare_ids, product_ids = ids[:half], ids[half:]

            def bare(notice_id: int) -> None:
                db.session.execute(sa.text("UPDATE notices SET status = 'sent', provider_sid = :sid WHERE id = :id"),
                                   {"sid": f"SM{notice_id}", "id": notice_id})
                db.session.commit()

            def guard(notice_id: int) -> None:
                from app.notify.provider_events import first_status_callback

                first_status_callback(f"SMbare{notice_id}", "sent")
                db.session.execute(sa.text("UPDATE notices SET status = 'delivered' WHERE id = :id"), {"id": notice_id})
                db.session.commit()

            client = app.test_client()
            validator = RequestValidator(app.extensions["noc_notify_settings"].auth_token)
            requests = []
            for notice_id in product_ids:
                path = f"{STATUS}?notice={notice_id}"
                form = {"MessageSid": f"SM{notice_id}", "MessageStatus": "delivered"}
                requests.append((path, form, validator.compute_signature(f"http://localhost{path}", form)))

            def product(request) -> None:
                path, form, signature = request
                assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204

            result = {"backend": backend, "callbacks": half, "bare": timed(bare, bare_ids),
                      "guard": timed(guard, bare_ids), "product": timed(product, requests),
                      "replays": timed(product, requests)}
            changed = db.session.scalar(sa.text("SELECT count(*) FROM notices WHERE status = 'delivered'"))
            result["delivered"] = changed
            db.session.remove()
            db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=3000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"{'backend':<11}{'callbacks':>10}{'bare /s':>10}{'guard /s':>10}{'product /s':>12}{'ratio':>8}"
          f"{'replays /s':>12}")
    for backend in backends:
        r = run(backend, args.callbacks * 2)
        print(f"{r['backend']:<11}{r['callbacks']:>10,}{r['bare']:>10.0f}{r['guard']:>10.0f}{r['product']:>12.0f}"
              f"{r['bare'] / r['product']:>7.1f}×{r['replays']:>12.0f}", flush=True)
        assert r["delivered"] == 2 * r["callbacks"], r   # bare+guard rows and product rows, each once


if __name__ == "__main__":
    main()
