"""Reference data: service codes and the region tree.

Table and column names are a contract: the subscriber CSV import checks imported codes against
them in SQL, so rename nothing here without it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime
from app.extensions import db
from app.labels import LabeledEnum


class RegionLevel(LabeledEnum):
    province = "province", "省", "province"
    city = "city", "地市", "city"
    district = "district", "区县", "district"


# A region's parent must be one level up; a province has none.
PARENT_LEVEL = {RegionLevel.province: None, RegionLevel.city: RegionLevel.province,
                RegionLevel.district: RegionLevel.city}


class CatalogService(db.Model):
    __tablename__ = "catalog_services"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    # Retired, not deleted: old incidents and subscribers still name it, new input may not.
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CatalogRegion(db.Model):
    __tablename__ = "catalog_regions"
    __table_args__ = (
        CheckConstraint("level IN ('province', 'city', 'district')", name="level_known"),
        CheckConstraint("(level = 'province') = (parent_code IS NULL)", name="only_provinces_at_the_top"),
        # Expanding a scope downwards (city → its districts) walks this index.
        Index("ix_catalog_regions_parent_code", "parent_code"),
    )

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("catalog_regions.code"))


class CatalogUnmappedCode(db.Model):
    """A code found in existing data that the catalog does not know: kept for an admin to map
    (migration 0018 lists them) rather than silently lost or silently kept."""

    __tablename__ = "catalog_unmapped_codes"
    __table_args__ = (UniqueConstraint("kind", "code", "source"),
                      CheckConstraint("kind IN ('service', 'region')", name="kind_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))      # service | region
    code: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(60))    # e.g. subscribers.region, incidents.services
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime())
