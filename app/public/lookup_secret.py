"""The installation secret of lookup codes: it keys their HMAC and the pad that seals a code
for the sender, so a copy of the database alone reveals no code (not even by trying all 10^6:
that needs the secret).

``NOC_LOOKUP_SECRET`` when set (a deployment whose web and sender processes run on several
machines sets the same value on each); otherwise a random secret made once in the instance
folder (owner-only, 0600), which every process of the installation reads, like the local
gateway's token. ``SECRET_KEY`` is not used: by default it is random per process.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from flask import current_app

from app.installation_secrets import read_or_create

SECRET_FILE = "lookup-code-secret"
CACHE_KEY = "noc_lookup_secret"
CODE_SPACE = 10 ** 6   # six digits


def _read_or_create(path: Path) -> str:
    return read_or_create(path)

def installation_secret() -> bytes:
    cached = current_app.extensions.get(CACHE_KEY)
    if cached is None:
        configured = current_app.config.get("NOC_LOOKUP_SECRET") or os.environ.get("NOC_LOOKUP_SECRET")
        value = configured or read_or_create(Path(current_app.instance_path) / SECRET_FILE)
        cached = current_app.extensions[CACHE_KEY] = value.encode()
    return cached


def new_code() -> str:
    return f"{secrets.randbelow(CODE_SPACE):06d}"


def code_hash(nonce: str, phone: str, code: str) -> str:
    """The stored form of a code: bound to its row's nonce and its phone number."""
    message = f"code|{nonce}|{phone}|{code}".encode()
    return hmac.new(installation_secret(), message, hashlib.sha256).hexdigest()


def matches(stored_hash: str, nonce: str, phone: str, code: str) -> bool:
    return hmac.compare_digest(stored_hash, code_hash(nonce, phone, code))


def _pad(nonce: str) -> int:
    digest = hmac.new(installation_secret(), f"pad|{nonce}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % CODE_SPACE


def seal(nonce: str, code: str) -> int:
    """The code under a one-time pad drawn from the secret and the row's random nonce."""
    return (int(code) + _pad(nonce)) % CODE_SPACE


def unseal(nonce: str, sealed: int) -> str:
    return f"{(sealed - _pad(nonce)) % CODE_SPACE:06d}"
