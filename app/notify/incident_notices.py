"""The notices an incident's own transitions queue (called by ``app.incidents.flows``).

Each function runs inside the transition's transaction: its notices commit, or roll back,
with the transition.

- 故障通知 (outage): queued when the policy's ``notices.initial_notice_on`` says — on
  declaration, on the report to the dispatch center (default: scope and estimated
  recovery are confirmed then), or only by ``POST /incidents/{id}/notices``.
- 进展通报 (progress): each update posted with ``notify_subscribers`` true; the sequence is
  the update's timeline event id, so each update is its own notice.
- 恢复通知 (recovery): automatically on recovery, due ``recovery_notice_minutes`` later.
- 满意度调查 (survey): queued on recovery too, held until ``survey_delay_minutes`` after it.
- 正式通知 (formal, major only): needs the operator's detailed explanation, so it is queued
  by ``POST /incidents/{id}/notices`` with kind ``formal`` (its 4 h deadline runs from recovery).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.incidents.models import Incident, TimelineEvent
from app.notify.kinds import NoticeKind
from app.notify.fulfilment import fulfil_if_nothing_pending
from app.notify.models import NoticeBatch
from app.notify.outbox import queue_for_affected
from app.policy import Policy, current_policy

log = logging.getLogger(__name__)


def queue_initial_notice(incident: Incident, trigger: str) -> None:
    """The outage notice, when the policy names ``trigger`` ("declared" or "reported") as its moment."""
    if current_policy().data["notices"]["initial_notice_on"] == trigger:
        queue_for_affected(incident, NoticeKind.outage)


def queue_progress_notice(incident: Incident, update: TimelineEvent) -> None:
    queue_for_affected(incident, NoticeKind.progress, sequence=update.id, context={"message": update.message})


def queue_recovery_notice(incident: Incident, policy: Policy) -> None:
    """The recovery notice; with nobody to notify its deadline is met at once."""
    queued = queue_for_affected(incident, NoticeKind.recovery, policy=policy)
    fulfil_if_nothing_pending(incident, NoticeKind.recovery)
    if queued:
        log_pool_plan(incident, NoticeKind.recovery, queued)


def log_pool_plan(incident: Incident, kind: str, queued: int) -> None:
    """Say at queuing time whether the sender pool meets the notice's deadline (a warning when
    not: the operator adds numbers, app/notify/README.md "Sender pools")."""
    from app.notify import capacity
    from app.notify.pool import pool_identities
    from app.notify.settings import current_settings

    batch = db.session.scalar(select(NoticeBatch).where(
        NoticeBatch.incident_id == incident.id, NoticeBatch.kind == kind, NoticeBatch.sequence == 1))
    plan = capacity.batch_plan(batch, queued, pool_identities(current_settings()), utcnow())
    (log.info if plan.meets_deadline is not False else log.warning)(
        "%s %s: %d queued; %s", incident.number, NoticeKind.label_of(kind), queued, plan.text)


def queue_survey(incident: Incident, policy: Policy) -> None:
    """The satisfaction survey, held until ``survey_delay_minutes`` after recovery."""
    delay = timedelta(minutes=policy.data["notices"]["survey_delay_minutes"])
    queue_for_affected(incident, NoticeKind.survey, not_before=incident.recovered_at + delay, policy=policy)
