"""A form posted after log-out (in another tab, or at the end of a shift with a page left open) is
not lost: its fields are kept in the session, the person logs in again, and the page the form was
on opens with the form filled in as typed, to check and submit again. Nothing is changed by the
stale post itself; the resubmission carries a fresh CSRF token.

The session is a signed cookie (about 4 KB at most), so fields that would not fit are left out,
longest first, and named in the message.
"""
from __future__ import annotations

from flask import Request, current_app, session, url_for
from werkzeug.datastructures import MultiDict

STASH_KEY = "stale_form"
LAST_USER_KEY = "last_user_id"
COOKIE_BUDGET = 3600  # bytes of the session cookie; browsers drop a cookie past 4096
NEVER_KEPT = ("csrf_token", "password")
# Posts made by the page's script as someone types (the SMS preview), not a form a person sent.
NOT_FORMS = {"console.sms_preview"}


def _page_of(request: Request) -> str:
    """The page the posted form is on, to come back to after log-in."""
    args = request.view_args or {}
    endpoint = request.endpoint or ""
    if "analysis_report" in endpoint and "incident_id" in args:
        return url_for("console.analysis_report_page", incident_id=args["incident_id"])
    if "incident_id" in args:
        return url_for("console.incident_detail", incident_id=args["incident_id"])
    if endpoint == "console.declare":
        return url_for("console.declare")
    return url_for("console.board")


def _cookie_size(data: dict) -> int:
    serializer = current_app.session_interface.get_signing_serializer(current_app)
    return len(serializer.dumps(data)) if serializer is not None else 0


def stash(request: Request) -> tuple[str, list[str]]:
    """Keep the posted fields for the page they came from; return that page and the names of
    fields too long to keep."""
    fields = [[name, value] for name, value in request.form.items(multi=True)
              if not name.endswith(NEVER_KEPT)]
    dropped: list[str] = []
    page = _page_of(request)
    while True:
        kept = {"page": page, "endpoint": request.endpoint, "fields": fields, "owner": session[LAST_USER_KEY]}
        if _cookie_size({**session, STASH_KEY: kept}) <= COOKIE_BUDGET or not fields:
            break
        longest = max(fields, key=lambda pair: len(pair[1]))
        fields = [pair for pair in fields if pair is not longest]
        dropped.append(longest[0])
    session[STASH_KEY] = kept
    return page, dropped


def posted_after_log_out() -> bool:
    """This browser's own session, logged out (the cookie is SameSite=Lax: a post from another
    site carries none, so it can neither plant a form nor end a session here)."""
    return session.get(LAST_USER_KEY) is not None


def keep_through_log_in(user_id: int) -> dict | None:
    """The stash to carry into the new session: only to the person who typed it."""
    kept = session.get(STASH_KEY)
    if kept and kept.get("owner") == user_id:
        return kept
    return None


def take(path: str) -> tuple[str, MultiDict] | None:
    """The stashed form of the page at ``path`` as (endpoint, form data), once."""
    kept = session.get(STASH_KEY)
    if not kept or kept.get("page") != path:
        return None
    session.pop(STASH_KEY)
    return kept["endpoint"], MultiDict([tuple(pair) for pair in kept["fields"]])
