"""Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL tests get a database of their own per run (created and dropped here), so
parallel runs never share state. Without PostgreSQL they are skipped with one line saying
why, except where it is required (CI, or NOC_REQUIRE_POSTGRES=1): there its absence fails.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.auth.models import Role
from app.extensions import db
from app.notify.gateway.app import GatewayApp
from app.notify.gateway.server import RunningGateway
from app.notify.sender import Sender
from tests import factories

POSTGRES_BASE_URL = os.environ.get("NOC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
POSTGRES_REQUIRED = os.environ.get("CI", "").lower() in {"1", "true"} or os.environ.get("NOC_REQUIRE_POSTGRES") == "1"
BACKENDS = ("sqlite", "postgresql")
_postgres_unavailable: str | None = None


def pytest_report_header(config):
    return f"PostgreSQL for tests: {POSTGRES_BASE_URL} (required: {POSTGRES_REQUIRED})"


def pytest_terminal_summary(terminalreporter):
    if _postgres_unavailable:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {_postgres_unavailable}", yellow=True)


def _create_postgres_database() -> str:
    global _postgres_unavailable
    name = f"noc_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(POSTGRES_BASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except sa.exc.OperationalError as exc:
        reason = f"cannot reach {POSTGRES_BASE_URL}: {str(exc.orig).splitlines()[0]}"
        if POSTGRES_REQUIRED:
            pytest.exit(f"PostgreSQL is required here but {reason}", returncode=3)
        _postgres_unavailable = reason
        pytest.skip(reason)
    return POSTGRES_BASE_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_database(backend: str, folder):
    """Yields the URL of a new empty database: a SQLite file in ``folder``, or a PostgreSQL
    database of its own, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'noc-test.db'}"
        return
    url = _create_postgres_database()
    yield url
    _drop_postgres_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    yield from empty_database(request.param, tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def app(database_url):
    """One migrated application per backend: the schema is built by the migrations themselves."""
    # Notice counts recounted on every change (no live TTL): tests/notify/test_summary_counts.py tests the TTL.
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                              "NOC_NOTICE_SUMMARY_TTL_SECONDS": 0})
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


def _empty_all_tables() -> None:
    from app.notify import summary_cache

    _empty_tables()
    summary_cache.clear()  # kept per process, keyed by incident id: ids restart
    _reseed_catalog()


def _reseed_catalog() -> None:
    """The shipped catalog (migration 0018) is reference data every test may name: back as it ships."""
    from app.catalog.models import CatalogRegion, CatalogService
    from app.catalog.seed import seed_statements

    for statement in seed_statements(CatalogService.__table__, CatalogRegion.__table__):
        db.session.execute(statement)
    db.session.commit()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.commit()
        return
    # SQLite has no way to switch a trigger off: lift the append-only guard while emptying.
    triggers = db.session.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for name, _ in triggers:
        db.session.execute(sa.text(f'DROP TRIGGER "{name}"'))
    for table in tables:
        db.session.execute(table.delete())
    db.session.execute(sa.text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence() else None
    for _, sql in triggers:
        db.session.execute(sa.text(sql))
    db.session.commit()


def _has_sqlite_sequence() -> bool:
    return db.session.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is not None


@pytest.fixture
def app_ctx(app):
    """An application context over an empty database."""
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        _empty_all_tables()


@pytest.fixture
def client(app_ctx):
    return app_ctx.test_client()


@pytest.fixture
def make_user(app_ctx):
    def _make(role: Role | str = Role.operator, name: str | None = None, **kwargs):
        return factories.user(role, name, **kwargs)

    return _make


class ApiClient:
    """The test client with a bearer token: api.post('/incidents', json=…)."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.token = token

    def _call(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        url = path if path.startswith("/api/") or path.startswith("/healthz") else f"/api/v1{path}"
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, **kw):
        return self._call("post", path, **kw)

    def put(self, path, **kw):
        return self._call("put", path, **kw)

    def patch(self, path, **kw):
        return self._call("patch", path, **kw)


@pytest.fixture
def api_as(client, make_user):
    """api_as('duty_manager') -> an ApiClient acting as a fresh user of that role."""

    def _as(role: Role | str = Role.operator, **kwargs) -> ApiClient:
        _, token = make_user(role, **kwargs)
        return ApiClient(client, token)

    return _as


@pytest.fixture
def operator_api(api_as):
    return api_as(Role.operator)


@pytest.fixture
def manager_api(api_as):
    return api_as(Role.duty_manager)


# The local SMS gateway on a free port and a sender pointed at it: shared by the notifier
# tests and the report tests (whose worked incident sends real notices).
@pytest.fixture
def gateway(app_ctx):
    settings = app_ctx.extensions["noc_notify_settings"]
    running = RunningGateway(GatewayApp(settings.account_sid, settings.auth_token, callbacks=False)).start()
    yield running
    running.stop()


@pytest.fixture
def sender_settings(app_ctx, gateway):
    return app_ctx.extensions["noc_notify_settings"].with_(
        gateway_url=gateway.url, segments_per_second=0, sender_threads=4, batch_size=50,
        backoff_base_seconds=0, backoff_max_seconds=0, lease_seconds=60)


@pytest.fixture
def sender(app_ctx, sender_settings):
    running = Sender(app_ctx, sender_settings, name="test-sender")
    yield running
    running.pool.shutdown(wait=True)
