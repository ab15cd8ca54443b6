"""One pagination for every list: ``page`` and ``per_page`` in, ``items`` and ``total`` out."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from app.extensions import db

MAX_PER_PAGE = 500


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_envelope_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A response schema {items, total, page, per_page} around ``item_schema``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
        },
        name=name,
    )


def paginate(query: Select, page: int, per_page: int, *, scalars: bool = True, total: int | None = None) -> dict:
    """``total``: when the caller already knows it (e.g. kept counts), the list is not counted again."""
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    paged = query.limit(per_page).offset((page - 1) * per_page)
    items = db.session.scalars(paged).all() if scalars else db.session.execute(paged).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}
