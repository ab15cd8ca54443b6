"""The one place the notifier tells the deadline domain that a notice deadline is met.

The notifier decides *when* (see ``app.notify.fulfilment``); the scheduling domain owns
the deadline's state and judges on-time or late.
"""
from __future__ import annotations

from datetime import datetime

from app.scheduling.service import fulfil


def notice_deadline_met(incident, deadline_kind: str, at: datetime) -> bool:
    """Tell scheduling that ``deadline_kind`` (recovery_notice / formal_notice) was met at ``at``.

    Runs in the caller's transaction. Returns True (kept for the callers' logging).
    """
    fulfil(incident, deadline_kind, at)
    return True
