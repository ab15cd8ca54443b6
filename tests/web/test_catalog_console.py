"""The catalog in the console: its page, and the declare form taking catalog names only."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.incidents.models import Incident

FORM = {"title": "杭州宽带中断", "services": "宽带", "regions": "杭州市、Ningbo"}


def test_declare_takes_catalog_names_and_refuses_unknown_ones_by_name(operator):
    page = operator.post("/incidents/new", FORM, token_from="/incidents/new")
    assert page.status_code == 302, page.get_data(as_text=True)
    incident = db.session.scalar(select(Incident))
    assert (incident.services, incident.regions) == (["broadband"], ["杭州", "宁波"])
    for services, regions, named in (("宽带", "杭州 宁波", "杭州 宁波"), ("5G切片", "杭州", "5G切片"),
                                     ("宽带", "火星", "火星")):
        refused = operator.post("/incidents/new", {**FORM, "services": services, "regions": regions},
                                token_from="/incidents/new")
        assert refused.status_code == 422 and named in refused.get_data(as_text=True)
    assert len(db.session.scalars(select(Incident)).all()) == 1
    form = operator.get("/incidents/new").get_data(as_text=True)
    assert '<option value="西湖区">西湖区（杭州）</option>' in form


def test_the_catalog_page_shows_the_tree_and_only_an_admin_how_to_edit(operator, browser_as):
    page = operator.get("/catalog").get_data(as_text=True)
    assert "杭州市" in page and "西湖区" in page and "宽带" in page and "景宁畲族自治县" in page
    assert "PUT /api/v1/catalog/regions" not in page and "未映射" not in page
    admin = browser_as(Role.admin).get("/catalog").get_data(as_text=True)
    assert "PUT /api/v1/catalog/regions" in admin and "未映射的历史代码" in admin


def test_the_complaint_form_takes_region_and_service_by_name(browser_as):
    from app.complaints.models import Complaint

    agent = browser_as(Role.agent)
    form = {"phone": "13700137000", "name": "李娜", "channel": "phone", "category": "service_quality", "grade": "1",
            "content": "上网很慢", "region": "西湖区", "service": "移动数据"}
    assert agent.post("/complaints/new", form, token_from="/complaints/new").status_code == 302
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.region, complaint.service) == ("西湖区", "mobile_data")
    refused = agent.post("/complaints/new", {**form, "region": "火星"}, token_from="/complaints/new")
    assert refused.status_code == 422 and "火星" in refused.get_data(as_text=True)
