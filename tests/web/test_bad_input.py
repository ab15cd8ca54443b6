"""Bad input is said, not swallowed: an over-long title is refused with a message (no maxlength
cutting it silently), and a form posted after log-out keeps its text for the same person."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.auth.models import Role
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import Incident
from tests.web.conftest import PASSWORD, csrf_token_of, log_in

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)
FORM = {"title": "杭州城区移动数据业务中断", "description": "多个基站退服，正在排查传输链路",
        "services": "mobile_data", "regions": "杭州"}


@pytest.fixture(autouse=True)
def clock():
    with freeze_time(NOW) as frozen:
        yield frozen


def incident_count() -> int:
    return db.session.scalar(select(func.count(Incident.id)))


def test_an_over_long_title_is_refused_with_a_message_not_cut(operator):
    page = operator.get("/incidents/new").get_data(as_text=True)
    assert "maxlength" not in page
    title = "长" * 201
    refused = operator.post("/incidents/new", {**FORM, "title": title}, token_from="/incidents/new")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "不超过 200 个字符，当前 201 个" in body
    assert f'value="{title}"' in body  # shown as typed, to shorten
    assert incident_count() == 0


def stale_post(browser, form_page: str, target: str, data: dict):
    """Open the form, log out (another tab), then post the form with the page's old token."""
    token = csrf_token_of(browser.get(form_page).get_data(as_text=True))
    browser.post("/logout")
    return browser.client.post(target, data={**data, "csrf_token": token})


def test_a_declare_form_posted_after_log_out_is_kept_and_given_back_after_log_in(operator):
    answer = stale_post(operator, "/incidents/new", "/incidents/new", FORM)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login?next=/incidents/new"
    assert incident_count() == 0
    login_page = operator.client.get("/login?next=/incidents/new").get_data(as_text=True)
    assert "登录已失效，请重新登录；您填写的内容已保留" in login_page
    token = csrf_token_of(login_page)
    back = operator.client.post("/login?next=/incidents/new",
                                data={"name": operator.user.name, "password": PASSWORD, "csrf_token": token})
    assert back.headers["Location"] == "/incidents/new"
    form = operator.client.get("/incidents/new").get_data(as_text=True)
    assert 'value="杭州城区移动数据业务中断"' in form and "多个基站退服，正在排查传输链路" in form
    assert "多个基站退服" not in operator.client.get("/incidents/new").get_data(as_text=True)  # given back once


def test_the_kept_form_goes_to_its_author_only(operator, make_user, app_ctx):
    stale_post(operator, "/incidents/new", "/incidents/new", FORM)
    someone_else, _ = make_user(Role.operator, name="另一位值班员", password=PASSWORD)
    assert log_in(operator.client, someone_else.name).status_code == 302
    assert "多个基站退服" not in operator.client.get("/incidents/new").get_data(as_text=True)


def test_a_stale_cancel_reason_reopens_the_cancel_form(operator, manager):
    incident = incidents.declare(operator.user, title="t", services=["mobile_data"], regions=["杭州"])
    page = f"/incidents/{incident.id}"
    answer = stale_post(manager, page, f"{page}/cancel", {"cancel-reason": "告警源误报，已核实"})
    assert answer.headers["Location"] == f"/login?next={page}"
    assert incidents.get_incident(incident.id).status == "declared"
    assert log_in(manager.client, manager.user.name).status_code == 302
    detail = manager.client.get(page).get_data(as_text=True)
    assert "告警源误报，已核实" in detail
    assert 'id="action-cancel" open' in detail


def test_a_post_from_another_site_without_a_session_is_still_refused(console_client, make_user):
    refused = console_client.post("/incidents/new", data=FORM)
    assert refused.status_code == 400  # no session cookie: the CSRF check answers, nothing is kept
    assert incident_count() == 0


def test_services_are_typed_and_shown_by_name_never_by_code(operator):
    declared = operator.post("/incidents/new", {**FORM, "services": "移动数据、宽带"}, token_from="/incidents/new")
    assert declared.status_code == 302, declared.get_data(as_text=True)
    incident = db.session.scalar(select(Incident))
    assert incident.services == ["mobile_data", "broadband"]
    for page in ("/incidents", f"/incidents/{incident.id}", "/incidents/new"):
        html = operator.get(page).get_data(as_text=True)
        assert "mobile_data" not in html and "broadband" not in html, page
    assert "移动数据" in operator.get(f"/incidents/{incident.id}").get_data(as_text=True)
    preview = operator.get("/incidents/grade-preview?services=移动数据&regions=杭州").get_json()
    assert preview["proposed_level"] is not None


def test_the_sms_preview_after_log_out_keeps_no_form(operator):
    incident = incidents.declare(operator.user, title="t", services=["mobile_data"], regions=["杭州"])
    answer = stale_post(operator, f"/incidents/{incident.id}", f"/incidents/{incident.id}/sms-preview", {"message": "x"})
    assert answer.status_code == 401 and answer.get_json()["message"].startswith("登录已失效")


def test_a_form_too_long_for_the_session_keeps_what_fits_and_names_the_rest(operator):
    long_description = "".join(chr(0x4E00 + i) for i in range(3000))  # does not compress: past the cookie budget
    stale_post(operator, "/incidents/new", "/incidents/new", {**FORM, "description": long_description})
    login_page = operator.client.get("/login?next=/incidents/new").get_data(as_text=True)
    assert "过长未能保留：故障描述" in login_page
    assert log_in(operator.client, operator.user.name).status_code == 302
    form = operator.client.get("/incidents/new").get_data(as_text=True)
    assert 'value="杭州城区移动数据业务中断"' in form and long_description not in form
