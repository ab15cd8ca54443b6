"""Will the notice go out in time? (发送能力预估)

At queuing time, and on the incident page while it sends: N messages × their segments behind
the backlog due before them, at the pool's rate (app/notify/pool.py), against the notice's
deadline; and if the pool is too small, how many identities it would take. Physics, not
policy: 1,000,000 subscribers × 2 UCS-2 segments at a short code's 100 segments/s is 5.6 h.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.notify import statuses
from app.notify.models import Notice, NoticeBatch, NoticeText
from app.notify.pool import IdentityConfig
from app.policy import current_policy
from app.web.timefmt import duration_text


@dataclass(frozen=True)
class PoolPlan:
    segments: int                    # this notice's segments still to send
    backlog_segments: int            # segments due before it (earlier deadlines), sent first
    identities: list[str]            # the pool as it is now
    pool_segments_per_second: float | None   # None: unlimited
    finish_seconds: float | None     # from now, this notice's last segment
    seconds_left: float | None       # until its deadline (None: no deadline)
    meets_deadline: bool | None
    needed_identities: int | None    # the fewest identities (of this pool's rates) that meet it
    text: str

    def as_dict(self) -> dict:
        return asdict(self)


def plan(segments: int, identities: list[IdentityConfig], seconds_left: float | None,
         backlog_segments: int = 0) -> PoolPlan:
    """The projection itself (pure: the unit tests give it numbers)."""
    names = [i.name for i in identities]
    rates = sorted((i.segments_per_second for i in identities), reverse=True)
    count = len(identities)
    if not rates or any(r <= 0 for r in rates):
        return PoolPlan(segments, backlog_segments, names, None, None, seconds_left, None, None,
                        f"按当前{count}个号码，发送不限速" if rates else "未配置发送号码，无法发送")
    total = segments + backlog_segments
    pool_rate = sum(rates)
    finish = total / pool_rate
    head = f"按当前{count}个号码（共{_rate(pool_rate)}段/秒），预计{_duration(finish)}发完"
    if segments == 0:
        return PoolPlan(0, backlog_segments, names, pool_rate, 0.0, seconds_left, True, 0, "已全部发出")
    if seconds_left is None:
        return PoolPlan(segments, backlog_segments, names, pool_rate, finish, None, None, None, head + "（无时限）")
    if seconds_left <= 0:
        return PoolPlan(segments, backlog_segments, names, pool_rate, finish, seconds_left, False, None,
                        head + "，已超过时限")
    needed = _needed(total / seconds_left, rates)
    meets = finish <= seconds_left
    if meets:
        text = f"{head}，在时限内（剩余{_duration(seconds_left)}）"
        if needed < count:
            text += f"；{needed}个号码即可"
    else:
        text = f"{head}，超出时限（剩余{_duration(seconds_left)}）；需要{needed}个号码"
    return PoolPlan(segments, backlog_segments, names, pool_rate, finish, seconds_left, meets, needed, text)


def _needed(required_rate: float, rates: list[float]) -> int:
    """The fewest identities whose rates add up to ``required_rate``: the fastest of the pool
    first, then more like the pool's average."""
    running = 0.0
    for index, rate in enumerate(rates, start=1):
        running += rate
        if running >= required_rate:
            return index
    average = running / len(rates)
    return len(rates) + math.ceil((required_rate - running) / average - 1e-9)


def _duration(seconds: float) -> str:
    return duration_text(math.ceil(seconds / 60)) if seconds >= 60 else "1分钟内"


def _rate(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:g}"


def batch_plan(batch: NoticeBatch, pending: int, identities: list[IdentityConfig], now: datetime) -> PoolPlan:
    """The plan of one notice of an incident: its pending messages at its text's segments
    (helper `personal` will give each message its own count), behind the unfinished notices
    whose deadlines come first."""
    segments = pending * _batch_segments(batch.id)
    seconds_left = (batch.deadline_at - now).total_seconds() if batch.deadline_at else None
    return plan(segments, identities, seconds_left, backlog_segments(batch.deadline_at, batch.id))


def backlog_segments(deadline_at: datetime | None, except_batch: int | None = None) -> int:
    """Segments of the unfinished notices the sender takes before one due at ``deadline_at``.

    Only batches not yet fulfilled with an earlier (or, without a deadline, any) deadline: the
    sender claims by deadline (app/claims.py NOTICES_BY_DEADLINE). Each counts its pending rows
    through ix_notices_pending_batch."""
    query = select(NoticeBatch.id).where(NoticeBatch.fulfilled_at.is_(None), NoticeBatch.deadline_at.is_not(None))
    if deadline_at is not None:
        query = query.where(NoticeBatch.deadline_at <= deadline_at)
    if except_batch is not None:
        query = query.where(NoticeBatch.id != except_batch)
    total = 0
    for batch_id in db.session.scalars(query):
        pending = db.session.scalar(select(func.count()).where(
            Notice.batch_id == batch_id, Notice.status.in_(statuses.PENDING))) or 0
        if pending:
            total += pending * _batch_segments(batch_id)
    return total


def _batch_segments(batch_id: int) -> int:
    """Segments of the batch's text in the default language (what nearly every subscriber gets)."""
    language = current_policy().data["notices"]["default_language"]
    return db.session.scalar(select(func.max(NoticeText.segments)).where(
        NoticeText.batch_id == batch_id, NoticeText.language == language)) or 1
