"""GET /status and /status.json: no login, no session, no CSRF (nothing is posted), served
from the per-process cache with an ETag and a short public max-age."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, render_template, request

from app.clock import utcnow
from app.incidents import service as incidents
from app.policy import current_policy
from app.public.cache import Rendering, StatusCache
from app.public.service import public_status
from app.security_headers import content_security_policy

bp = Blueprint("public", __name__, template_folder="templates", static_folder="static",
               static_url_path="/status/static")

CACHE_KEY = "noc_public_status_cache"


def init_app(app: Flask) -> None:
    app.extensions[CACHE_KEY] = StatusCache()


@bp.app_template_filter("public_time")
def public_time(iso_moment: str, zone) -> str:
    """An ISO time of the status data as wall-clock text in the policy's zone."""
    return datetime.fromisoformat(iso_moment).astimezone(zone).strftime("%m月%d日 %H:%M")


def status_cache() -> StatusCache:
    return current_app.extensions[CACHE_KEY]


def _render_html(status: dict, key: tuple, stale_at) -> Rendering:
    body = render_template("public/status.html", status=status, zone=current_policy().zone)
    # The CSP is worked out once per rendering, not per request (it reads the body).
    csp = content_security_policy(Response(body, mimetype="text/html"))
    return Rendering.of(body.encode(), "text/html", key, stale_at, {"Content-Security-Policy": csp})


def _render_json(status: dict, key: tuple, stale_at) -> Rendering:
    body = json.dumps(status, ensure_ascii=False, separators=(",", ":"))
    return Rendering.of(body.encode(), "application/json", key, stale_at)


RENDERERS = {"html": _render_html, "json": _render_json}


def _serve(kind: str) -> Response:
    policy, now, cache = current_policy(), utcnow(), status_cache()
    settings = policy.public_status
    version = cache.version(now, timedelta(seconds=settings["version_check_seconds"]), incidents.change_marker)

    key = (version, policy.version)

    def render() -> Rendering:
        status, stale_at = public_status(now, policy)
        return RENDERERS[kind](status, key, stale_at)

    page = cache.rendering(kind, key, now, render)
    response = Response(page.body, mimetype=page.mimetype, headers=page.headers)
    response.set_etag(page.etag)
    response.cache_control.public = True
    response.cache_control.max_age = settings["max_age_seconds"]
    return response.make_conditional(request)


@bp.get("/status")
def status_page():
    return _serve("html")


@bp.get("/status.json")
def status_json():
    return _serve("json")


# "Is my line affected?" adds its two posts to this blueprint.
from app.public import lookup_views  # noqa: E402,F401  (its routes are on bp)
