"""The register of emergency plans (应急预案): CRUD, who may do what, and incidents citing plans."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.incidents.models import Status, TimelineEvent
from tests import factories
from tests.plans.helpers import create_plan, plan_body


def test_a_duty_manager_registers_lists_reads_and_edits_a_plan(api_as, make_user):
    manager = api_as(Role.duty_manager)
    owner, _ = make_user(Role.duty_manager, name="王经理")
    plan = create_plan(manager, owner.id)
    assert (plan["title"], plan["owner_name"], plan["review_due_on"], plan["incidents"]) == (
        "移动数据大面积中断应急预案", "王经理", "2027-03-01", [])
    create_plan(manager, owner.id, title="宽带中断应急预案", review_due_on="2027-01-10")

    listed = api_as(Role.operator).get("/plans").json
    assert listed["total"] == 2
    assert [p["title"] for p in listed["items"]] == ["宽带中断应急预案", "移动数据大面积中断应急预案"]  # soonest review first
    assert [p["title"] for p in manager.get("/plans?q=宽带").json["items"]] == ["宽带中断应急预案"]
    assert manager.get("/plans?review_due_by=2027-02-01").json["total"] == 1

    got = manager.get(f"/plans/{plan['id']}")
    etag = got.headers["ETag"]
    edited = manager.put(f"/plans/{plan['id']}", json=plan_body(owner.id, review_due_on="2027-06-30",
                                                                 regions=["杭州", "宁波"]), headers={"If-Match": etag})
    assert edited.status_code == 200, edited.json
    assert (edited.json["review_due_on"], edited.json["regions"]) == ("2027-06-30", ["杭州", "宁波"])
    stale = manager.put(f"/plans/{plan['id']}", json=plan_body(owner.id, title="改名"), headers={"If-Match": etag})
    assert stale.status_code == 409
    assert manager.get(f"/plans/{plan['id']}").json["title"] == "移动数据大面积中断应急预案"


def test_only_duty_managers_and_admins_edit_and_machines_do_not_read(api_as, make_user):
    owner, _ = make_user(Role.duty_manager)
    plan = create_plan(api_as(Role.admin), owner.id)
    for role in (Role.operator, Role.reviewer, Role.agent):
        api = api_as(role)
        assert api.get(f"/plans/{plan['id']}").status_code == 200
        assert api.post("/plans", json=plan_body(owner.id, title=f"{role}的预案")).status_code == 403
        assert api.put(f"/plans/{plan['id']}", json=plan_body(owner.id)).status_code == 403
    assert api_as(Role.integration).get("/plans").status_code == 403
    assert api_as(Role.operator).client.get("/api/v1/plans").status_code == 401
    assert api_as(Role.admin).get("/plans").json["total"] == 1


def test_bad_input_names_the_field_and_changes_nothing(api_as, make_user):
    manager = api_as(Role.duty_manager)
    owner, _ = make_user(Role.duty_manager)
    machine, _ = make_user(Role.integration)
    create_plan(manager, owner.id)
    cases = [
        (plan_body(owner.id, title="别的预案", review_due_on="2027-02-30"), "review_due_on"),
        (plan_body(owner.id, title=""), "title"),
        (plan_body(10**6, title="无主预案"), "owner_id"),
        (plan_body(machine.id, title="机器预案"), "owner_id"),
        (plan_body(owner.id), "title"),                      # the same title again
        ({**plan_body(owner.id, title="x"), "owner_id": "1"}, "owner_id"),
    ]
    for body, field in cases:
        response = manager.post("/plans", json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in str(response.json), (field, response.json)
    assert manager.get("/plans").json["total"] == 1
    assert manager.get("/plans/999999").status_code == 404


def _plan_events(incident_id: int) -> list[TimelineEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(TimelineEvent).where(
        TimelineEvent.incident_id == incident_id, TimelineEvent.kind == "plan_cited").order_by(TimelineEvent.id)))


def test_an_incident_cites_plans_on_declaration_and_later_once_each(api_as, operator_api, make_user):
    manager = api_as(Role.duty_manager)
    owner, _ = make_user(Role.duty_manager)
    first = create_plan(manager, owner.id)
    second = create_plan(manager, owner.id, title="宽带中断应急预案")

    incident = factories.declared(operator_api, plan_ids=[first["id"]])
    assert [p["title"] for p in incident["plans"]] == [first["title"]]
    cited = operator_api.post(f"/incidents/{incident['id']}/plans", json={"plan_ids": [second["id"], first["id"]]})
    assert cited.status_code == 200, cited.json
    assert [p["id"] for p in cited.json] == [first["id"], second["id"]]
    assert [e.message for e in _plan_events(incident["id"])] == [
        f"引用应急预案「{first['title']}」", f"引用应急预案「{second['title']}」"]   # citing again adds nothing

    detail = manager.get(f"/plans/{first['id']}").json
    assert [(i["number"], i["drill"]) for i in detail["incidents"]] == [(incident["number"], False)]
    assert [p["title"] for p in operator_api.get(f"/incidents/{incident['id']}/plans").json] == [
        first["title"], second["title"]]


def test_the_analysis_report_names_the_cited_plans(api_as, operator_api, make_user):
    owner, _ = make_user(Role.duty_manager)
    plan = create_plan(api_as(Role.duty_manager), owner.id)
    incident = factories.incident_in(Status.recovered, owner, plan_ids=[plan["id"]])
    for fmt in ("md", "html"):
        report = operator_api.get(f"/incidents/{incident.id}/analysis-report?format={fmt}")
        assert report.status_code == 200
        text = report.get_data(as_text=True)
        assert "引用应急预案" in text and plan["title"] in text and "【演练】" not in text


def test_citing_is_refused_for_unknown_plans_a_closed_incident_and_the_wrong_role(api_as, operator_api, make_user):
    manager = api_as(Role.duty_manager)
    owner, _ = make_user(Role.duty_manager)
    plan = create_plan(manager, owner.id)
    refused = factories.post_incident(operator_api, plan_ids=[plan["id"], 4242])
    assert refused.status_code == 422 and "plan_ids" in str(refused.json)
    assert operator_api.get("/incidents").json["total"] == 0                  # the declaration changed nothing

    incident = factories.declared(operator_api)
    assert api_as(Role.reviewer).post(f"/incidents/{incident['id']}/plans",
                                      json={"plan_ids": [plan["id"]]}).status_code == 403
    assert operator_api.post(f"/incidents/{incident['id']}/plans", json={"plan_ids": []}).status_code == 422
    manager.post(f"/incidents/{incident['id']}/cancel", json={"reason": "误报"})
    late = operator_api.post(f"/incidents/{incident['id']}/plans", json={"plan_ids": [plan["id"]]})
    assert late.status_code == 409 and _plan_events(incident["id"]) == []
