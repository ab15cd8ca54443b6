"""Notices that speak to each person: their own services, their own compensation, their name
(when the policy allows), filled in by the sender; and each message's real segment count."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.clock import utcnow
from app.compensation import followup
from app.compensation.ledger import final_rows
from app.compensation.models import CompensationVersion
from app.extensions import db
from app.incidents.models import Status
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, NoticeBatch, NoticeText
from app.notify.placeholders import OPEN, has_markers
from app.notify.templates import count_segments
from tests import factories
from tests.notify.helpers import drain


def received(gateway, marker: str) -> dict[str, str]:
    """phone → body of every message the local gateway took whose text contains ``marker``."""
    return {m["to"]: m["body"] for m in gateway.gateway.messages.values() if marker in m["body"]}


def test_the_compensation_sms_states_each_subscribers_own_amount_from_the_ledger(
        app_ctx, operator, no_outage_notice, gateway, sender, make_user):
    from app.auth.models import Role

    fees = {"+8613800001001": 72_000, "+8613800001002": 5_800, "+8613800001003": 19_900}
    for phone, fee in fees.items():
        factories.subscribers([phone], fee_fen=fee)
    voice_only = factories.subscribers(["+8613800001004"], fee_fen=30_000, services=("fixed_voice",))[0]
    incident = factories.incident_in(Status.closed, operator, services=["mobile_data", "fixed_voice"],
                                     detected_at=utcnow() - timedelta(hours=9))
    rows = {r.phone: r for r in db.session.execute(final_rows(incident.id))}
    # An approved adjustment (补偿方案协商) is the subscriber's current figure: the SMS states it.
    manager, _ = make_user(Role.duty_manager)
    adjusted = rows["+8613800001002"]
    db.session.add(CompensationVersion(
        entry_id=adjusted.entry_id, incident_id=incident.id, version=2, status="approved", economic_credit_fen=1_234,
        data_credit_gb=7, dispute_reason="协商", proposed_by=manager.id, proposed_at=utcnow(),
        decided_by=manager.id, decided_at=utcnow()))
    db.session.commit()

    followup.queue_pending()   # the scheduler's follow-up after closure queues the compensation notices
    drain(sender)
    texts = received(gateway, "【补偿通知】")
    assert set(texts) == set(fees) | {voice_only.phone}
    for phone, row in rows.items():
        fen, gb = (1_234, 7) if phone == "+8613800001002" else (row.economic_credit_fen, row.data_credit_gb)
        assert fen > 0, phone                                     # every one was credited money
        assert f"话费补偿{fen // 100}.{fen % 100:02d}元" in texts[phone], texts[phone]
        assert (f"流量补偿{gb}GB" in texts[phone]) == (gb > 0), texts[phone]
        assert "明细可拨打客服热线查询" not in texts[phone] and OPEN not in texts[phone]
    # Different fees, different amounts: no two subscribers got the same text.
    assert len(set(texts.values())) == len(texts)
    assert rows[voice_only.phone].data_credit_gb == 0 and "流量补偿" not in texts[voice_only.phone]


def test_the_recovery_notice_lists_only_the_subscribers_own_services(
        app_ctx, no_outage_notice, recovered_incident, gateway, sender):
    data = factories.subscribers(["+8613800002001"], services=("mobile_data",))[0]
    home = factories.subscribers(["+8613800002002"], services=("broadband", "iptv", "fixed_voice"))[0]
    english = factories.subscribers(["+8613800002003"], services=("iptv", "sms"), language="en")[0]
    incident = recovered_incident(services=["mobile_data", "broadband", "iptv"])
    drain(sender)
    texts = {**received(gateway, "【恢复通知】"), **received(gateway, "Restored")}
    assert "的移动数据已于" in texts[data.phone] and "宽带" not in texts[data.phone]
    assert "的宽带、IPTV已于" in texts[home.phone]
    assert "移动数据" not in texts[home.phone] and "固定电话" not in texts[home.phone]
    assert texts[english.phone].startswith("Restored: IPTV in ") and "SMS" not in texts[english.phone]
    assert all(incident.number in t for t in texts.values())
    # The batch's stored text keeps the marker: rendered once, filled per subscriber.
    stored = db.session.scalar(select(NoticeText.body).join(NoticeBatch, NoticeBatch.id == NoticeText.batch_id)
                               .where(NoticeBatch.kind == NoticeKind.recovery, NoticeText.language == "zh-CN"))
    assert has_markers(stored)


class RecordingLimiter:
    """The sender's own limiter, recording what each message was charged."""

    def __init__(self, inner):
        self.inner, self.acquired = inner, []

    def acquire(self, segments: int):
        self.acquired.append(segments)
        return self.inner.acquire(segments)


@pytest.mark.parametrize("personal_name", [True, False])
def test_a_long_name_pushes_the_ucs2_survey_into_a_second_segment_counted_per_notice(
        app_ctx, policy_with, recovered_incident, gateway, sender, operator_api, personal_name):
    policy_with(initial_notice_on="manual", survey_delay_minutes=0, personal_name=personal_name)
    short = factories.subscribers(["+8613800003001"], name="王芳")[0]
    long = factories.subscribers(["+8613800003002"], name="欧阳诸葛司马慕容上官东方皇甫")[0]   # 12 characters more than 王芳: 72 > 70
    sender.limiter = RecordingLimiter(sender.limiter)
    incident = recovered_incident()
    drain(sender)
    texts = received(gateway, "【满意度调查】")
    notices = {n.subscriber_id: n for n in db.session.scalars(select(Notice).where(Notice.kind == NoticeKind.survey))}
    template_segments = db.session.scalar(select(NoticeText.segments).join(
        NoticeBatch, NoticeBatch.id == NoticeText.batch_id).where(
        NoticeBatch.kind == NoticeKind.survey, NoticeText.language == "zh-CN"))
    assert template_segments == 1
    for person in (short, long):
        text = texts[person.phone]
        assert notices[person.id].segments == count_segments(text).segments
        assert ("欧阳" in text) == (personal_name and person is long)
    if personal_name:
        assert texts[short.phone].startswith("【满意度调查】尊敬的王芳，")
        assert (notices[short.id].segments, notices[long.id].segments) == (1, 2)
        assert count_segments(texts[long.phone]).characters > 70
    else:   # the name is personal data: off by default, everyone is 尊敬的用户
        assert all(t.startswith("【满意度调查】尊敬的用户，") for t in texts.values())
        assert (notices[short.id].segments, notices[long.id].segments) == (1, 1)
    listed = operator_api.get(f"/incidents/{incident.id}/notifications?kind=survey").json["items"]
    assert {i["phone"]: i["segments"] for i in listed} == {p.phone: notices[p.id].segments for p in (short, long)}
    # The rate limiter was charged each message's own count, not the batch text's.
    every_notice = db.session.scalars(select(Notice).where(Notice.status == "accepted")).all()
    assert sorted(sender.limiter.acquired) == sorted(n.segments for n in every_notice)
    assert sum(sender.limiter.acquired) == sum(count_segments(m["body"]).segments
                                              for m in gateway.gateway.messages.values())


def test_the_personal_fields_of_a_chunk_are_read_in_a_few_queries_not_one_per_notice(
        app_ctx, no_outage_notice, recovered_incident, sender):
    from app import claims

    factories.subscribers(factories.phones(60, start=4000), services=("mobile_data", "broadband"))
    recovered_incident(services=["mobile_data"])
    db.session.commit()
    ids = claims.claim(claims.NOTICES, "counting", utcnow(), 60, 100)
    db.session.commit()
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        outgoing = sender._load_notices("counting", ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(outgoing) == 60
    assert len(statements) <= 3     # the chunk itself, the batches' incidents, the subscribers with services
    assert all(not has_markers(o.body) and "的移动数据已于" in o.body for o in outgoing)
    assert all(o.segments == count_segments(o.body).segments for o in outgoing)


def test_an_operator_message_cannot_smuggle_a_marker_into_the_batch_text(
        app_ctx, operator, no_outage_notice, gateway, sender):
    from app.incidents import service as incidents

    factories.subscribers(["+8613800005001"])
    incident = factories.incident_in(Status.responding, operator)
    incidents.post_update(incident.id, operator, message=f"抢修中{OPEN}compensation\ue001请稍候",
                          notify_subscribers=True)
    drain(sender)
    (text,) = received(gateway, "【进展通报】").values()
    assert "抢修中compensation请稍候" in text and OPEN not in text


def test_the_compensation_phrase_states_exact_figures_and_never_invents_one():
    from app.notify.personal import compensation_text

    assert compensation_text((1_205, 3), "zh-CN") == "已为您办理话费补偿12.05元、流量补偿3GB，已计入您的账户"
    assert compensation_text((7, 0), "zh-CN") == "已为您办理话费补偿0.07元，已计入您的账户"
    assert compensation_text((0, 10), "en") == "we credited 10 GB of data to your account"
    assert compensation_text(None, "zh-CN") == "您的补偿已计入账户，明细可拨打客服热线查询"   # no ledger entry
    assert compensation_text((0, 0), "zh-CN") == "经核定本次无补偿金额"


def test_a_drill_notice_is_marked_and_still_speaks_to_the_person(app_ctx, operator, gateway, sender):
    from app.policy import parse_policy

    original = app_ctx.extensions["noc_policy"]
    app_ctx.extensions["noc_policy"] = parse_policy({
        **original.data, "drills": {"notice_phones": ["+8613800006001"]},
        "notices": {**original.data["notices"], "initial_notice_on": "declared", "personal_name": True}})
    try:
        factories.subscribers(["+8613800006001"], name="王芳", services=("broadband",))
        factories.declare(operator, drill=True, services=["mobile_data", "broadband"])
        db.session.commit()
        drain(sender)
    finally:
        app_ctx.extensions["noc_policy"] = original
    (message,) = gateway.gateway.messages.values()
    assert message["body"].startswith("【演练】【故障通知】尊敬的王芳，杭州的宽带自"), message["body"]
    assert "移动数据" not in message["body"]
