"""Issue 14 Medium 4: bad input answered 500. Each case must be a 4xx naming the field or
the line, and change nothing."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from app.extensions import db
from app.incidents.models import Incident
from app.subscribers.models import Subscriber

SCOPE = '"services": ["broadband"], "regions": ["宁波"]'
HEADER = b"phone,name,region,services,monthly_fee\n"
# Rows name 杭州 (\xe6\x9d\xad\xe5\xb7\x9e): the import refuses a region the catalog does not know.


def _post_raw(api, path: str, body: str | bytes, content_type="application/json"):
    return api.post(path, data=body, content_type=content_type)


def _nothing_stored():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


@pytest.mark.parametrize("body, field", [
    ('{"title": ' + "[" * 1000 + "]" * 1000 + ", " + SCOPE + "}", "title"),             # nested 1,000 deep
    ('{"title": "\\ud800", ' + SCOPE + "}", "title"),                                 # a lone surrogate
    ('{"title": "t", "level": ' + "1" * 5000 + ", " + SCOPE + "}", "level"),          # a 5,000-digit integer
    ('{"title": "t", "services": ["\\udfff"], "regions": ["宁波"]}', "services"),      # …in a list too
])
def test_malformed_json_is_a_4xx_naming_the_field(operator_api, body, field):
    response = _post_raw(operator_api, "/incidents", body)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert field in response.json["message"]
    assert _nothing_stored()


def test_invalid_json_is_a_400_saying_so(operator_api):
    response = _post_raw(operator_api, "/incidents", '{"title": ')
    assert response.status_code == 400 and "JSON" in response.json["message"]


def test_a_json_body_over_the_limit_is_a_413_json_answer(operator_api):
    body = json.dumps({"title": "t", "services": ["broadband"], "regions": ["宁波"], "description": "x" * 5_500_000})
    response = _post_raw(operator_api, "/incidents", body)
    assert response.status_code == 413 and response.is_json
    assert "bytes" in response.json["message"]
    assert _nothing_stored()


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=0001-01-01", "from=9999-12-31T23:59:59+00:00",
                                   "from=0001-01-01T00:00:00%2B14:00"])
def test_the_summary_refuses_times_out_of_range(manager_api, query):
    response = manager_api.get(f"/reports/summary?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert query.split("=")[0] in response.json["message"]


@freeze_time(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
@pytest.mark.parametrize("detected_at", ["0001-01-01T00:00:00+08:00", "0001-01-02T00:00:00+00:00",
                                         "2026-10-23T00:00:00+00:00"])
def test_detected_at_before_the_policy_bound_is_refused(operator_api, detected_at):
    """Year 0001 was accepted and gave 49,329.96 CNY on a 1 CNY plan; the bound is 30 days (policy)."""
    response = operator_api.post("/incidents", json={"title": "t", "services": ["broadband"], "regions": ["宁波"],
                                                     "detected_at": detected_at})
    assert response.status_code == 422 and "detected_at" in response.json["message"]
    assert _nothing_stored()
    recent = (datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc) - timedelta(days=29)).isoformat()
    assert operator_api.post("/incidents", json={"title": "t", "services": ["broadband"], "regions": ["宁波"],
                                                 "detected_at": recent}).status_code == 201


@pytest.mark.parametrize("path, body, field", [
    ("/incidents", {"title": "t", "services": ["broadband"], "regions": ["宁波"]}, "estimated_recovery_at"),
    ("/complaints", {"phone": "+8613800000001", "name": "张三", "channel": "phone", "category": "billing", "grade": 1,
                     "content": "x"}, "received_at"),
])
def test_other_times_out_of_range_are_refused(api_as, path, body, field):
    response = api_as("admin").post(path, json={**body, field: "0001-01-01T00:00:00+08:00"})
    assert response.status_code == 422 and field in response.json["message"]


def test_the_backdate_bound_is_a_validated_policy_key(app_ctx):
    import tomllib

    from app.config import DEFAULT_POLICY_PATH
    from app.policy import PolicyError, parse_policy

    raw = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    assert raw["incidents"]["max_backdate_days"] == 30
    with pytest.raises(PolicyError, match="max_backdate_days"):
        parse_policy({**raw, "incidents": {"max_backdate_days": 0}})


def _import(api, body: bytes):
    return api.post("/subscribers/import", data=body, content_type="text/csv")


@pytest.mark.parametrize("row, line, reason", [
    (b"+8613800000001,a\x00b,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\n", 2, "name"),           # a NUL byte
    (b"+8613800000001,a\x07b,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\n", 2, "name"),           # a control character, as in JSON
    (b"+8613800000001,ab,h\x1bz,broadband,10\n", 2, "region"),
])
def test_csv_rows_with_control_characters_are_rejected_naming_line_and_field(operator_api, row, line, reason):
    response = _import(operator_api, HEADER + b"+8613800000009,ok,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\n".replace(b"\n", b"") + b"\n" + row)
    assert response.status_code == 200, response.json
    assert response.json["created"] == 1 and response.json["rejected"] == 1
    rejected = response.json["rejected_rows"][0]
    assert rejected["line"] == line + 1 and rejected["reason"].startswith(reason)


def test_a_csv_field_over_the_csv_limit_is_a_422_naming_the_line(operator_api):
    body = HEADER + b"+8613800000001,ok,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\n" + b"+8613800000002," + b"a" * 140_000 + b",\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\n"
    response = _import(operator_api, body)
    assert response.status_code == 422 and "line 3" in response.json["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0  # never half-imported


def test_a_csv_with_cr_only_line_endings_is_read_line_by_line(operator_api):
    body = HEADER.replace(b"\n", b"\r") + b"+8613800000001,a,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\r+8613800000002,b,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\r"
    response = _import(operator_api, body)
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["rejected"]) == (2, 0)


def test_a_csv_that_is_not_utf8_is_a_422(operator_api):
    response = _import(operator_api, HEADER + "+8613800000001,张三,杭州,broadband,10\n".encode("gbk"))
    assert response.status_code == 422 and "UTF-8" in response.json["message"]


def test_csv_imports_have_a_larger_limit_than_json_and_stream(operator_api, app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "MAX_CONTENT_LENGTH", 1000)
    monkeypatch.setitem(app_ctx.config, "NOC_MAX_IMPORT_BYTES", 100_000)
    rows = b"".join(b"+86138%08d,n,\xe6\x9d\xad\xe5\xb7\x9e,broadband,10\n" % n for n in range(1, 200))  # ~6 KB
    assert len(rows) > 1000
    assert _import(operator_api, HEADER + rows).json["created"] == 199
    from io import BytesIO
    upload = operator_api.post("/subscribers/import", data={"file": (BytesIO(HEADER + rows), "s.csv")},
                               content_type="multipart/form-data")
    assert upload.status_code == 200 and upload.json["updated"] == 199
    too_big = _import(operator_api, HEADER + rows * 20)
    assert too_big.status_code == 413 and too_big.is_json
