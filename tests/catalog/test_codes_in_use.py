"""Declarations and subscribers use catalog codes (422 naming the field and the value), and a city
or province in an incident's scope covers the regions below it."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time

from app.incidents.models import Incident
from app.extensions import db
from sqlalchemy import func, select
from tests import factories
from tests.complaints.helpers import register, subscriber
from tests.scheduling.walk import T0


def test_the_issue_5g_slice_on_mars_is_refused_naming_field_and_value(app_ctx, operator_api):
    service = factories.post_incident(operator_api, services=["5G切片"], regions=["杭州"])
    assert service.status_code == 422
    assert "5G切片" in service.json["errors"]["json"]["services"][0] and service.json["message"].startswith("services")
    region = factories.post_incident(operator_api, services=["mobile_data"], regions=["杭州", "火星"])
    assert region.status_code == 422
    assert "火星" in region.json["errors"]["json"]["regions"][0] and "杭州" not in region.json["message"]
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_the_policy_whole_network_words_stay_valid_scopes(app_ctx, operator_api):
    whole = factories.declared(operator_api, services=["全业务"], regions=["全网"])
    assert whole["level"] == 1


def test_subscriber_create_and_update_refuse_unknown_codes(app_ctx, operator_api):
    body = {"phone": "13800000001", "name": "王伟", "region": "西湖区", "services": ["mobile_data"], "monthly_fee": "58"}
    assert operator_api.post("/subscribers", json=body).status_code == 201
    region = operator_api.post("/subscribers", json={**body, "region": "火星"})
    assert region.status_code == 422 and "火星" in region.json["errors"]["json"]["region"][0]
    service = operator_api.post("/subscribers", json={**body, "services": ["mobile_data", "5G切片"]})
    assert service.status_code == 422 and "5G切片" in service.json["errors"]["json"]["services"][0]
    # The refused updates changed nothing.
    assert operator_api.post("/subscribers", json=body).status_code == 200


def test_a_city_covers_its_districts_and_a_province_covers_all(app_ctx, operator_api):
    factories.subscribers(factories.phones(2, 1), region="西湖区")
    factories.subscribers(factories.phones(1, 10), region="杭州")   # a city-level subscriber
    factories.subscribers(factories.phones(3, 20), region="北仑区")  # Ningbo
    factories.subscribers(factories.phones(1, 30), region="西湖区", services=("iptv",))
    by_region = {"杭州": 3, "西湖区": 2, "宁波": 3, "浙江": 6, "萧山区": 0}
    for region, count in by_region.items():
        incident = factories.declared(operator_api, regions=[region])
        assert operator_api.get(f"/incidents/{incident['id']}/affected").json["count"] == count, region
        assert incident["affected_subscribers"] == count, region


def test_a_complaint_from_a_district_links_to_its_citys_incident(app_ctx, operator_api, api_as):
    agent = api_as("agent")
    subscriber(region="西湖区")
    with freeze_time(T0 + timedelta(minutes=5)):
        elsewhere = factories.declared(operator_api, regions=["宁波"])
        incident = factories.declared(operator_api, regions=["杭州"])
        complaint = register(agent, category="service_quality", content="上网很慢")
    assert complaint["incident_id"] == incident["id"] != elsewhere["id"]


def test_a_complaint_names_known_codes_and_a_stranger_links_by_what_they_said(app_ctx, operator_api, api_as):
    from tests.complaints.helpers import STRANGER_PHONE

    agent = api_as("agent")
    for field, value in (("region", "火星"), ("service", "5G切片")):
        refused = register(agent, expect=422, phone=STRANGER_PHONE, category="service_quality", **{field: value})
        assert value in refused["errors"]["json"][field][0]
    with freeze_time(T0 + timedelta(minutes=5)):
        incident = factories.declared(operator_api, regions=["杭州"])  # mobile_data
        said = register(agent, phone=STRANGER_PHONE, category="service_quality", region="西湖区", service="mobile_data")
        other_service = register(agent, phone=STRANGER_PHONE, category="service_quality", region="西湖区",
                                 service="broadband")
        unsaid = register(agent, phone=STRANGER_PHONE, category="service_quality")
    assert (said["region"], said["service"], said["incident_id"]) == ("西湖区", "mobile_data", incident["id"])
    assert other_service["incident_id"] is None and unsaid["incident_id"] is None


def test_an_emergency_plans_scope_uses_catalog_codes(app_ctx, api_as, make_user):
    from app.auth.models import Role
    from tests.plans.helpers import create_plan, plan_body

    manager = api_as(Role.duty_manager)
    owner, _ = make_user(Role.duty_manager)
    for field, value in (("regions", "火星"), ("services", "5G切片")):
        refused = manager.post("/plans", json=plan_body(owner.id, title=f"预案{field}", **{field: [value]}))
        assert refused.status_code == 422 and value in refused.json["errors"]["json"][field][0]
    assert create_plan(manager, owner.id, regions=["西湖区", "全网"])["regions"] == ["西湖区", "全网"]
