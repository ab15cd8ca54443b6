"""What the notifier does when an incident changes (connected in ``app.notify.init_app``).

Each receiver runs inside the incident transition's transaction (see
``app.incidents.signals``): its notices commit, or roll back, with the transition.

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

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db

from app.notify.kinds import NoticeKind
from app.notify.fulfilment import check_fulfilment
from app.notify.models import NoticeBatch
from app.notify.outbox import queue_for_affected
from app.policy import current_policy


def _initial_notice(trigger: str, incident) -> None:
    if current_policy().data["notices"]["initial_notice_on"] == trigger:
        queue_for_affected(incident, NoticeKind.outage)


def on_incident_declared(sender, incident, **_):
    _initial_notice("declared", incident)


def on_incident_reported(sender, incident, **_):
    _initial_notice("reported", incident)


def on_progress_update_posted(sender, incident, update, notify_subscribers, **_):
    if notify_subscribers:
        queue_for_affected(incident, NoticeKind.progress, sequence=update.id, context={"message": update.message})


def on_incident_recovered(sender, incident, **_):
    policy = current_policy()
    queue_for_affected(incident, NoticeKind.recovery, policy=policy)
    _fulfil_if_empty(incident, NoticeKind.recovery)
    delay = timedelta(minutes=policy.data["notices"]["survey_delay_minutes"])
    queue_for_affected(incident, NoticeKind.survey, not_before=incident.recovered_at + delay, policy=policy)


def _fulfil_if_empty(incident, kind: str) -> None:
    """An incident with nobody to notify meets its notice deadline at once."""
    batch_id = db.session.scalar(select(NoticeBatch.id).where(
        NoticeBatch.incident_id == incident.id, NoticeBatch.kind == kind, NoticeBatch.sequence == 1))
    check_fulfilment({batch_id})


def connect_once() -> None:
    """Blinker keeps receivers per signal, so several apps in one process (tests) connect once."""
    from app.incidents import signals

    signals.incident_declared.connect(on_incident_declared)
    signals.incident_reported.connect(on_incident_reported)
    signals.progress_update_posted.connect(on_progress_update_posted)
    signals.incident_recovered.connect(on_incident_recovered)
