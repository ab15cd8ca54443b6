"""Secrets made once per installation: a random value in an owner-only (0600) file of the
instance folder, which every process of the installation reads. Used where the environment
gives no value (the local gateway's token, the outbound signing key, the lookup-code key).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_or_create(path: Path, *, what: str = "secret") -> str:
    """The secret in ``path``, written first if missing. Processes starting together race
    safely: each writes a draft and hard-links it into place, and the first link wins."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable {what}; delete it to have a new one made")
    return value
