"""PostgreSQL connections give up and notice a dead server in seconds; pooled ones are pinged."""
from __future__ import annotations

from app.config import engine_options
from app.scheduling.leadership import AdvisoryLockLeadership


def test_the_engine_pings_pooled_connections_and_bounds_connecting():
    options = engine_options("postgresql+psycopg://u@h/db", connect_timeout=4, statement_timeout=90)
    assert options["pool_pre_ping"] is True
    args = options["connect_args"]
    assert args["connect_timeout"] == 4 and args["keepalives"] == 1 and args["keepalives_idle"] <= 10
    assert args["options"] == "-c statement_timeout=90000"
    assert "options" not in engine_options("postgresql+psycopg://u@h/db")["connect_args"]   # none by default


def test_a_scheduler_that_cannot_reach_the_database_stands_by():
    leadership = AdvisoryLockLeadership("postgresql+psycopg://postgres@127.0.0.1:1/noc", connect_timeout=2)
    try:
        assert leadership.ensure() is False and leadership.held is False
    finally:
        leadership.release()
