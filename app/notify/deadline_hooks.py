"""The one place the notifier tells the deadline domain that a notice deadline is met.

The scheduling domain (app/scheduling/, built in parallel) owns deadline states and will
expose ``app.scheduling.service.fulfil(incident, kind, at)``. Until that module exists on
this branch the call does nothing; the lead wires it at merge without touching the
notifier's logic (the notifier already decides *when* the deadline is met, see
``app.notify.fulfilment``).
"""
from __future__ import annotations

import importlib
import logging
from datetime import datetime

log = logging.getLogger(__name__)


def notice_deadline_met(incident, deadline_kind: str, at: datetime) -> bool:
    """Tell scheduling that ``deadline_kind`` (recovery_notice / formal_notice) was met at ``at``.

    Returns True when scheduling took the call, False while it is not available.
    """
    try:
        scheduling = importlib.import_module("app.scheduling.service")
    except ImportError:
        log.info("deadline %s of incident %s met at %s (scheduling not installed)", deadline_kind, incident.id, at)
        return False
    fulfil = getattr(scheduling, "fulfil", None)
    if fulfil is None:
        return False
    fulfil(incident, deadline_kind, at)
    return True
