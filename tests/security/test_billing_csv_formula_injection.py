"""Issue 14 Low: phones in the billing CSV begin with '+', which a spreadsheet reads as a
formula (so would any cell starting with = + - @). Such cells are written with a leading
apostrophe, the spreadsheet convention for "this is text"."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from freezegun import freeze_time

from app.auth.models import Role
from app.compensation.ledger import spreadsheet_text
from app.extensions import db
from app.incidents import service
from tests.compensation.helpers import add_subscriber

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def test_cells_that_a_spreadsheet_would_evaluate_are_prefixed():
    assert [spreadsheet_text(v) for v in ["+8613800000001", "=1+1", "-2", "@SUM(A1)", "\tx", "INC-1", "", "2026.1+ab"]] \
        == ["'+8613800000001", "'=1+1", "'-2", "'@SUM(A1)", "'\tx", "INC-1", "", "2026.1+ab"]


@freeze_time(NOW)
def test_the_billing_csv_has_no_cell_starting_with_a_formula_character(app_ctx, operator_api, manager_api, make_user):
    subscriber = add_subscriber(5800, ["mobile_data"])
    db.session.commit()
    incident = operator_api.post("/incidents", json={"title": "杭州数据中断", "services": ["mobile_data"], "regions": ["杭州"],
                                                     "detected_at": "2026-11-23T08:00:00+08:00"}).json
    path = f"/incidents/{incident['id']}"
    operator_api.post(path + "/report", json={"fault_type": "传输中断", "scope_summary": "杭州",
                                              "estimated_recovery_at": "2026-11-23T20:00:00+08:00"})
    operator_api.post(path + "/respond", json={"responder": "张伟"})
    operator_api.put(path + "/responsibility", json=[{"category": "technical", "sub_cause": "equipment_failure",
                                                      "party": "传输部", "share": 100}])
    operator_api.post(path + "/recover", json={"summary": "已恢复", "recovered_at": "2026-11-23T12:00:00+08:00"})
    reviewer, _ = make_user(Role.reviewer)
    service.mark_analysis_report_submitted(service.get_incident(incident["id"]), reviewer, NOW)
    db.session.commit()
    assert manager_api.post(path + "/close").status_code == 200

    text = operator_api.get(path + "/compensation.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["phone"] == "'" + subscriber.phone
    assert not [cell for row in rows for cell in row.values() if cell[:1] in ("=", "+", "-", "@")]
