"""The signature of an outbound report: ``X-NOC-Signature`` = HMAC-SHA256 hex of the exact body bytes."""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-NOC-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str | None) -> bool:
    # compare_digest: the time taken says nothing about how much of a forged signature was right.
    return bool(signature) and hmac.compare_digest(sign(body, secret), signature.strip().lower())
