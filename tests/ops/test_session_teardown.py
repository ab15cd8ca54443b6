"""A database that goes away after a request's answer was made must not turn it into a 500.

Seen in the fault suite: the server stopped between a successful answer and the request's
clean-up, whose ROLLBACK then failed inside Flask-SQLAlchemy's teardown, and waitress sent a 500.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db


def _server_gone(self, *args, **kwargs):
    raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))


def test_the_request_clean_up_survives_a_database_that_went_away(app_ctx, monkeypatch):
    assert db.session.execute(select(1)).scalar() == 1  # the session holds a connection now
    monkeypatch.setattr(Session, "close", _server_gone)
    app_ctx.do_teardown_appcontext(None)  # raised OperationalError before: the answer became a 500
    monkeypatch.undo()
    assert db.session.execute(select(1)).scalar() == 1  # a fresh session on a fresh connection


def test_other_clean_up_errors_still_surface(app_ctx, monkeypatch):
    db.session.execute(select(1))

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(Session, "close", broken)
    with pytest.raises(RuntimeError):
        app_ctx.do_teardown_appcontext(None)
    monkeypatch.undo()
    db.session.remove()
