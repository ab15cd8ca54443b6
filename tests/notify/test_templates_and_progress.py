"""Templates, segment counts, the preview endpoint and the notifications report."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import update

from app.clock import utcnow
from app.extensions import db
from app.notify.models import Notice
from app.notify.outbox import validity_seconds
from app.notify.templates import count_segments, render
from tests import factories


@pytest.mark.parametrize("text, encoding, segments", [
    ("中" * 70, "UCS-2", 1),
    ("中" * 71, "UCS-2", 2),
    ("中" * 134, "UCS-2", 2),
    ("中" * 135, "UCS-2", 3),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),      # extension characters count twice: 160 septets
    ("€" * 81, "GSM-7", 2),
    ("a" * 159 + "中", "UCS-2", 3),  # one Chinese character makes the whole text UCS-2
    ("😀" * 35, "UCS-2", 1),     # surrogate pairs: two UTF-16 units each
])
def test_segment_counts(text, encoding, segments):
    count = count_segments(text)
    assert (count.encoding, count.segments) == (encoding, segments)


def test_templates_exist_for_every_kind_in_both_languages():
    context = {"number": "INC-1", "title": "", "services": "移动数据", "regions": "杭州", "detected_at": "08:00",
               "recovered_at": "10:00", "estimated_recovery_at": None, "hotline": "10086", "message": "进展",
               "explanation": "说明", "compensation": "补偿1GB流量"}
    for kind in ("outage", "progress", "recovery", "formal", "compensation", "survey"):
        english_context = {**context, "services": "mobile data", "regions": "Hangzhou", "message": "update",
                           "explanation": "why", "compensation": "1 GB"}
        chinese, english = render(kind, "zh-CN", context), render(kind, "en", english_context)
        assert "INC-1" in chinese and "INC-1" in english
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
        assert count_segments(english).encoding == "GSM-7", english


def test_validity_period_is_the_time_left_before_the_deadline_within_twilio_bounds():
    now = utcnow()
    assert validity_seconds(now + timedelta(hours=2), now) == 7200
    assert validity_seconds(now + timedelta(hours=20), now) == 36000
    assert validity_seconds(now + timedelta(milliseconds=300), now) == 1
    assert validity_seconds(now - timedelta(minutes=1), now) is None      # late: send without a limit
    assert validity_seconds(None, now) == 36000


def test_preview_endpoint_renders_and_counts(operator_api, declare):
    incident = declare()
    response = operator_api.post("/notices/preview", json={"kind": "recovery", "incident_id": incident.id})
    assert response.status_code == 200, response.json
    assert incident.number in response.json["text"]
    assert response.json["encoding"] == "UCS-2" and response.json["segments"] == 2
    assert response.json["per_segment"] == 67
    custom = operator_api.post("/notices/preview", json={"kind": "progress", "text": "a" * 161})
    assert (custom.json["encoding"], custom.json["segments"], custom.json["per_segment"]) == ("GSM-7", 2, 153)
    bad = operator_api.post("/notices/preview", json={"kind": "spam"})
    assert bad.status_code == 422 and "kind" in bad.json["message"]


def test_notifications_report_counts_and_flags_a_late_recovery_notice(app_ctx, operator_api, no_outage_notice,
                                                                     recovered_incident):
    factories.subscribers(factories.phones(10))
    with freeze_time(utcnow()) as frozen:
        incident = recovered_incident()
        # three accepted in the last minute: 0.05/s, seven left → 140 s: on time
        db.session.execute(update(Notice).where(Notice.kind == "recovery", Notice.subscriber_id <= 3).values(
            status="accepted", accepted_at=utcnow(), provider_sid="SMx"))
        db.session.commit()
        report = operator_api.get(f"/incidents/{incident.id}/notifications?kind=recovery&per_page=5").json
        assert report["counts"]["recovery"] == {"accepted": 3, "queued": 7}
        assert report["counts"]["survey"] == {"queued": 10}
        recovery = next(n for n in report["notices"] if n["kind"] == "recovery")
        assert (recovery["pending"], recovery["rate_per_second"], recovery["late"]) == (7, 0.05, False)
        assert (recovery["sent"], recovery["total"], recovery["stalled"]) == (3, 10, False)
        assert report["total"] == 10 and len(report["items"]) == 5 and report["items"][0]["phone"].startswith("+86")
        # 1 h 59 min later with nothing accepted lately: no rate, deadline near → late
        frozen.tick(timedelta(minutes=119))
        report = operator_api.get(f"/incidents/{incident.id}/notifications").json
        recovery = next(n for n in report["notices"] if n["kind"] == "recovery")
        assert recovery["late"] is True and recovery["projected_finish_at"] is None and recovery["stalled"] is True
    missing = operator_api.get("/incidents/999/notifications")
    assert missing.status_code == 404
