"""A page of incidents costs the same number of queries whatever its length: each row's
responsibility, deadlines and next deadline are read once for the whole page."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import event

from app.extensions import db
from app.incidents import service
from app.subscribers import scope_profile

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@contextmanager
def counted_statements():
    statements: list[str] = []

    def _count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)


def declare_many(user, count: int) -> None:
    for index in range(count):
        incident = service.declare(user, title=f"故障 {index}", services=["mobile_data"], regions=["杭州"],
                                   detected_at=NOW - timedelta(minutes=index))
        service.set_responsibility(incident.id, user, [service.ResponsibilityEntry(
            "technical", "equipment_failure", "技术部", 100)])


def list_statements(api) -> int:
    with counted_statements() as statements:
        response = api.get("/incidents?per_page=50")
    assert response.status_code == 200, response.json
    assert all(item["deadlines"] and item["next_deadline"] and item["responsibility"]
               for item in response.json["items"])
    return len(statements)


@freeze_time(NOW)
def test_the_list_api_does_not_query_per_row(operator_api, make_user):
    user, _ = make_user("operator")
    declare_many(user, 2)
    few = list_statements(operator_api)
    declare_many(user, 10)
    assert list_statements(operator_api) == few


@freeze_time(NOW)
def test_one_incident_counts_its_affected_subscribers_once(operator_api, make_user):
    user, _ = make_user("operator")
    declare_many(user, 1)
    incident_id = operator_api.get("/incidents").json["items"][0]["id"]
    scope_profile.clear()  # as in a fresh process
    with counted_statements() as statements:
        response = operator_api.get(f"/incidents/{incident_id}")
    assert response.status_code == 200
    assert {"affected_subscribers", "user_minutes", "regulator_reportable"} <= set(response.json)
    assert len([s for s in statements if "FROM subscribers" in s]) == 1, statements
    # and the next view reads the scope's cached profile: no subscriber read at all
    with counted_statements() as statements:
        assert operator_api.get(f"/incidents/{incident_id}").status_code == 200
    assert not [s for s in statements if "FROM subscribers" in s], statements
