"""Migration 0018 seeds the catalog, maps the spellings it knows and lists the codes it does not."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.catalog import service as catalog
from app.extensions import db
from tests.test_migrations import unmigrated_url  # noqa: F401 - the fixture: an empty database per backend

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def test_0018_maps_known_spellings_and_lists_unknown_codes(unmigrated_url, capsys):  # noqa: F811
    application = create_app({"SQLALCHEMY_DATABASE_URI": unmigrated_url, "TESTING": True})
    with application.app_context():
        upgrade(revision=_revision_before("0018"))  # whatever the chain puts before it
        _rows_before_0018()
        upgrade()
        printed = capsys.readouterr().out
        assert "火星" in printed and "5G切片" in printed
        tables = sa.MetaData()
        tables.reflect(db.engine, only=("subscribers", "subscriber_services", "incidents"))
        with db.engine.connect() as connection:
            regions = dict(connection.execute(sa.select(tables.tables["subscribers"].c.phone,
                                                        tables.tables["subscribers"].c.region)).all())
            services = sorted(connection.execute(sa.select(tables.tables["subscriber_services"])).all())
            scope = connection.execute(sa.select(tables.tables["incidents"].c.services,
                                                 tables.tables["incidents"].c.regions)).one()
        assert regions == {"+8613800000001": "杭州", "+8613800000002": "西湖区", "+8613800000003": "火星"}
        assert services == [(1, "broadband"), (2, "broadband"), (2, "mobile_data"), (3, "5G切片")]
        assert (scope.services, scope.regions) == (["mobile_data", "5G切片"], ["杭州", "火星", "全网"])
        listed = {(u.kind, u.code, u.source, u.occurrences) for u in catalog.unmapped_codes()}
        assert listed == {("region", "火星", "subscribers.region", 1),
                          ("service", "5G切片", "subscriber_services.service", 1),
                          ("service", "5G切片", "incidents.services", 1),
                          ("region", "火星", "incidents.regions", 1)}
        assert catalog.unknown("region", ["杭州", "柯桥区", "浙江"]) == []
        db.session.remove()
        db.engine.dispose()


def _revision_before(revision: str) -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_revision(revision).down_revision


def _rows_before_0018() -> None:
    """Free-text codes as they stood: a pinyin city, a district, Chinese service names, a duplicate, nonsense."""
    tables = sa.MetaData()
    tables.reflect(db.engine, only=("users", "incidents", "subscribers", "subscriber_services"))
    users, incidents, subscribers, services = (tables.tables[n] for n in
                                               ("users", "incidents", "subscribers", "subscriber_services"))
    with db.engine.begin() as connection:
        user_id = connection.execute(users.insert().values(
            name="值班员", role="operator", on_call=False, active=True, created_at=NOW)).inserted_primary_key[0]
        for n, region in enumerate(("Hangzhou", "西湖区", "火星"), start=1):
            connection.execute(subscribers.insert().values(
                id=n, phone=f"+861380000000{n}", name="", region=region, monthly_fee_fen=0, language="zh-CN",
                created_at=NOW, updated_at=NOW))
        connection.execute(services.insert(), [
            {"subscriber_id": 1, "service": "宽带"}, {"subscriber_id": 2, "service": "宽带"},
            {"subscriber_id": 2, "service": "broadband"}, {"subscriber_id": 2, "service": "Mobile Data"},
            {"subscriber_id": 3, "service": "5G切片"}])
        connection.execute(incidents.insert().values(
            number="INC-20261130-0001", title="旧故障", description="", services=["移动数据", "5G切片"],
            regions=["杭州市", "火星", "全网"], level=3, proposed_level=3, major=False, status="declared",
            detected_at=NOW, policy_version="v1+abc", created_by=user_id, created_at=NOW, updated_at=NOW,
            row_version=1))
