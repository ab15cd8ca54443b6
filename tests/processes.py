"""Real product processes for the multi-process tests (tests/notify, tests/scheduling, tests/faults)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from app.config import PROJECT_ROOT
from app.extensions import db


def flask_process(database_url: str, *command: str, log=None, **env: str) -> subprocess.Popen:
    """``flask --app wsgi COMMAND…`` on ``database_url`` (never real Twilio), output to ``log`` or a pipe."""
    environment = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **env}
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        environment.pop(key, None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=PROJECT_ROOT,
                            env=environment, stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=log is None)


def wait_for(predicate, timeout: float, what: str, every: float = 0.1, context=None):
    """Poll ``predicate`` (each look in a fresh transaction) until it holds; fail naming ``what``
    and, with ``context`` (a callable), what it returns: e.g. the processes' own logs."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f"\n{context()}" if context else ""))
        pause.wait(every)
