"""Has the provider already got this message? Asked before re-sending an in-doubt claim.

Twilio's Messages API takes no idempotency key: a sender that died between Twilio's accept
and recording the SID leaves a notice that a blind re-send would deliver twice. So before
re-sending a claim that expired, the sender lists the messages to the same number sent
since that claim (``To`` and ``DateSent>`` filters, all pages) and adopts the SID of the
one with the same body. The local gateway answers the same query, so this path runs
through the real twilio library in the tests.
"""
from __future__ import annotations

from datetime import datetime

from twilio.rest import Client

PAGE_SIZE = 50


def find_sent(client: Client, to: str, body: str, since: datetime) -> str | None:
    """The SID of a message to ``to`` with exactly ``body``, sent at or after ``since`` (second
    precision, as the provider filters), else None. Provider errors propagate to the caller."""
    for message in client.messages.stream(to=to, date_sent_after=since, page_size=PAGE_SIZE):
        if message.body == body:
            return message.sid
    return None
