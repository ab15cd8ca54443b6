"""Compensation notices (补偿通知), one per credited subscriber, through the SMS notifier.

The ONE place compensation talks to the notifier: queued inside the closing transaction
with the SELECT of credited subscriber ids; the outbox's unique key (incident, kind,
sequence, subscriber) makes each notice at most once, whatever retries.
"""
from __future__ import annotations

import logging

from sqlalchemy import Select

from app.incidents.models import Incident
from app.notify.outbox import queue_for_subscribers

log = logging.getLogger(__name__)
NOTICE_KIND = "compensation"
# One compensation run per incident (at closure); an approved dispute does not re-notify.
NOTICE_SEQUENCE = 1


def queue_compensation_notices(incident: Incident, subscriber_ids: Select) -> int:
    """Queue one compensation notice per subscriber in ``subscriber_ids``; returns how many were new."""
    return queue_for_subscribers(incident, NOTICE_KIND, NOTICE_SEQUENCE, subscriber_ids)
