"""The web console (控制台): server-rendered pages for NOC staff over the incidents service."""
from __future__ import annotations

from flask import Flask

from app.web.csrf import csrf


def init_app(app: Flask) -> None:
    # CSRF is enforced by the console blueprint on its own posts only (app/web/csrf.py).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A console page stays open through a whole shift: the token lives as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_I18N_ENABLED", False)
    csrf.init_app(app)
