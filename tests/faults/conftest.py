"""The fault suite: real processes (sender, scheduler, web server) on a PostgreSQL server of its own.

One private server for the whole suite, one fresh database per test. Where PostgreSQL is
required (CI) a missing server fails the run; elsewhere the suite is skipped, saying why.
"""
from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from tests.conftest import POSTGRES_REQUIRED
from tests.faults.private_postgres import PrivatePostgres, unavailable_reason
from tests.processes import flask_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def private_postgres():
    reason = unavailable_reason()
    if reason:
        if POSTGRES_REQUIRED:
            pytest.fail(f"the fault suite is required here but {reason}")
        pytest.skip(reason)
    server = PrivatePostgres().init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def fault_app(private_postgres):
    """A migrated application over a fresh database of the private server."""
    name = f"noc_faults_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(private_postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = private_postgres.url.rsplit("/", 1)[0] + f"/{name}"
    application = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()
    admin.dispose()


class Processes:
    """Product processes (``flask --app wsgi …``) with their output in files, stopped at the end."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, *command: str, **env: str) -> subprocess.Popen:
        process = flask_process(self.url, *command, log=open(self.folder / f"{name}.log", "ab"), **env)
        process.log_path = self.folder / f"{name}.log"
        self.running.append(process)
        return process

    def log(self, process: subprocess.Popen) -> str:
        return process.log_path.read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(fault_app, tmp_path):
    running = Processes(fault_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    yield running
    running.stop_all()
