"""Console log-in: a Flask session holding the user's id and session version; the password,
the lock-out and the versions belong to the auth service.

The session is a signed cookie, so ending it server-side means the user's ``session_version``
moves on (log-out, password change, deactivation) and every request compares it."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, request, session

from app.auth.models import User
from app.auth.service import LoginOutcome, check_login, end_sessions
from app.extensions import db
from app.web import stale_forms

SESSION_USER_KEY = "console_user_id"
SESSION_VERSION_KEY = "console_session_version"


def load_session_user() -> User | None:
    """The logged-in, still active user whose sessions were not ended since, or None."""
    g.current_user = None
    user_id = session.get(SESSION_USER_KEY)
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or session.get(SESSION_VERSION_KEY) != user.session_version:
        session.clear()
        if user is not None and user.active:
            # Ended by a log-out (or password change) elsewhere: a form posted from here is kept for them.
            session[stale_forms.LAST_USER_KEY] = user_id
        return None
    # The same attribute the API sets, so permissions.requires() works here too.
    g.current_user = user
    return user


def attempt_login(name: str, password: str) -> LoginOutcome:
    """Check the name and password (throttled by name and client address); log in on success."""
    outcome = check_login(name, password, request.remote_addr or "-")
    if outcome.user is not None:
        log_in(outcome.user)
    return outcome


def log_in(user: User) -> None:
    # A fresh session on log-in: nothing from before (a planted id, an old CSRF token) survives,
    # except the typed text of a form posted after the last session ended (its owner's only).
    stale_form = stale_forms.keep_through_log_in(user.id)
    session.clear()
    session[SESSION_USER_KEY] = user.id
    session[SESSION_VERSION_KEY] = user.session_version
    if stale_form:
        session[stale_forms.STASH_KEY] = stale_form


def log_out() -> None:
    # Who was here, so a form posted from a page left open is given back to them alone.
    user_id = session.get(SESSION_USER_KEY)
    user = getattr(g, "current_user", None)
    if user is not None:
        end_sessions(user.id)
    session.clear()
    if user_id is not None:
        session[stale_forms.LAST_USER_KEY] = user_id


def safe_next_url(target: str | None) -> str | None:
    """Only a path on this site may follow log-in (no open redirect to another host)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
