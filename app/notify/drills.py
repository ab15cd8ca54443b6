"""What a drill (演练) changes in the messages an incident sends, in one place.

- Every text of a drill incident starts with 【演练】 (``[DRILL]`` in English): subscriber
  notices are marked where their templates are rendered (``templates.render``), staff
  alerts where they are queued (``app.staff.service``), through the two functions below.
- A drill's subscriber notices go only to the policy's test list (``drills.notice_phones``,
  E.164 phones of subscribers); with the default empty list a drill notifies no subscriber.
  Real subscribers must not be told of an outage that is not happening.
"""
from __future__ import annotations

from sqlalchemy import Select, case, false, literal, select

from app.policy import Policy

PREFIX = {"zh-CN": "【演练】", "en": "[DRILL] "}


def mark(text: str, drill: bool, language: str = "zh-CN") -> str:
    """``text`` with the drill prefix when ``drill`` (never twice)."""
    prefix = PREFIX.get(language, PREFIX["zh-CN"])
    if not drill or text.startswith(prefix):
        return text
    return prefix + text


def mark_sql(message, drill):
    """The SQL form of :func:`mark` (Chinese prefix) for set-based writers: ``drill`` is a boolean
    column or expression that may be NULL (no incident)."""
    return case((drill.is_(True), literal(PREFIX["zh-CN"]) + message), else_=message)


def on_test_list(policy: Policy):
    """The condition on ``Subscriber`` a drill's recipients meet: a phone on the policy's test list
    (false when the list is empty). The compensation engine uses it too: a drill credits nobody else."""
    from app.subscribers.models import Subscriber   # kept out of import time (the policy imports the notifier)

    phones = list(policy.drills["notice_phones"])
    return Subscriber.phone.in_(phones) if phones else false()


def only_test_list(subscriber_ids: Select, policy: Policy) -> Select:
    """``subscriber_ids`` narrowed to the subscribers on the policy's drill test list (none when empty)."""
    from app.subscribers.models import Subscriber

    inner = subscriber_ids.subquery()
    return select(inner.c[0]).join(Subscriber, Subscriber.id == inner.c[0]).where(on_test_list(policy))
