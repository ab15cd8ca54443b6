"""Subscribers: one by one, CSV import (API and command), and an incident's affected list."""
from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.subscribers.models import Subscriber

CSV_HEADER = "phone,name,region,services,monthly_fee,language\n"


def subscriber(phone: str) -> Subscriber | None:
    db.session.expire_all()
    return db.session.scalar(select(Subscriber).where(Subscriber.phone == phone))


def test_create_normalises_the_phone_and_updates_on_the_same_number(operator_api):
    body = {"phone": "138 0013 8000", "name": "张三", "region": "杭州", "services": ["mobile_data", "broadband"],
            "monthly_fee": "58.50"}
    created = operator_api.post("/subscribers", json=body)
    assert created.status_code == 201, created.json
    assert created.json["phone"] == "+8613800138000" and created.json["monthly_fee"] == "58.50"
    assert created.json["services"] == ["broadband", "mobile_data"] and created.json["language"] == "zh-CN"
    again = operator_api.post("/subscribers", json={**body, "phone": "+86-138-0013-8000", "services": ["iptv"],
                                                     "monthly_fee": "99", "language": "en"})
    assert again.status_code == 200 and again.json["id"] == created.json["id"]
    assert again.json["services"] == ["iptv"] and again.json["monthly_fee"] == "99.00"
    assert subscriber("+8613800138000").monthly_fee_fen == 9900


def test_create_rejects_bad_input_naming_the_field(operator_api, api_as):
    base = {"phone": "13800138000", "region": "杭州", "services": ["mobile_data"], "monthly_fee": "10"}
    for field, value in [("phone", "12345"), ("monthly_fee", "-1"), ("monthly_fee", "1.234"),
                         ("services", []), ("language", "fr")]:
        response = operator_api.post("/subscribers", json={**base, field: value})
        assert response.status_code == 422 and field in response.json["message"], (field, response.json)
    assert db.session.scalars(select(Subscriber)).all() == []
    assert api_as("reviewer").post("/subscribers", json=base).status_code == 403


def test_csv_import_creates_updates_and_rejects_with_line_and_reason(operator_api):
    operator_api.post("/subscribers", json={"phone": "13800000001", "region": "温州", "services": ["sms"],
                                            "monthly_fee": "1"})
    csv_text = CSV_HEADER + "\n".join([
        "13800000001,李四,杭州,mobile_data;broadband,58.00,zh-CN",    # line 2: update
        "+86 138 0000 0002,王五,宁波,mobile_voice,38,en",              # line 3: create
        "12345,坏号码,杭州,mobile_data,10,zh-CN",                      # line 4: bad phone
        "13800000003,,杭州,,10,zh-CN",                                 # line 5: no service
        "13800000004,,杭州,mobile_data,ten,zh-CN",                     # line 6: bad fee
        "13800000005,,杭州,mobile_data,10,fr",                          # line 7: bad language
        "138-0000-0002,重复,杭州,mobile_data,10,zh-CN",                # line 8: duplicate of line 3
        "13800000006,,杭州,mobile_data",                                # line 9: short row
        "13800000007,,,mobile_data,10,zh-CN",                           # line 10: no region
    ]) + "\n"
    response = operator_api.post("/subscribers/import", data={"file": (io.BytesIO(csv_text.encode()), "s.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    result = response.json
    assert (result["created"], result["updated"], result["rejected"]) == (1, 1, 7)
    rejected = {row["line"]: row["reason"] for row in result["rejected_rows"]}
    assert sorted(rejected) == [4, 5, 6, 7, 8, 9, 10]
    assert rejected[4].startswith("phone") and rejected[5].startswith("services")
    assert rejected[6].startswith("monthly_fee") and rejected[7].startswith("language")
    assert "line 3" in rejected[8] and rejected[10].startswith("region")
    updated = subscriber("+8613800000001")
    assert (updated.name, updated.region, updated.services, updated.monthly_fee_fen) == (
        "李四", "杭州", ["broadband", "mobile_data"], 5800)
    created = subscriber("+8613800000002")
    assert (created.language, created.services, created.monthly_fee_fen) == ("en", ["mobile_voice"], 3800)
    assert subscriber("+8613800000003") is None


def test_import_keeps_an_opt_out_and_refuses_an_empty_upload(operator_api):
    operator_api.post("/subscribers", json={"phone": "13800000009", "region": "杭州", "services": ["sms"],
                                            "monthly_fee": "1"})
    row = subscriber("+8613800000009")
    from app.clock import utcnow

    row.opted_out_at, row.opted_out_source = utcnow(), "sms_stop"
    db.session.commit()
    response = operator_api.post("/subscribers/import", data=(CSV_HEADER + "13800000009,x,杭州,sms,2,zh-CN\n").encode(),
                                 content_type="text/csv")
    assert response.json["updated"] == 1
    assert subscriber("+8613800000009").opted_out_at is not None
    empty = operator_api.post("/subscribers/import", data=b"", content_type="text/csv")
    assert empty.status_code == 422 and "file" in empty.json["message"]


def test_import_command_with_progress(app_ctx, tmp_path):
    path = tmp_path / "subs.csv"
    path.write_text(CSV_HEADER + "".join(f"139{i:08d},用户{i},杭州,mobile_data,10.00,zh-CN\n" for i in range(25000))
                    + "bad,x,杭州,mobile_data,1,zh-CN\n", encoding="utf-8")
    result = app_ctx.test_cli_runner().invoke(args=["subscribers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 25000" in result.output and "rejected 1" in result.output and "25002" in result.output
    assert db.session.scalar(select(db.func.count()).select_from(Subscriber)) == 25000


def test_affected_lists_the_subscribers_in_scope(operator_api):
    for phone, region, services in [("13800000011", "杭州", ["mobile_data"]), ("13800000012", "杭州", ["broadband"]),
                                    ("13800000013", "宁波", ["mobile_data"]), ("13800000014", "杭州", ["mobile_data", "sms"])]:
        operator_api.post("/subscribers", json={"phone": phone, "region": region, "services": services,
                                                "monthly_fee": "1"})
    incident = operator_api.post("/incidents", json={"title": "中断", "services": ["mobile_data"], "regions": ["杭州"]}).json
    page = operator_api.get(f"/incidents/{incident['id']}/affected?per_page=1").json
    assert page["count"] == 2 and page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["phone"] == "+8613800000011"
    second = operator_api.get(f"/incidents/{incident['id']}/affected?per_page=1&page=2").json
    assert second["items"][0]["phone"] == "+8613800000014"
    assert operator_api.get("/incidents/12345/affected").status_code == 404
