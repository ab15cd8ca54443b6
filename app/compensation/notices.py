"""Compensation notices (补偿通知), one per credited subscriber, through the SMS notifier.

The notifier (``app.notify``) is built in parallel and is not on this branch yet. This is
the ONE place compensation talks to it: when ``app.notify.outbox.queue_notice`` exists it
is called inside the closing transaction with the SELECT of credited subscriber ids (its
own unique key makes each notice at most once); until then nothing is queued. The lead
removes the fallback at merge.
"""
from __future__ import annotations

import logging

from sqlalchemy import Select

from app.incidents.models import Incident

log = logging.getLogger(__name__)
NOTICE_KIND = "compensation"


def queue_compensation_notices(incident: Incident, subscriber_ids: Select) -> bool:
    """Queue one compensation notice per subscriber in ``subscriber_ids``; False if no notifier."""
    try:
        from app.notify.outbox import queue_notice
    except ImportError:
        log.info("notifier not installed: no compensation notices queued for incident %s", incident.number)
        return False
    queue_notice(incident, NOTICE_KIND, subscriber_ids)
    return True
