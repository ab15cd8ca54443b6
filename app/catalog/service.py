"""The catalog's one door: read it, check codes against it, change it (admin), list unmapped codes.

Other domains ask here (``require_services``, ``require_regions``, ``regions_within``) and never
read the catalog tables themselves; the subscriber CSV import is the one exception, checking a
whole file in SQL against ``catalog_services`` / ``catalog_regions`` by their documented names.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Select, bindparam, func, or_, select, union
from sqlalchemy.orm import aliased

from app.catalog.models import (PARENT_LEVEL, CatalogRegion, CatalogService, CatalogUnmappedCode,
                                RegionLevel)
from app.errors import InvalidInput
from app.extensions import db
from app.sql import dialect_insert

_LEVEL_ORDER = {level.value: index for index, level in enumerate(RegionLevel)}


# --- reading -----------------------------------------------------------------------------------

def services(active_only: bool = False) -> list[CatalogService]:
    query = select(CatalogService).order_by(CatalogService.code)
    return list(db.session.scalars(query.where(CatalogService.active) if active_only else query))


def regions() -> list[CatalogRegion]:
    """Every region, provinces first, then cities, then districts (each level by English name)."""
    rows = db.session.scalars(select(CatalogRegion)).all()
    return sorted(rows, key=lambda r: (_LEVEL_ORDER.get(r.level, 9), r.name_en.casefold(), r.code))


def region_tree() -> list[dict]:
    """The regions as nested dicts (``children``), roots first: for the console and ``?format=tree``."""
    rows = regions()
    nodes = {r.code: {"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "level": r.level,
                      "parent_code": r.parent_code, "children": []} for r in rows}
    roots = []
    for row in rows:
        parent = nodes.get(row.parent_code) if row.parent_code else None
        (parent["children"] if parent else roots).append(nodes[row.code])
    return roots


def unmapped_codes() -> list[CatalogUnmappedCode]:
    """The codes migration 0018 listed that the catalog still does not know (one an admin has since
    added to the catalog is mapped, and drops off)."""
    known_service = select(CatalogService.code).where(CatalogService.code == CatalogUnmappedCode.code).exists()
    known_region = select(CatalogRegion.code).where(CatalogRegion.code == CatalogUnmappedCode.code).exists()
    return list(db.session.scalars(
        select(CatalogUnmappedCode)
        .where(~(((CatalogUnmappedCode.kind == "service") & known_service)
                 | ((CatalogUnmappedCode.kind == "region") & known_region)))
        .order_by(CatalogUnmappedCode.kind, CatalogUnmappedCode.source, CatalogUnmappedCode.code)))


# --- checking codes ----------------------------------------------------------------------------

def unknown(kind: str, codes: Iterable[str], allowed: Iterable[str] = ()) -> list[str]:
    """The codes (in their given order) the catalog does not know; ``allowed`` are extra words
    accepted as they are (the policy's scope markers "全网", "全业务"). A retired service is unknown."""
    wanted = list(dict.fromkeys(codes))
    extra = set(allowed)
    candidates = [c for c in wanted if c not in extra]
    if not candidates:
        return []
    if kind == "service":
        query = select(CatalogService.code).where(CatalogService.code.in_(candidates), CatalogService.active)
    else:
        query = select(CatalogRegion.code).where(CatalogRegion.code.in_(candidates))
    known = set(db.session.scalars(query))
    return [c for c in candidates if c not in known]


def require_services(field: str, codes: Iterable[str], allowed: Iterable[str] = ()) -> None:
    missing = unknown("service", codes, allowed)
    if missing:
        raise InvalidInput(field, f"未知的业务代码「{'」「'.join(missing)}」(unknown service code: {', '.join(missing)}; "
                                  "see GET /api/v1/catalog/services)")


def require_regions(field: str, codes: Iterable[str], allowed: Iterable[str] = ()) -> None:
    missing = unknown("region", codes, allowed)
    if missing:
        raise InvalidInput(field, f"未知的区域代码「{'」「'.join(missing)}」(unknown region code: {', '.join(missing)}; "
                                  "see GET /api/v1/catalog/regions)")


def regions_within(codes: list[str]) -> list[str]:
    """Every region code the given ones cover: themselves (known to the catalog or not: an old
    incident may name a code it never had), a city's districts, a province's cities and their
    districts. One query, two steps down the ``parent_code`` index (the tree is three levels deep).

    Expanded before the affected set's statement rather than inside it: with the codes written
    out, PostgreSQL estimates each one from its statistics and probes ``subscribers.region``'s
    index for a district; with a subquery it guessed and scanned the table (bench/catalog_scope.py:
    2.4x slower for one district)."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    below = db.session.execute(_BELOW, {"codes": wanted}).scalars().all()
    return wanted + sorted(set(below) - set(wanted))


# Built once: a scope is expanded on every count and fan-out, and building the statement cost more
# than running it (bench/catalog_scope.py prints the expansion alone).
_regions = CatalogRegion.__table__.c
_BELOW = select(_regions.code).where(or_(
    _regions.parent_code.in_(bindparam("codes", expanding=True)),
    _regions.parent_code.in_(select(_regions.code).where(_regions.parent_code.in_(bindparam("codes", expanding=True)))
                             .scalar_subquery())))


def ancestors_of(region) -> Select:
    """SELECT of the codes above ``region`` (a bound value or column): its city and province."""
    own, parent = aliased(CatalogRegion), aliased(CatalogRegion)
    return union(
        select(own.parent_code).where(own.code == region, own.parent_code.is_not(None)),
        select(parent.parent_code).join(own, own.parent_code == parent.code)
        .where(own.code == region, parent.parent_code.is_not(None)),
    )


# --- changing the catalog (admin) --------------------------------------------------------------

def put_services(entries: list[dict]) -> dict:
    """Add or update each service (by code); services not named are left as they are. Retire one
    with ``active: false``: incidents and subscribers that name it keep it."""
    _no_duplicates("services", entries)
    if entries:
        statement = dialect_insert(CatalogService.__table__).values(
            [{"active": True, **entry} for entry in entries])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["code"], set_={c: statement.excluded[c] for c in ("name_zh", "name_en", "active")}))
    db.session.commit()
    return {"services": len(entries)}


def put_regions(entries: list[dict]) -> dict:
    """Add or update each region (by code), parents before children in any order given; the tree
    must stay province → city → district, else nothing changes and the first bad entry is named."""
    _no_duplicates("regions", entries)
    depth = {e["code"]: _LEVEL_ORDER[e["level"]] for e in entries}
    ordered = sorted(enumerate(entries), key=lambda pair: depth[pair[1]["code"]])
    try:
        for index, entry in ordered:
            _check_parent(index, entry)
            statement = dialect_insert(CatalogRegion.__table__).values(
                code=entry["code"], name_zh=entry["name_zh"], name_en=entry["name_en"], level=entry["level"],
                parent_code=entry.get("parent_code"))
            db.session.execute(statement.on_conflict_do_update(
                index_elements=["code"],
                set_={c: statement.excluded[c] for c in ("name_zh", "name_en", "level", "parent_code")}))
        _check_children(entries)
    except InvalidInput:
        db.session.rollback()
        raise
    db.session.commit()
    return {"regions": len(entries)}


def _no_duplicates(field: str, entries: list[dict]) -> None:
    seen = set()
    for index, entry in enumerate(entries):
        if entry["code"] in seen:
            raise InvalidInput(f"{field}[{index}].code", f"代码「{entry['code']}」重复 (duplicate code)")
        seen.add(entry["code"])


def _check_parent(index: int, entry: dict) -> None:
    expected = PARENT_LEVEL[RegionLevel(entry["level"])]
    parent_code = entry.get("parent_code")
    field = f"regions[{index}].parent_code"
    if expected is None:
        if parent_code:
            raise InvalidInput(field, "省级区域不能有上级 (a province has no parent)")
        return
    if not parent_code:
        raise InvalidInput(field, f"{RegionLevel(entry['level']).label}须有上级{expected.label} (a {entry['level']} "
                                  f"needs a parent {expected.value})")
    parent_level = db.session.scalar(select(CatalogRegion.level).where(CatalogRegion.code == parent_code))
    if parent_level is None:
        raise InvalidInput(field, f"未知的上级区域「{parent_code}」(unknown parent region: {parent_code})")
    if parent_level != expected.value:
        raise InvalidInput(field, f"上级「{parent_code}」须为{expected.label} (the parent of a {entry['level']} "
                                  f"must be a {expected.value}, not a {parent_level})")


def _check_children(entries: list[dict]) -> None:
    """A region whose level changed must not strand the children it already had."""
    codes = [e["code"] for e in entries]
    child, parent = aliased(CatalogRegion), aliased(CatalogRegion)
    stranded = db.session.execute(
        select(parent.code, child.code).join(child, child.parent_code == parent.code)
        .where(parent.code.in_(codes))
        .where(or_(*[(child.level == level.value) & (parent.level != expected.value)
                     for level, expected in PARENT_LEVEL.items() if expected is not None]))).first()
    if stranded is not None:
        index = codes.index(stranded[0])
        raise InvalidInput(f"regions[{index}].level", f"「{stranded[0]}」下已有「{stranded[1]}」，层级不符 "
                                                       f"(would no longer fit its child region {stranded[1]})")


def codes_for(kind: str, texts: list[str]) -> list[str]:
    """What a person typed ("宽带", "Broadband", "杭州市", "Hangzhou", or the code) → catalog codes,
    in one query; text naming nothing is returned as typed, for the check to refuse by name."""
    model = CatalogService if kind == "service" else CatalogRegion
    keys = {text.strip().casefold() for text in texts if text.strip()}
    if not keys:
        return []
    by_name: dict[str, str] = {}
    rows = db.session.execute(select(model.code, model.name_zh, model.name_en).where(or_(
        model.code.in_([t.strip() for t in texts]), model.name_zh.in_([t.strip() for t in texts]),
        func.lower(model.name_en).in_(keys)))).all()
    for code, name_zh, name_en in rows:
        by_name.update({code.casefold(): code, name_zh.casefold(): code, name_en.casefold(): code})
    return list(dict.fromkeys(by_name.get(t.strip().casefold(), t.strip()) for t in texts if t.strip()))


def city_of(region):
    """SQL: the city a region code belongs to (a district's parent; a city or anything else as it is)."""
    parent = (select(CatalogRegion.parent_code)
              .where(CatalogRegion.code == region, CatalogRegion.level == RegionLevel.district.value)
              .scalar_subquery())
    return func.coalesce(parent, region)
