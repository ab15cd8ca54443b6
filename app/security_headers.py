"""Security headers on every response the product serves (console, report HTML, any later page),
the session cookie's flags, and which proxies' X-Forwarded-For to believe.

Every HTML page gets a Content-Security-Policy with no inline script at all: scripts come
from our own static files only (``script-src 'self'``), so a template may carry no
``<script>`` body and no ``on…=`` handler (tests/security/test_inline_script.py reads every
template). Styles: ``'self'`` plus the SHA-256 of each ``<style>`` block the page itself
carries (the analysis report and the summary are self-contained files with one such block),
so no ``'unsafe-inline'`` and no ``style=`` attribute is allowed anywhere.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

_STYLE_BLOCK = re.compile(r"<style(?:\s[^>]*)?>(.*?)</style\s*>", re.DOTALL | re.IGNORECASE)

BASE_CSP = ("default-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HTML_ONLY = {
    "X-Frame-Options": "DENY",
}


def style_hashes(html: str) -> list[str]:
    """The CSP source expression of each inline ``<style>`` block, as a browser hashes its text."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(block.replace("\r\n", "\n").encode()).digest()).decode() + "'"
        for block in _STYLE_BLOCK.findall(html)
    ]


def content_security_policy(response: Response) -> str:
    styles = ["'self'"]
    # A streamed body cannot be read without consuming it; streamed pages carry no <style>.
    if not response.is_streamed:
        styles += sorted(set(style_hashes(response.get_data(as_text=True))))
    return f"{BASE_CSP}; style-src {' '.join(styles)}"


def add_security_headers(response: Response, *, https: bool = False) -> Response:
    for name, value in EVERY_RESPONSE.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        for name, value in HTML_ONLY.items():
            response.headers.setdefault(name, value)
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy(response)
    if https:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    hops = int(app.config.get("NOC_PROXY_HOPS") or 0)
    if hops:
        # Behind trusted proxies: the client's address and scheme from their X-Forwarded-* headers
        # (never trusted otherwise, or anyone could pick the address the log-in throttle counts).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    https = bool(app.config.get("NOC_HTTPS"))
    # One setting says the site is served over HTTPS; the session cookie follows it.
    app.config["SESSION_COOKIE_SECURE"] = https
    app.after_request(lambda response: add_security_headers(response, https=https))
