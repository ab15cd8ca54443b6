"""The board (故障看板): the worst first, its filters and search, the deadline cell, and no query per row."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from tests.incidents.test_list_queries import counted_statements, declare_many

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock():
    """Frozen before anyone logs in: a session signed 'in the future' would be refused."""
    with freeze_time(NOW) as frozen:
        yield frozen

def test_the_board_does_not_query_per_row(operator, make_user):
    user, _ = make_user("operator")

    def board_statements() -> int:
        with counted_statements() as statements:
            assert operator.get("/incidents").status_code == 200
        return len(statements)

    declare_many(user, 2)
    few = board_statements()
    declare_many(user, 10)
    assert board_statements() == few
