"""The console's pages, one module per page family; this package owns the blueprint.

Each action view reads its form, loads the data through the API's own schema, calls the one
service function the API view calls, and says what happened. No rule lives here: the
service refuses what is not allowed and the refusal is shown.
"""
from __future__ import annotations

from flask import Blueprint

# Named after the app.web package so templates/ and static/ beside it are found.
bp = Blueprint("console", "app.web", template_folder="templates", static_folder="static",
               static_url_path="/console-static")

# Importing the modules registers their routes and hooks on ``bp``.
from app.web.views import alert_proposals, alerts, auth, board, complaints, compensation, declare, hooks, incident, notices, reports  # noqa: E402,F401
from app.web.views import live  # noqa: E402,F401  (the live console: polls, wall screen)
from app.web.views import oncall  # noqa: E402,F401  (the on-call roster, 值班表)
from app.web.views import catalog  # noqa: E402,F401  (the catalog of services and regions)
from app.web.views import plans  # noqa: E402,F401  (emergency plans, 应急预案)
