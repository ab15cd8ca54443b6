"""Queuing: one row per notice per subscriber, set-based, idempotent, opt-outs respected."""
from __future__ import annotations


from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.incidents import service as incidents
from app.notify.kinds import NoticeKind
from app.notify.models import Notice, NoticeBatch, NoticeText
from app.notify.outbox import queue_for_affected
from app.policy import parse_policy
from tests import factories


def notices(kind: str | None = None) -> list[Notice]:
    query = select(Notice).order_by(Notice.id)
    if kind:
        query = query.where(Notice.kind == kind)
    return list(db.session.scalars(query))


def test_recovery_queues_one_notice_per_affected_subscriber_and_a_survey(app_ctx, recovered_incident):
    factories.subscribers(factories.phones(5))
    factories.subscribers(factories.phones(2, start=100), region="宁波")                      # outside the scope
    factories.subscribers(factories.phones(2, start=200), services=("broadband",))           # other service
    factories.subscribers(factories.phones(1, start=300), opted_out=True)                    # opted out
    incident = recovered_incident()
    recovery = notices(NoticeKind.recovery)
    assert len(recovery) == 5
    assert {n.status for n in recovery} == {"queued"}
    batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.recovery))
    assert batch.deadline_at == incident.recovered_at + app_ctx.extensions["noc_policy"].minutes("recovery_notice_minutes")
    texts = {t.language: t for t in db.session.scalars(select(NoticeText).where(NoticeText.batch_id == batch.id))}
    assert "【恢复通知】" in texts["zh-CN"].body and incident.number in texts["zh-CN"].body
    assert texts["zh-CN"].segments >= 2 and texts["en"].body.startswith("Restored")
    survey = notices(NoticeKind.survey)
    assert len(survey) == 5
    delay = app_ctx.extensions["noc_policy"].data["notices"]["survey_delay_minutes"]
    assert survey[0].next_attempt_at == incident.recovered_at + timedelta(minutes=delay)


def test_queuing_again_is_idempotent_and_adds_only_subscribers_the_scope_gained(app_ctx, recovered_incident):
    factories.subscribers(factories.phones(3))
    incident = recovered_incident()
    assert len(notices(NoticeKind.recovery)) == 3
    assert queue_for_affected(incident, NoticeKind.recovery) == 0
    factories.subscribers(factories.phones(2, start=50))
    assert queue_for_affected(incident, NoticeKind.recovery) == 2
    db.session.commit()
    assert len(notices(NoticeKind.recovery)) == 5
    per_subscriber = db.session.execute(select(Notice.subscriber_id, func.count()).where(
        Notice.kind == NoticeKind.recovery).group_by(Notice.subscriber_id)).all()
    assert all(count == 1 for _, count in per_subscriber)


def test_a_first_queueing_undone_mid_way_leaves_nothing_and_the_next_queues_each_subscriber_once(
        app_ctx, no_outage_notice, recovered_incident):
    """A new notice's first INSERT … SELECT runs without the conflict check; a crash before the commit
    takes the notice and its rows with it, and the next try is a first queueing again."""
    subscribers = factories.subscribers(factories.phones(4))
    incident = recovered_incident()
    def progress():
        return queue_for_affected(incident, NoticeKind.progress, sequence=7, context={"message": "抢修中"})

    assert progress() == 4
    db.session.rollback()                                        # the process died before its commit
    assert notices(NoticeKind.progress) == []
    assert db.session.scalar(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.progress)) is None
    assert progress() == 4
    assert progress() == 0                  # the same transaction: the notice exists now, nothing doubles
    db.session.commit()
    assert sorted(n.subscriber_id for n in notices(NoticeKind.progress)) == sorted(s.id for s in subscribers)


def test_mandatory_kinds_reach_opted_out_subscribers(app_ctx, recovered_incident, policy_with):
    policy_with(mandatory_kinds=["recovery"])
    factories.subscribers(factories.phones(2))
    factories.subscribers(factories.phones(1, start=10), opted_out=True)
    recovered_incident()
    assert len(notices(NoticeKind.recovery)) == 3       # mandatory: the opted-out one too
    assert len(notices(NoticeKind.survey)) == 2         # not mandatory


def test_mandatory_kinds_are_validated():
    from app.policy import PolicyError, load_policy
    from app.config import DEFAULT_POLICY_PATH
    import tomllib

    raw = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    raw["notices"]["mandatory_kinds"] = ["recovery", "spam"]
    with pytest.raises(PolicyError, match="mandatory_kinds"):
        parse_policy(raw)
    assert load_policy(DEFAULT_POLICY_PATH).data["notices"]["mandatory_kinds"] == []


def test_outage_notice_is_queued_when_reported_and_progress_only_when_asked(app_ctx, declare, operator):
    factories.subscribers(factories.phones(4))
    incident = declare()
    assert notices() == []                                   # policy default: on report, not on declaration
    incidents.report(incident.id, operator, fault_type="基站退服", scope_summary="杭州",
                     estimated_recovery_at=incident.detected_at.replace(year=2099))
    assert len(notices(NoticeKind.outage)) == 4
    incidents.post_update(incident.id, operator, message="已派出抢修队", notify_subscribers=False)
    assert notices(NoticeKind.progress) == []
    first = incidents.post_update(incident.id, operator, message="预计一小时内恢复", notify_subscribers=True)
    second = incidents.post_update(incident.id, operator, message="主控板已更换", notify_subscribers=True)
    progress = notices(NoticeKind.progress)
    assert len(progress) == 8 and {n.sequence for n in progress} == {first.id, second.id}
    text = db.session.scalar(select(NoticeText.body).join(NoticeBatch).where(
        NoticeBatch.sequence == second.id, NoticeText.language == "zh-CN"))
    assert "主控板已更换" in text


def test_outage_notice_on_declaration_when_the_policy_says_so(app_ctx, declare, policy_with):
    policy_with(initial_notice_on="declared")
    factories.subscribers(factories.phones(2))
    declare()
    assert len(notices(NoticeKind.outage)) == 2


def test_formal_notice_by_endpoint_for_major_incidents_after_recovery(app_ctx, operator_api, recovered_incident, declare):
    factories.subscribers(factories.phones(3))
    minor = recovered_incident()
    refused = operator_api.post(f"/incidents/{minor.id}/notices", json={"kind": "formal", "explanation": "说明"})
    assert refused.status_code == 422 and "kind" in refused.json["message"]
    open_major = declare(level=2, level_reason="扩大", major=True, major_reason="影响重要客户")
    early = operator_api.post(f"/incidents/{open_major.id}/notices", json={"kind": "formal", "explanation": "说明"})
    assert early.status_code == 409 and early.json["state"] == "declared"

    major = recovered_incident(level=2, level_reason="扩大", major=True, major_reason="影响重要客户")
    missing = operator_api.post(f"/incidents/{major.id}/notices", json={"kind": "formal"})
    assert missing.status_code == 422 and "explanation" in missing.json["message"]
    done = operator_api.post(f"/incidents/{major.id}/notices",
                             json={"kind": "formal", "explanation": "因主控板故障导致中断，已更换并加强巡检。"})
    assert done.status_code == 201 and done.json["queued"] == 3
    again = operator_api.post(f"/incidents/{major.id}/notices", json={"kind": "formal", "explanation": "再次"})
    assert again.status_code == 201 and again.json["queued"] == 0
    batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.formal))
    assert batch.deadline_at == major.recovered_at + app_ctx.extensions["noc_policy"].minutes("formal_notice_minutes")


def test_an_incident_with_nobody_to_notify_meets_its_recovery_notice_deadline_at_once(app_ctx, recovered_incident):
    incident = recovered_incident()
    batch = db.session.scalar(select(NoticeBatch).where(NoticeBatch.kind == NoticeKind.recovery))
    assert batch.fulfilled_at is not None and batch.incident_id == incident.id




def test_queue_for_subscribers_takes_any_select_of_subscriber_ids_for_other_domains(app_ctx, no_outage_notice,
                                                                            recovered_incident):
    """The compensation engine's entry point: its own SELECT of credited subscriber ids."""
    from app.notify.outbox import queue_for_subscribers
    from app.subscribers.models import SubscriberService

    data = factories.subscribers(factories.phones(3), services=("mobile_data", "broadband"))
    factories.subscribers(factories.phones(2, start=10))
    (stopped,) = factories.subscribers(factories.phones(1, start=20), services=("broadband",), opted_out=True)
    incident = recovered_incident()
    credited = select(SubscriberService.subscriber_id).where(SubscriberService.service == "broadband")
    queued = queue_for_subscribers(incident, NoticeKind.compensation, 1, credited, {"compensation": "赠送1GB流量"})
    db.session.commit()
    assert queued == 3                                          # the opted-out one is left out
    rows = notices(NoticeKind.compensation)
    assert {r.subscriber_id for r in rows} == {s.id for s in data} and stopped.id not in {r.subscriber_id for r in rows}
    text = db.session.scalar(select(NoticeText.body).join(NoticeBatch).where(
        NoticeBatch.kind == NoticeKind.compensation, NoticeText.language == "zh-CN"))
    assert "赠送1GB流量" in text and incident.number in text
    assert queue_for_subscribers(incident, NoticeKind.compensation, 1, credited, {"compensation": "x"}) == 0
