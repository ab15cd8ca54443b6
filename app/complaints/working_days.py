"""Working days of the People's Republic of China (RULES §8) and limits counted in them.

The calendar is the ``chinesecalendar`` package (public holidays and the official 调休
make-up working weekends, as published by the State Council each year) plus the policy's
``[working_days.YYYY]`` entries, which win: an operator adds a year the package does not
know yet, or corrects one, without a code change. A year known to neither counts Monday to
Friday, with a warning in the log, so a complaint is never refused for want of a calendar.
"""
from __future__ import annotations

import functools
import logging
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar

from app.policy import Policy

log = logging.getLogger(__name__)


class WorkingCalendar:
    def __init__(self, entries: dict[str, dict[str, list[str]]] | None = None) -> None:
        self._holidays: set[date] = set()
        self._workdays: set[date] = set()
        self._years: set[int] = set()
        for year, days in (entries or {}).items():
            self._years.add(int(year))
            self._holidays.update(date.fromisoformat(d) for d in days.get("holidays", []))
            self._workdays.update(date.fromisoformat(d) for d in days.get("workdays", []))
        self._warned: set[int] = set()

    def is_working_day(self, day: date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if day.year not in self._years:
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                self._warn_unknown(day.year)
        return day.weekday() < 5

    def knows(self, year: int) -> bool:
        """The package or the policy has this year's official arrangement."""
        if year in self._years:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _warn_unknown(self, year: int) -> None:
        if year not in self._warned:
            self._warned.add(year)
            log.warning("no PRC calendar for %s (chinesecalendar %s, policy [working_days]): counting Monday-Friday",
                        year, getattr(chinese_calendar, "__version__", "?"))


@functools.lru_cache(maxsize=8)
def _calendar(entries_key: tuple) -> WorkingCalendar:
    return WorkingCalendar({year: {"holidays": list(h), "workdays": list(w)} for year, h, w in entries_key})


def calendar_for(policy: Policy) -> WorkingCalendar:
    entries = policy.data.get("working_days", {})
    key = tuple(sorted((year, tuple(days["holidays"]), tuple(days["workdays"])) for year, days in entries.items()))
    return _calendar(key)


def add_working_days(moment: datetime, days: int, zone: ZoneInfo, calendar: WorkingCalendar) -> datetime:
    """``days`` working days from ``moment`` (RULES §8), as aware UTC.

    Ends at the same clock time (in ``zone``) on the ``days``-th working day after the
    moment's day; a moment on a non-working day counts from 00:00 of the next working day.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    local = moment.astimezone(zone)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    if not calendar.is_working_day(day):
        day, clock = calendar.next_working_day(day), time(0, 0)
    for _ in range(days):
        day = calendar.next_working_day(day)
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.utc)


def working_days_after(moment: datetime, days: int, policy: Policy) -> datetime:
    return add_working_days(moment, days, policy.zone, calendar_for(policy))
