"""The catalog: read by any signed-in role, changed by an admin, and the codes every input must use."""
from __future__ import annotations

import pytest

from app.auth.models import Role
from app.catalog import service as catalog
from tests import factories

HANGZHOU_DISTRICTS = {"上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区",
                      "临安区", "桐庐县", "淳安县", "建德市"}


def test_every_role_reads_the_shipped_services_and_zhejiang_tree(app_ctx, api_as):
    for role in Role:
        api = api_as(role)
        services = api.get("/catalog/services")
        assert services.status_code == 200, role
        assert {"code": "broadband", "name_zh": "宽带", "name_en": "broadband", "active": True} in services.json
    regions = api_as(Role.reviewer).get("/catalog/regions").json
    by_code = {r["code"]: r for r in regions}
    assert by_code["浙江"]["level"] == "province" and by_code["浙江"]["parent_code"] is None
    assert {r["code"] for r in regions if r["parent_code"] == "浙江"} == {
        "杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"}
    assert {r["code"] for r in regions if r["parent_code"] == "杭州"} == HANGZHOU_DISTRICTS
    assert by_code["柯桥区"] == {"code": "柯桥区", "name_zh": "柯桥区", "name_en": "Keqiao", "level": "district",
                                 "parent_code": "绍兴", "level_label": "区县"}


def test_the_tree_format_nests_cities_and_districts(app_ctx, operator_api):
    tree = operator_api.get("/catalog/regions?format=tree").json
    assert [p["code"] for p in tree] == ["浙江"]
    hangzhou = next(c for c in tree[0]["children"] if c["code"] == "杭州")
    assert {d["code"] for d in hangzhou["children"]} == HANGZHOU_DISTRICTS
    assert operator_api.get("/catalog/regions?format=nested").status_code == 422


def test_only_an_admin_puts_services_or_regions(app_ctx, api_as):
    body = {"services": [{"code": "5g_slice", "name_zh": "5G切片", "name_en": "5G slicing"}]}
    for role in (Role.operator, Role.duty_manager, Role.reviewer, Role.agent, Role.integration):
        assert api_as(role).put("/catalog/services", json=body).status_code == 403, role
        assert api_as(role).put("/catalog/regions", json={"regions": []}).status_code == 403, role
    assert catalog.unknown("service", ["5g_slice"]) == ["5g_slice"]
    admin = api_as(Role.admin)
    assert admin.put("/catalog/services", json=body).json == {"services": 1}
    assert catalog.unknown("service", ["5g_slice"]) == []
    # An update renames; retiring makes the code unknown for new input.
    admin.put("/catalog/services", json={"services": [{"code": "5g_slice", "name_zh": "5G 网络切片",
                                                        "name_en": "5G slicing", "active": False}]})
    row = next(s for s in admin.get("/catalog/services").json if s["code"] == "5g_slice")
    assert (row["name_zh"], row["active"]) == ("5G 网络切片", False)
    assert catalog.unknown("service", ["5g_slice"]) == ["5g_slice"]


def test_put_regions_adds_a_district_under_a_known_city(app_ctx, api_as):
    admin = api_as(Role.admin)
    body = {"regions": [{"code": "新区", "name_zh": "新区", "name_en": "Xinqu", "level": "district",
                         "parent_code": "杭州"}]}
    assert admin.put("/catalog/regions", json=body).status_code == 200
    factories.subscriber(region="新区")
    incident = factories.declared(admin, regions=["杭州"])
    assert admin.get(f"/incidents/{incident['id']}/affected").json["count"] == 1


@pytest.mark.parametrize("entry, field, fragment", [
    ({"code": "新区", "name_zh": "新区", "name_en": "X", "level": "district", "parent_code": "火星"},
     "regions[1].parent_code", "火星"),
    ({"code": "新区", "name_zh": "新区", "name_en": "X", "level": "district", "parent_code": "浙江"},
     "regions[1].parent_code", "city"),
    ({"code": "新省", "name_zh": "新省", "name_en": "X", "level": "province", "parent_code": "浙江"},
     "regions[1].parent_code", "province"),
    ({"code": "新市", "name_zh": "新市", "name_en": "X", "level": "city"}, "regions[1].parent_code", "parent"),
    ({"code": "杭州", "name_zh": "杭州市", "name_en": "Hangzhou", "level": "district", "parent_code": "宁波"},
     "regions[1].level", "child region"),  # would strand its districts
])
def test_a_bad_region_entry_is_a_422_naming_it_and_nothing_changes(app_ctx, api_as, entry, field, fragment):
    admin = api_as(Role.admin)
    fine = {"code": "好区", "name_zh": "好区", "name_en": "Fine", "level": "district", "parent_code": "宁波"}
    response = admin.put("/catalog/regions", json={"regions": [fine, entry]})
    assert response.status_code == 422, response.json
    assert field in response.json["message"] and fragment in response.json["message"]
    assert catalog.unknown("region", ["好区"]) == ["好区"]
    assert next(r for r in admin.get("/catalog/regions").json if r["code"] == "杭州")["level"] == "city"


def test_bad_put_bodies_name_the_entry(app_ctx, api_as):
    admin = api_as(Role.admin)
    response = admin.put("/catalog/services", json={"services": [
        {"code": "ok", "name_zh": "好", "name_en": "ok"}, {"code": "5G 切片", "name_zh": "x", "name_en": "x"}]})
    assert response.status_code == 422
    assert "code" in response.json["errors"]["json"]["services"]["1"]
    duplicate = admin.put("/catalog/services", json={"services": [
        {"code": "ok", "name_zh": "好", "name_en": "ok"}, {"code": "ok", "name_zh": "好", "name_en": "ok"}]})
    assert duplicate.status_code == 422 and "services[1].code" in duplicate.json["message"]
    level = admin.put("/catalog/regions", json={"regions": [{"code": "x", "name_zh": "x", "name_en": "x",
                                                             "level": "town", "parent_code": "杭州"}]})
    assert level.status_code == 422 and "level" in level.json["errors"]["json"]["regions"]["0"]
    assert catalog.unknown("service", ["ok"]) == ["ok"]


def test_unmapped_codes_are_the_admins_to_see_until_the_catalog_knows_them(app_ctx, api_as):
    from app.catalog.models import CatalogUnmappedCode
    from app.clock import utcnow
    from app.extensions import db

    db.session.add_all([CatalogUnmappedCode(kind=kind, code=code, source=source, occurrences=2, listed_at=utcnow())
                        for kind, code, source in (("region", "火星", "subscribers.region"),
                                                   ("service", "5g_slice", "incidents.services"))])
    db.session.commit()
    assert api_as(Role.operator).get("/catalog/unmapped").status_code == 403
    admin = api_as(Role.admin)
    assert [(u["code"], u["occurrences"]) for u in admin.get("/catalog/unmapped").json] == [("火星", 2), ("5g_slice", 2)]
    admin.put("/catalog/services", json={"services": [{"code": "5g_slice", "name_zh": "5G切片", "name_en": "5G slicing"}]})
    assert [u["code"] for u in admin.get("/catalog/unmapped").json] == ["火星"]
