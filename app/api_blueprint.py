"""Every API blueprint authenticates each request before reading its input."""
from __future__ import annotations

from flask_smorest import Blueprint

from app.auth.access import authenticate_request
from app.input_guard import reject_control_characters

API_PREFIX = "/api/v1"


def api_blueprint(name: str, import_name: str, *, url_prefix: str = "", description: str = "") -> Blueprint:
    blueprint = Blueprint(name, import_name, url_prefix=f"{API_PREFIX}{url_prefix}", description=description)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(reject_control_characters)
    return blueprint
