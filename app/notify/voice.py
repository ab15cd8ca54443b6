"""Placing one voice call (tier 3 of the on-call escalation) through the twilio library's Calls API.

Text-to-speech in Mandarin (TwiML ``<Say language="zh-CN">``, app/oncall/calls.py). The Calls API,
like Messages, takes no idempotency key: before re-placing a call whose claim expired in doubt,
the provider is asked for a call to the same number since that claim, and its SID is adopted.
"""
from __future__ import annotations

import logging

from twilio.rest import Client

from app.notify.settings import NotifySettings
from app.oncall.calls import ClaimedCall, twiml
from app.phones import mask

log = logging.getLogger(__name__)
PAGE_SIZE = 50


def place(client: Client, settings: NotifySettings, call: ClaimedCall, classify) -> tuple[str, str | None, str | None]:
    """(accepted | retry | failed, sid, error code) for one claimed call; ``classify`` maps a
    provider error to retry/failed (the sender's rule)."""
    if not call.phone:
        return "failed", None, "no_phone"
    if not settings.from_number:
        return "failed", None, "no_from_number"   # a Messaging Service cannot place calls
    try:
        if call.in_doubt_since is not None:
            for placed in client.calls.stream(to=call.phone, start_time_after=call.in_doubt_since, page_size=PAGE_SIZE):
                log.info("voice call %s to %s: the provider already has it (%s), not placed again", call.id,
                         mask(call.phone), placed.sid)
                return "accepted", placed.sid, None
        created = client.calls.create(to=call.phone, from_=settings.from_number, twiml=twiml(call.message))
    except Exception as exc:  # noqa: BLE001 - every provider error becomes a recorded outcome
        result, code = classify(exc)
        log.warning("voice call %s to %s: %s %s", call.id, mask(call.phone), result, code)
        return result, None, code
    log.info("voice call %s to %s placed: %s", call.id, mask(call.phone), created.sid)
    return "accepted", created.sid, None
