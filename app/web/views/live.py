"""The live console's poll: ``GET /live/changes`` answers 304 while nothing changed (ETag)."""
from __future__ import annotations

from flask import Response, current_app, g, jsonify, render_template, request, url_for

from app.auth.permissions import requires
from app.incidents import service
from app.incidents.service import latest_event_id
from app.sql import INTEGER_MAX
from app.web import live, panels
from app.web.views import bp
from app.web.views.board import elapsed_text


def _bounded_int(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 0 <= value <= INTEGER_MAX else None


@bp.get("/live/changes")
@requires("view_incidents")
def live_changes():
    """Versions of the board and of one incident (``?incident=``), and the alarms after ``?since=``."""
    incident_id, since = _bounded_int("incident"), _bounded_int("since")
    current = live.versions(incident_id)
    etag = live.etag_of(current, since)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        body = live.changes(current, since)
        for alarm in body["alarms"]:
            alarm["url"] = url_for("console.incident_detail", incident_id=alarm["incident_id"])
        response = jsonify(body)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    return response


DEFAULT_POLL_MS = 2000


@bp.context_processor
def _live_context() -> dict:
    """What base.html needs to start the poll: where, how often, and from which event on."""
    if getattr(g, "current_user", None) is None:
        return {"live_url": None}
    return {"live_url": url_for("console.live_changes"), "live_cursor": latest_event_id(),
            "live_interval_ms": int(current_app.config.get("NOC_LIVE_POLL_MS", DEFAULT_POLL_MS))}


WALL_ROWS = 24


@bp.get("/incidents/wall")
@requires("view_incidents")
def wall():
    """The NOC wall screen (1920×1080): open incidents, the worst first, large; refreshes itself."""
    page = service.incident_page(service.list_incidents(open_only=True, worst_first=True), 1, WALL_ROWS)
    return render_template("web/wall.html", page=page, deadline_cell=panels.board_deadline, elapsed=elapsed_text)
