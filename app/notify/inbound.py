"""Inbound SMS: STOP / 退订 / TD opt out, START opts back in, 1–5 answers the last survey;
from a staff phone (users.phone), "1" / 确认 / OK acknowledges that person's newest waiting alert.

Each MessageSid acts once (a replayed signed request changes nothing and gets no reply), and
an opt-in/out applies only if no later one from the subscriber was applied already. Twilio's
inbound webhook carries no send time, so "later" is the time the product received it; the
subscriber's row is locked while judging, so two web processes cannot apply them out of order."""
from __future__ import annotations

import logging

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.notify import provider_events, statuses
from app.notify.complainants import last_complaint_survey
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, NoticeBatch, SatisfactionScore
from app.oncall import escalation
from app.oncall import service as oncall
from app.phones import InvalidPhone, mask, to_e164
from app.staff.models import AckChannel
from app.subscribers.models import Subscriber

log = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD", "T"}
START_WORDS = {"START", "UNSTOP", "YES", "订阅"}
REPLY_STOPPED = "您已退订故障通知，回复START可重新订阅。(Unsubscribed; reply START to resubscribe.)"
REPLY_STARTED = "您已重新订阅故障通知。(You are subscribed again.)"
REPLY_THANKS = "感谢您的评价！(Thank you for your rating.)"
ACK_WORDS = {"1", "确认", "OK"}
REPLY_ACKNOWLEDGED = "已确认告警，升级已停止。(Alert acknowledged; escalation stopped.)"
REPLY_NOTHING_WAITING = "没有待确认的告警。(No alert is waiting for acknowledgement.)"


def handle(from_phone: str, body: str, sid: str | None) -> str | None:
    """Act on one inbound message; returns the reply text (None: no reply). Commits."""
    try:
        phone = to_e164(from_phone)
    except InvalidPhone:
        return None
    word = (body or "").strip().upper()
    now = utcnow()
    staff = oncall.staff_with_phone(phone) if word in ACK_WORDS else None
    if staff is not None:   # a staff phone's "1" acknowledges; a subscriber's "1" is a survey reply
        return _acknowledge(staff, phone, sid, now)
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.phone == phone).with_for_update())
    if sid and not provider_events.first_inbound(sid, subscriber.id if subscriber else None, _action(word), now):
        db.session.rollback()
        log.info("inbound SMS %s from %s already handled: replay ignored", sid, mask(phone))
        return None
    reply = None
    if subscriber is None:
        # A complainant need not be a subscriber: only a survey reply means anything here.
        reply = _complaint_survey_answer(phone, (body or "").strip())
        if reply is None:
            log.info("inbound SMS from unknown number %s ignored", mask(phone))
    elif _action(word) in OPT_ACTIONS and _superseded(subscriber, sid, now):
        log.info("inbound %s from %s is older than the last opt-in/out: not applied", word, mask(phone))
    else:
        reply = _act(subscriber, word, sid, now)
    db.session.commit()
    return reply


def _acknowledge(staff, phone: str, sid: str | None, now) -> str | None:
    if sid and not provider_events.first_inbound(sid, None, "ack", now):
        db.session.rollback()
        log.info("inbound SMS %s from staff %s already handled: replay ignored", sid, mask(phone))
        return None
    acknowledged = escalation.acknowledge_latest(staff, AckChannel.sms)
    db.session.commit()
    log.info("staff %s (%s) acknowledged by SMS: %s", staff.name, mask(phone), acknowledged or "nothing waiting")
    return REPLY_ACKNOWLEDGED if acknowledged else REPLY_NOTHING_WAITING


def _superseded(subscriber: Subscriber, sid: str | None, now) -> bool:
    """Was a later opt-in/out of this subscriber applied already (by SMS, or an opt-out by any source)?"""
    if subscriber.opted_out_at is not None and subscriber.opted_out_at > now:
        return True
    return bool(sid) and provider_events.newer_opt_change_exists(subscriber.id, now, sid)


def _act(subscriber: Subscriber, word: str, sid: str | None, now) -> str | None:
    if word in STOP_WORDS:
        if subscriber.opted_out_at is None:
            subscriber.opted_out_at, subscriber.opted_out_source, subscriber.updated_at = now, "sms_stop", now
        return REPLY_STOPPED
    if word in START_WORDS:
        subscriber.opted_out_at, subscriber.opted_out_source, subscriber.updated_at = None, None, now
        return REPLY_STARTED
    if word in {"1", "2", "3", "4", "5"}:
        return _survey_answer(subscriber, int(word), sid, now)
    return None


OPT_ACTIONS = ("opt_out", "opt_in")


def _action(word: str) -> str:
    if word in STOP_WORDS:
        return "opt_out"
    if word in START_WORDS:
        return "opt_in"
    return "score" if word in {"1", "2", "3", "4", "5"} else "none"


def _survey_answer(subscriber: Subscriber, score: int, sid: str | None, now) -> str | None:
    """The reply answers the newest survey this number received: an incident's or a complaint's."""
    incident_survey = _last_incident_survey(subscriber)
    complaint_survey = last_complaint_survey(subscriber.phone)
    if complaint_survey and (incident_survey is None or _later(complaint_survey[1], incident_survey[1])):
        return _complaint_survey_answer(subscriber.phone, str(score))
    if incident_survey is None:
        return None  # a digit with no survey sent: not a rating
    incident_id = incident_survey[0]
    existing = db.session.scalar(select(SatisfactionScore).where(
        SatisfactionScore.incident_id == incident_id, SatisfactionScore.subscriber_id == subscriber.id))
    if existing is None:
        db.session.add(SatisfactionScore(incident_id=incident_id, subscriber_id=subscriber.id, score=score,
                                         provider_sid=sid, received_at=now))
    else:
        existing.score, existing.provider_sid, existing.received_at = score, sid, now
    return REPLY_THANKS


def _later(first, second) -> bool:
    return second is None or (first is not None and first >= second)


def _last_incident_survey(subscriber: Subscriber):
    """(incident id, accepted_at) of the newest incident survey the provider took for this subscriber."""
    # The newest surveys first; each lookup uses the outbox's unique key (no scan of the outbox).
    for batch in db.session.scalars(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.survey)
                                    .order_by(NoticeBatch.queued_at.desc()).limit(50)):
        row = db.session.execute(select(Notice.status, Notice.accepted_at).where(
            Notice.incident_id == batch.incident_id, Notice.kind == NoticeKind.survey, Notice.sequence == batch.sequence,
            Notice.subscriber_id == subscriber.id)).first()
        if row is not None and row.status in statuses.ACCEPTED_BY_PROVIDER:
            return batch.incident_id, row.accepted_at
    return None


def _complaint_survey_answer(phone: str, word: str) -> str | None:
    if word not in {"1", "2", "3", "4", "5"}:
        return None
    survey = last_complaint_survey(phone)
    if survey is None:
        return None
    from app.complaints.service import record_survey_reply

    record_survey_reply(survey[0], int(word))
    return REPLY_THANKS
