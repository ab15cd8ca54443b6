"""Inbound SMS: STOP / 退订 / TD opt out, START opts back in, 1–5 answers the last survey."""
from __future__ import annotations

import logging

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.notify import statuses
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, NoticeBatch, SatisfactionScore
from app.phones import InvalidPhone, mask, to_e164
from app.subscribers.models import Subscriber

log = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD", "T"}
START_WORDS = {"START", "UNSTOP", "YES", "订阅"}
REPLY_STOPPED = "您已退订故障通知，回复START可重新订阅。(Unsubscribed; reply START to resubscribe.)"
REPLY_STARTED = "您已重新订阅故障通知。(You are subscribed again.)"
REPLY_THANKS = "感谢您的评价！(Thank you for your rating.)"


def handle(from_phone: str, body: str, sid: str | None) -> str | None:
    """Act on one inbound message; returns the reply text (None: no reply). Commits."""
    try:
        phone = to_e164(from_phone)
    except InvalidPhone:
        return None
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.phone == phone).with_for_update())
    if subscriber is None:
        log.info("inbound SMS from unknown number %s ignored", mask(phone))
        return None
    word = (body or "").strip().upper()
    now = utcnow()
    reply = None
    if word in STOP_WORDS:
        if subscriber.opted_out_at is None:
            subscriber.opted_out_at, subscriber.opted_out_source, subscriber.updated_at = now, "sms_stop", now
        reply = REPLY_STOPPED
    elif word in START_WORDS:
        subscriber.opted_out_at, subscriber.opted_out_source, subscriber.updated_at = None, None, now
        reply = REPLY_STARTED
    elif word in {"1", "2", "3", "4", "5"}:
        reply = _survey_answer(subscriber, int(word), sid, now)
    db.session.commit()
    return reply


def _survey_answer(subscriber: Subscriber, score: int, sid: str | None, now) -> str | None:
    # The newest surveys first; each lookup uses the outbox's unique key (no scan of the outbox).
    incident_id = None
    for batch in db.session.scalars(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.survey)
                                    .order_by(NoticeBatch.queued_at.desc()).limit(50)):
        status = db.session.scalar(select(Notice.status).where(
            Notice.incident_id == batch.incident_id, Notice.kind == NoticeKind.survey, Notice.sequence == batch.sequence,
            Notice.subscriber_id == subscriber.id))
        if status in statuses.ACCEPTED_BY_PROVIDER:
            incident_id = batch.incident_id
            break
    if incident_id is None:
        return None  # a digit with no survey sent: not a rating
    existing = db.session.scalar(select(SatisfactionScore).where(
        SatisfactionScore.incident_id == incident_id, SatisfactionScore.subscriber_id == subscriber.id))
    if existing is None:
        db.session.add(SatisfactionScore(incident_id=incident_id, subscriber_id=subscriber.id, score=score,
                                         provider_sid=sid, received_at=now))
    else:
        existing.score, existing.provider_sid, existing.received_at = score, sid, now
    return REPLY_THANKS
