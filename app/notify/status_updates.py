"""Delivery-status callbacks: statuses only move forward (a late ``sent`` never overwrites
``delivered``), like GOV.UK Notify's update_notification_status_by_id. The row is locked
while it is judged, so two callbacks racing cannot both win. Each (MessageSid, status) acts
once: a replayed callback (a captured signed request posted again) changes nothing."""
from __future__ import annotations

import logging

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.notify import statuses
from app.notify.statuses import OutboxStatus
from app.notify.fulfilment import check_fulfilment
from app.notify.models import Notice
from app.notify.outbox import backoff
from app.notify.provider_events import first_status_callback, message_finished
from app.notify.settings import current_settings
from app.staff import service as staff_alerts

log = logging.getLogger(__name__)

# Twilio's message statuses (its words, not ours) → ours.
TWILIO_TO_OURS = {
    "queued": OutboxStatus.accepted, "accepted": OutboxStatus.accepted, "scheduled": OutboxStatus.accepted,
    "sending": OutboxStatus.accepted, "sent": OutboxStatus.sent, "delivered": OutboxStatus.delivered,
    "read": OutboxStatus.delivered, "undelivered": OutboxStatus.undelivered, "failed": OutboxStatus.failed,
    "canceled": OutboxStatus.failed,
}
UNREACHABLE = "30003"


def apply_callback(*, notice_id: int | None, staff_alert_id: int | None, sid: str | None, status: str,
                   error_code: str | None) -> bool:
    """Apply one provider status; returns whether anything changed. Commits."""
    ours = TWILIO_TO_OURS.get(status.lower())
    if ours is None or not sid:
        return False
    changed = False
    if not first_status_callback(sid, status.lower()):
        db.session.rollback()
        log.info("status callback %s/%s already applied: replay ignored", sid, status)
        return False
    if notice_id is not None:
        changed = _notice(notice_id, sid, ours, error_code, status.lower())
    elif staff_alert_id is not None:
        changed = _staff_alert(staff_alert_id, sid, ours, error_code)
    db.session.commit()
    return changed


def _notice(notice_id: int, sid: str, ours: str, error_code: str | None, status: str) -> bool:
    notice = db.session.scalar(select(Notice).where(Notice.id == notice_id).with_for_update())
    if notice is None or (notice.provider_sid and notice.provider_sid != sid):
        return False  # unknown notice, or news of an earlier round's message
    if notice.provider_sid is None and notice.delivery_round and message_finished(sid, other_than=status):
        # Queued again after its message ended (undelivered 30003): a late status of that
        # ended message is not news of the next round.
        return False
    now = utcnow()
    settings = current_settings()
    if ours in (OutboxStatus.undelivered, OutboxStatus.failed) and error_code == UNREACHABLE \
            and notice.status not in statuses.FINAL \
            and notice.attempts < settings.max_attempts:
        # Handset unreachable: try again later as a new message (a new round, so a new key).
        notice.status, notice.error_code, notice.provider_sid = OutboxStatus.queued, UNREACHABLE, None
        notice.claim_token = None
        notice.in_doubt_since = None   # a new round is a new message: nothing to look up
        notice.delivery_round = (notice.delivery_round or 0) + 1
        notice.next_attempt_at = now + backoff(notice.attempts, settings.backoff_base_seconds,
                                               settings.backoff_max_seconds)
        notice.updated_at = now
        return True
    if statuses.RANK[ours] <= statuses.RANK[notice.status]:
        return False
    notice.status = ours
    notice.provider_sid = sid
    notice.accepted_at = notice.accepted_at or now
    if error_code:
        notice.error_code = error_code
    notice.updated_at = now
    db.session.flush()
    check_fulfilment({notice.batch_id})
    return True


def _staff_alert(alert_id: int, sid: str, ours: str, error_code: str | None) -> bool:
    # Staff alerts skip ``accepted``: an alert the provider took is ``sent``.
    status = {OutboxStatus.accepted: OutboxStatus.sent, OutboxStatus.sent: OutboxStatus.sent,
              OutboxStatus.delivered: OutboxStatus.delivered}.get(ours, OutboxStatus.failed)
    return staff_alerts.apply_delivery_status(alert_id, status, sid, error_code)
