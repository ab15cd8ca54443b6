"""Migration 0018's data step, kept beside the catalog it seeds (Core only: no model of today's schema).

Existing codes are few distinct values over many rows, so each distinct value is looked at once
and each rewrite is one set-based UPDATE.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.catalog.seed import CITIES, REGIONS, SERVICE_MARKERS, SERVICES, seed_statements
from app.service_names import SERVICE_NAMES

_subscribers = sa.table("subscribers", sa.column("region", sa.String))
_subscriber_services = sa.table("subscriber_services", sa.column("subscriber_id", sa.Integer),
                                sa.column("service", sa.String))
_incidents = sa.table("incidents", sa.column("id", sa.Integer), sa.column("services", sa.JSON),
                      sa.column("regions", sa.JSON))
_unmapped = sa.table("catalog_unmapped_codes", sa.column("kind", sa.String), sa.column("code", sa.String),
                     sa.column("source", sa.String), sa.column("occurrences", sa.Integer),
                     sa.column("listed_at", sa.DateTime(timezone=True)))


def _key(text: str) -> str:
    return str(text).strip().casefold()


def _variants() -> tuple[dict[str, str], dict[str, str]]:
    """Every other spelling of a code that plainly means it: names in either language, 杭州市 for 杭州."""
    services = {_key(row["code"]): row["code"] for row in SERVICES}
    for names in SERVICE_NAMES.values():
        services.update({_key(name): code for code, name in names.items() if code not in SERVICE_MARKERS})
    regions = {}
    for row in REGIONS:
        regions.update({_key(row["name_en"]): row["code"], _key(row["name_zh"]): row["code"], _key(row["code"]): row["code"]})
    regions.update({_key(f"{city}市"): city for city in CITIES})
    return services, regions


def _markers() -> tuple[set[str], set[str]]:
    """The policy's scope words ("全网", "全业务"): valid in an incident's scope without being in the catalog."""
    try:
        from app.policy import current_policy

        grading = current_policy().grading
        return set(grading["all_services_markers"]), set(grading["all_regions_markers"])
    except Exception:  # noqa: BLE001 - run outside the application: the shipped defaults
        return set(SERVICE_MARKERS) | {"core_network"}, {"全网", "ALL"}


def seed_and_map(connection, services_table, regions_table, now: datetime) -> list[tuple[str, str, str, int]]:
    """Seed the catalog, rewrite the spellings it knows, list (and print) the rest; returns the list."""
    for statement in seed_statements(services_table, regions_table):
        connection.execute(statement)
    service_names, region_names = _variants()
    service_markers, region_markers = _markers()
    unknown: list[tuple[str, str, str, int]] = []
    unknown += _map_column(connection, _subscribers, _subscribers.c.region, region_names, "region", "subscribers.region")
    unknown += _map_subscriber_services(connection, service_names)
    unknown += _map_incidents(connection, service_names | {_key(m): m for m in service_markers},
                              region_names | {_key(m): m for m in region_markers})
    if unknown:
        connection.execute(_unmapped.insert(), [
            {"kind": kind, "code": code[:200], "source": source, "occurrences": count, "listed_at": now}
            for kind, code, source, count in unknown])
        print(f"0018: {len(unknown)} 个未知代码待管理员映射 (unknown codes listed in catalog_unmapped_codes):")
        for kind, code, source, count in unknown:
            print(f"  {kind} {code!r} in {source} ×{count}")
    return unknown


def _map_column(connection, table, column, names, kind, source) -> list:
    unknown = []
    for value, count in connection.execute(sa.select(column, sa.func.count()).group_by(column)).all():
        code = names.get(_key(value))
        if code is None:
            unknown.append((kind, value, source, count))
        elif code != value:
            connection.execute(table.update().where(column == value).values({column.name: code}))
    return unknown


def _map_subscriber_services(connection, names) -> list:
    """Rewrite a service spelling to its code; a subscriber who already has the code keeps one row."""
    table, column = _subscriber_services, _subscriber_services.c.service
    unknown = []
    for value, count in connection.execute(sa.select(column, sa.func.count()).group_by(column)).all():
        code = names.get(_key(value))
        if code is None:
            unknown.append(("service", value, "subscriber_services.service", count))
            continue
        if code == value:
            continue
        other = table.alias("other")
        has_code = sa.exists().where(other.c.subscriber_id == table.c.subscriber_id, other.c.service == code)
        connection.execute(table.delete().where(column == value, has_code))
        connection.execute(table.update().where(column == value).values(service=code))
    return unknown


def _map_incidents(connection, service_names, region_names) -> list:
    """Scopes are short JSON lists on a table of thousands of rows at most: rewritten row by row."""
    counts: dict[tuple[str, str, str], int] = {}
    for incident_id, services, regions in connection.execute(
            sa.select(_incidents.c.id, _incidents.c.services, _incidents.c.regions)).all():
        new_services = _mapped_list(services or [], service_names, "service", "incidents.services", counts)
        new_regions = _mapped_list(regions or [], region_names, "region", "incidents.regions", counts)
        if (new_services, new_regions) != (services, regions):
            connection.execute(_incidents.update().where(_incidents.c.id == incident_id)
                               .values(services=new_services, regions=new_regions))
    return [(kind, code, source, count) for (kind, code, source), count in counts.items()]


def _mapped_list(values: list, names: dict, kind: str, source: str, counts: dict) -> list:
    mapped = []
    for value in values:
        code = names.get(_key(value))
        if code is None:
            counts[(kind, value, source)] = counts.get((kind, value, source), 0) + 1
            code = value
        if code not in mapped:
            mapped.append(code)
    return mapped
