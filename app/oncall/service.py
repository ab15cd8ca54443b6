"""The roster (值班表): who is on duty now at each tier, the shifts of a window, and replacing them.

Every function that writes owns its transaction (commits); readers never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from app.auth.models import User
from app.clock import utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.oncall.models import OncallShift, Tier


@dataclass(frozen=True)
class ShiftInput:
    user_id: int
    tier: Tier
    starts_at: datetime
    ends_at: datetime


def people_on_duty(tier: Tier, at: datetime | None = None) -> list[User]:
    """The active users with a shift at ``tier`` covering ``at`` (default now), by name."""
    at = at or utcnow()
    return list(db.session.scalars(
        select(User).join(OncallShift, OncallShift.user_id == User.id)
        .where(OncallShift.tier == int(tier), OncallShift.starts_at <= at, OncallShift.ends_at > at,
               User.active.is_(True))
        .distinct().order_by(User.name)
    ))


def staff_with_phone(phone: str) -> User | None:
    """The active staff member with this E.164 phone (an SMS reply from staff acknowledges an alert)."""
    return db.session.scalar(select(User).where(User.phone == phone, User.active.is_(True)).order_by(User.id).limit(1))


def on_duty_now(at: datetime | None = None) -> dict[Tier, list[User]]:
    """Each tier with its people on duty at ``at`` (one query for all tiers)."""
    at = at or utcnow()
    rows = db.session.execute(
        select(OncallShift.tier, User).join(User, User.id == OncallShift.user_id)
        .where(OncallShift.starts_at <= at, OncallShift.ends_at > at, User.active.is_(True))
        .order_by(OncallShift.tier, User.name)
    ).all()
    duty: dict[Tier, list[User]] = {tier: [] for tier in Tier}
    for tier, user in rows:
        if user not in duty[Tier(tier)]:
            duty[Tier(tier)].append(user)
    return duty


def shifts_in(window_from: datetime, window_to: datetime) -> list[tuple[OncallShift, User]]:
    """The shifts overlapping [window_from, window_to), by start then tier, with their person."""
    return list(db.session.execute(
        select(OncallShift, User).join(User, User.id == OncallShift.user_id)
        .where(OncallShift.starts_at < window_to, OncallShift.ends_at > window_from)
        .order_by(OncallShift.starts_at, OncallShift.tier, User.name)
    ).tuples())


def replace_roster(window_from: datetime, window_to: datetime, shifts: list[ShiftInput],
                   actor: User) -> list[tuple[OncallShift, User]]:
    """Replace the shifts starting in [window_from, window_to) by ``shifts`` (which must start there).

    Refused whole (422 naming the field, nothing changed) for a window or shift that ends before it
    starts, a shift starting outside the window, an unknown or inactive user or one without a phone
    (an alert could not reach them), or a shift overlapping another of the same person and tier.
    """
    if window_to <= window_from:
        raise InvalidInput("to", "窗口结束时间须晚于开始时间 (to must be after from)")
    _check_shifts(window_from, window_to, shifts)
    db.session.execute(delete(OncallShift).where(
        OncallShift.starts_at >= window_from, OncallShift.starts_at < window_to))
    _check_no_overlap_with_kept(shifts)
    now = utcnow()
    db.session.add_all(OncallShift(user_id=s.user_id, tier=int(s.tier), starts_at=s.starts_at, ends_at=s.ends_at,
                                   created_at=now, created_by=actor.id) for s in shifts)
    db.session.commit()
    return shifts_in(window_from, window_to)


def add_shift(shift: ShiftInput, actor: User) -> OncallShift:
    """Add one shift (the console's form), validated as :func:`replace_roster` validates each shift."""
    _check_shifts(shift.starts_at, shift.ends_at, [shift])
    _check_no_overlap_with_kept([shift])
    row = OncallShift(user_id=shift.user_id, tier=int(shift.tier), starts_at=shift.starts_at, ends_at=shift.ends_at,
                      created_at=utcnow(), created_by=actor.id)
    db.session.add(row)
    db.session.commit()
    return row


def rosterable_people() -> list[User]:
    """Active staff with a phone, by name: whom a shift may name."""
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.phone.is_not(None))
                                   .order_by(User.name)))


def _check_shifts(window_from: datetime, window_to: datetime, shifts: list[ShiftInput]) -> None:
    users = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_({s.user_id for s in shifts})))} if shifts else {}
    for index, shift in enumerate(shifts):
        field = f"shifts.{index}"
        if shift.ends_at <= shift.starts_at:
            raise InvalidInput(f"{field}.ends_at", "班次结束时间须晚于开始时间 (ends_at must be after starts_at)")
        if not window_from <= shift.starts_at < window_to:
            raise InvalidInput(f"{field}.starts_at", "班次须在所替换的时间窗口内开始 (shift must start inside the window)")
        user = users.get(shift.user_id)
        if user is None or not user.active:
            raise InvalidInput(f"{field}.user_id", f"用户 {shift.user_id} 不存在或已停用 (unknown or inactive user)")
        if not user.phone:
            raise InvalidInput(f"{field}.user_id", f"用户 {user.name} 没有手机号，无法接收告警 (user has no phone)")
    for index, shift in enumerate(shifts):
        for other in shifts[:index]:
            if _overlap(shift, other):
                raise InvalidInput(f"shifts.{index}", "同一人同一级别的班次重叠 (overlaps another shift of the same "
                                                      "person and tier)")


def _check_no_overlap_with_kept(shifts: list[ShiftInput]) -> None:
    """A new shift must not overlap a kept one (starting outside the window) of the same person and tier."""
    for index, shift in enumerate(shifts):
        clash = db.session.scalar(select(OncallShift.id).where(
            OncallShift.user_id == shift.user_id, OncallShift.tier == int(shift.tier),
            OncallShift.starts_at < shift.ends_at, OncallShift.ends_at > shift.starts_at).limit(1))
        if clash is not None:
            db.session.rollback()
            raise InvalidInput(f"shifts.{index}", "与窗口外已有的同一人同一级别班次重叠 (overlaps a shift outside "
                                                  "the window)")


def _overlap(a: ShiftInput, b: ShiftInput) -> bool:
    return a.user_id == b.user_id and a.tier == b.tier and a.starts_at < b.ends_at and b.starts_at < a.ends_at
