"""Domain errors and their JSON answers: 4xx naming the field or state, never a 500 for bad input."""
from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_smorest import Api
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# The database is unreachable, closed the connection, is shutting down, refused a write for
# lack of space, or every pooled connection is busy: nothing the caller did, so a 503 with
# Retry-After, never a 500. (A PostgreSQL deadlock or serialization failure is also an
# OperationalError; a retry answers it best too.)
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_SECONDS = 5
DISK_FULL = "database or disk is full"


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def payload(self) -> dict:
        return {"code": self.status_code, "message": self.message, **self.details}


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    """403 for a rule about people, not roles: e.g. whoever proposed a thing may not approve it."""

    status_code = 403


class TransitionNotAllowed(DomainError):
    """409: the action is not allowed from the incident's current state (named in the body)."""

    status_code = 409

    def __init__(self, action: str, state: str, message: str | None = None, **details: Any) -> None:
        super().__init__(message or f"当前状态 {state} 不允许执行 {action} (not allowed from state '{state}')",
                         state=state, action=action, **details)


class InvalidInput(DomainError):
    """422 for a rule the schema cannot express; ``field`` names the offending input."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors={"json": {field: [message]}})


class NocApi(Api):
    """flask-smorest's Api, keeping every detail passed to abort() in the JSON error body."""

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        data = getattr(error, "data", None) or {}
        for key, value in data.items():
            if key not in {"headers", "messages", "exc", "schema"} and key not in payload:
                payload[key] = value
        if "message" not in payload:
            if code == 422 and "errors" in payload:
                payload["message"] = "输入无效 (invalid input): " + ", ".join(_field_names(payload["errors"]))
            else:
                payload["message"] = error.description
        return payload, code, headers


def _field_names(errors: Any, prefix: str = "") -> list[str]:
    names: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if prefix == "" and key in {"json", "query", "form", "files", "headers", "path"}:
                names.extend(_field_names(value, ""))
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
                names.extend(_field_names(value, path) if isinstance(value, dict) else [path])
    return names or ([prefix] if prefix else [])


def register_domain_errors(app) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        return error.payload(), error.status_code

    @app.errorhandler(DataError)
    def _value_the_database_cannot_hold(error: DataError):
        # Only input can produce a DataError (a number out of the column's range, text the
        # type cannot hold): a safety net behind the schemas, so it is never a 500.
        from app.extensions import db

        db.session.rollback()
        app.logger.warning("input reached the database and was refused: %s", type(error.orig).__name__)
        return {"code": 422, "status": "Unprocessable Entity",
                "message": "输入值超出允许范围 (a value is out of the accepted range)"}, 422


def register_database_unavailable(app) -> None:
    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, _database_unavailable)
    _make_session_teardown_safe(app)


def _make_session_teardown_safe(app) -> None:
    """Flask-SQLAlchemy ends each request with ``session.remove()``, whose ROLLBACK fails when the
    server went away after the answer was made: that answer would then turn into a 500. Ours
    drops a dead connection without asking the server instead."""
    from app.extensions import db

    def remove_session(_error=None) -> None:
        discard_session(db.session)

    app.teardown_appcontext_funcs[:] = [
        remove_session if getattr(func, "__name__", "") == "_teardown_session" else func
        for func in app.teardown_appcontext_funcs
    ]


def discard_session(session) -> None:
    """End the scoped session; if the connection is gone, invalidate it (no round trip) and forget it."""
    try:
        session.remove()
    except DATABASE_UNAVAILABLE:
        session.registry().invalidate()
        session.registry.clear()


def _database_unavailable(error: Exception):
    from app.extensions import db

    try:
        db.session.rollback()
    except DATABASE_UNAVAILABLE:  # the connection may be gone already; the pool replaces it
        discard_session(db.session)
    disk_full = DISK_FULL in str(getattr(error, "orig", error))
    if disk_full:
        message = "数据库磁盘已满，暂时无法保存任何修改 (database or disk is full: nothing was saved)"
    else:
        message = "数据库暂时不可用，请稍后重试 (the database is unavailable: nothing was changed, retry shortly)"
    detail = (str(getattr(error, "orig", error)).strip().splitlines() or [""])[0][:200]
    current_app.logger.error("database unavailable on %s %s: %s: %s", request.method, request.path,
                             type(error).__name__, detail)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.blueprint != "console":
        return {"code": 503, "status": "Service Unavailable", "message": message,
                "reason": "disk_full" if disk_full else "database_unavailable"}, 503, headers
    return render_template("web/unavailable.html", detail=message, retry_after=RETRY_AFTER_SECONDS), 503, headers
