"""Console log-in: a Flask session holding the user's id; the password is checked by the auth service."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, session

from app.auth.models import User
from app.extensions import db
from app.web import stale_forms

SESSION_USER_KEY = "console_user_id"


def load_session_user() -> User | None:
    """The logged-in, still active user, or None; a deactivated user is logged out at once."""
    g.current_user = None
    user_id = session.get(SESSION_USER_KEY)
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        session.clear()
        return None
    # The same attribute the API sets, so permissions.requires() works here too.
    g.current_user = user
    return user


def log_in(user: User) -> None:
    # A fresh session on log-in: nothing from before (a planted id, an old CSRF token) survives,
    # except the typed text of a form posted after the last session ended (its owner's only).
    stale_form = stale_forms.keep_through_log_in(user.id)
    session.clear()
    session[SESSION_USER_KEY] = user.id
    if stale_form:
        session[stale_forms.STASH_KEY] = stale_form


def log_out() -> None:
    # Who was here, so a form posted from a page left open is given back to them alone.
    user_id = session.get(SESSION_USER_KEY)
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
