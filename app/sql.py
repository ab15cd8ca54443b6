"""SQL helpers every domain shares: a row by id or a 404, and the database's own INSERT."""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

from sqlalchemy import BigInteger, select
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import NotFound
from app.extensions import db

Model = TypeVar("Model")
INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def get_or_404(model: type[Model], ident: int, *, label: tuple[str, str], field: str, for_update: bool = False,
               where: Iterable[Any] = ()) -> Model:
    """The ``model`` row with primary key ``ident`` (and ``where``), else NotFound naming ``field``.

    ``label`` is the thing's name (Chinese, English) for the message. An id past the key
    column's range is not found without asking the database: PostgreSQL would fail the
    whole transaction instead (a 500), SQLite would just find nothing.
    """
    key = model.__mapper__.primary_key[0]
    row = None
    if 0 < ident <= (BIGINT_MAX if isinstance(key.type, BigInteger) else INTEGER_MAX):
        query = select(model).where(key == ident, *where)
        row = db.session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        name_zh, name_en = label
        raise NotFound(f"{name_zh} {ident} 不存在 ({name_en} not found)", **{field: ident})
    return row


def dialect_insert(table):
    """INSERT for the session's database, with its ON CONFLICT clauses (PostgreSQL or SQLite)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
