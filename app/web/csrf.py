"""The console's CSRF guard. It is checked by the console blueprint on each of its own form
posts (see app/web/views/hooks.py), never app-wide: the bearer-token API and the signed webhooks
carry no form token and must not need one."""
from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
