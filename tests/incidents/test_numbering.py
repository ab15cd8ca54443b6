"""Incident numbers are unique even when operators declare in the same instant."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from freezegun import freeze_time

from app.extensions import db
from app.incidents.models import Incident
from tests import factories


def test_concurrent_declarations_get_distinct_consecutive_numbers(app_ctx):
    users = [factories.user()[0].id for _ in range(8)]
    db.session.remove()
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(users))

    def declare(user_id: int) -> None:
        with app_ctx.app_context():
            try:
                from app.auth.models import User

                user = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                numbers.append(factories.declare(user, title="并发登记", services=["iptv"], regions=["台州"]).number)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    with freeze_time(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)):
        threads = [threading.Thread(target=declare, args=(uid,)) for uid in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    assert sorted(numbers) == [f"INC-20261123-{n:04d}" for n in range(1, len(users) + 1)]


def test_numbers_follow_the_operator_zone_day(app_ctx):
    user = factories.user()[0]
    # 16:30 UTC is already the next day (00:30) in Asia/Shanghai
    with freeze_time(datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc)):
        incident = factories.declare(user, title="跨日", services=["iptv"], regions=["台州"])
    assert incident.number == "INC-20261124-0001"
