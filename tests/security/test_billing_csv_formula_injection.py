"""Issue 14 Low: phones in the billing CSV begin with '+', which a spreadsheet reads as a
formula (so would any cell starting with = + - @). Such cells are written with a leading
apostrophe, the spreadsheet convention for "this is text"."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from freezegun import freeze_time

from app.compensation.ledger import spreadsheet_text
from tests.security.closed_incident import close_with_one_subscriber

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def test_cells_that_a_spreadsheet_would_evaluate_are_prefixed():
    assert [spreadsheet_text(v) for v in ["+8613800000001", "=1+1", "-2", "@SUM(A1)", "\tx", "INC-1", "", "2026.1+ab"]] \
        == ["'+8613800000001", "'=1+1", "'-2", "'@SUM(A1)", "'\tx", "INC-1", "", "2026.1+ab"]


@freeze_time(NOW)
def test_the_billing_csv_has_no_cell_starting_with_a_formula_character(app_ctx, operator_api, manager_api, make_user):
    entry_id, subscriber = close_with_one_subscriber(operator_api, manager_api, make_user, fee_fen=5800, now=NOW)
    incident_id = operator_api.get(f"/compensation/{entry_id}").json["incident_id"]
    path = f"/incidents/{incident_id}"

    text = operator_api.get(path + "/compensation.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["phone"] == "'" + subscriber.phone
    assert not [cell for row in rows for cell in row.values() if cell[:1] in ("=", "+", "-", "@")]
