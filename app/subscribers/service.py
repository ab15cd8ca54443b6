"""Subscribers: create or update one, and the affected list of an incident."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.catalog import service as catalog
from app.clock import utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.incidents.models import Incident
from app.phones import InvalidPhone, to_e164
from app.policy import current_policy
from app.subscribers.affected import affected_subscriber_ids
from app.subscribers.models import Subscriber, SubscriberService


def fee_to_fen(value: Decimal | str) -> int:
    """CNY with at most two decimals -> integer fen, exactly."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("月费不是有效金额 (monthly_fee is not a decimal amount)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("月费不能为负 (monthly_fee must not be negative)")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError("月费最多两位小数 (monthly_fee has more than two decimals)")
    if fen > 10**12:
        raise ValueError("月费过大 (monthly_fee is too large)")
    return int(fen)


def upsert_subscriber(*, phone: str, name: str, region: str, services: list[str], monthly_fee,
                      language: str = "zh-CN") -> tuple[Subscriber, bool]:
    """Create the subscriber, or update the one with this number; returns (subscriber, created)."""
    try:
        e164 = to_e164(phone)
    except InvalidPhone as exc:
        raise InvalidInput("phone", str(exc)) from None
    try:
        fen = fee_to_fen(monthly_fee)
    except ValueError as exc:
        raise InvalidInput("monthly_fee", str(exc)) from None
    wanted = list(dict.fromkeys(s.strip() for s in services if s.strip()))
    catalog.require_regions("region", [region.strip()])
    catalog.require_services("services", wanted)
    now = utcnow()
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.phone == e164).with_for_update())
    created = subscriber is None
    if created:
        subscriber = Subscriber(phone=e164, created_at=now)
        db.session.add(subscriber)
    subscriber.name, subscriber.region, subscriber.monthly_fee_fen = name.strip(), region.strip(), fen
    subscriber.language, subscriber.updated_at = language, now
    subscriber.service_rows = [row for row in subscriber.service_rows if row.service in wanted]
    have = {row.service for row in subscriber.service_rows}
    subscriber.service_rows.extend(SubscriberService(service=s) for s in wanted if s not in have)
    db.session.commit()
    return subscriber, created


def affected_page(incident: Incident, page: int, per_page: int) -> dict:
    from app.pagination import paginate

    ids = affected_subscriber_ids(incident.services, incident.regions, current_policy()).subquery()
    query = (select(Subscriber).where(Subscriber.id.in_(select(ids.c.id)))
             .options(selectinload(Subscriber.service_rows)).order_by(Subscriber.id))
    result = paginate(query, page, per_page)
    return {"count": result["total"], **result}


def subscriber_by_phone(e164: str) -> tuple[int, str] | None:
    """(id, region) of the subscriber with this E.164 number, or None: one unique-index lookup."""
    row = db.session.execute(select(Subscriber.id, Subscriber.region).where(Subscriber.phone == e164)).first()
    return (row.id, row.region) if row else None
