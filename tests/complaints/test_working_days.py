"""Working-day limits on the PRC calendar (RULES §8), hand-computed.

2026 around 中秋/国庆 (State Council arrangement): Fri 09-25 中秋 off; Sun 09-20 worked (调休);
10-01..10-07 off; Sat 10-10 worked (调休). Times are Asia/Shanghai (+08:00).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.complaints.limits import at_appeal, at_registration
from app.complaints.working_days import WorkingCalendar, add_working_days
from app.config import DEFAULT_POLICY_PATH
from app.policy import load_policy, parse_policy
from app.scheduling.models import ComplaintDeadlineKind as Kind

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(DEFAULT_POLICY_PATH)
CALENDAR = WorkingCalendar()


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def due(limits, kind: Kind) -> datetime:
    return next(limit.due_at for limit in limits if limit.kind is kind).astimezone(SHANGHAI)


def test_the_calendar_knows_2026_holidays_and_make_up_days():
    assert not CALENDAR.is_working_day(date(2026, 9, 25))   # 中秋, a Friday
    assert not CALENDAR.is_working_day(date(2026, 10, 7))   # 国庆
    assert CALENDAR.is_working_day(date(2026, 9, 20))       # Sunday worked (调休)
    assert CALENDAR.is_working_day(date(2026, 10, 10))      # Saturday worked (调休)
    assert not CALENDAR.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_billing_complaint_received_thursday_before_mid_autumn_and_national_day():
    """Thu 09-24 16:00. Billing feedback: 72 h → Sun 09-27 16:00 (hours run through holidays).
    Written feedback, 10 working days: 09-28(1) 09-29(2) 09-30(3) [10-01..07 off] 10-08(4) 10-09(5)
    10-10 Sat 调休(6) [10-11 Sun] 10-12(7) 10-13(8) 10-14(9) 10-15(10) → Thu 10-15 16:00."""
    limits = at_registration("billing", local("2026-09-24T16:00"), POLICY)
    assert due(limits, Kind.feedback) == local("2026-09-27T16:00")
    assert due(limits, Kind.written_feedback) == local("2026-10-15T16:00")
    assert due(limits, Kind.register) == local("2026-09-25T16:00")
    assert Kind.investigate not in {limit.kind for limit in limits}  # billing has no investigation limit


def test_appeal_accepted_on_the_eve_of_national_day():
    """Wed 09-30 10:00. Investigation 5: 10-08(1) 10-09(2) 10-10 调休(3) 10-12(4) 10-13(5) → 10-13 10:00.
    Review 10: 10-14(6) 10-15(7) 10-16(8) 10-19(9) 10-20(10) → 10-20 10:00.
    Close 15: 10-21(11) 10-22(12) 10-23(13) 10-26(14) 10-27(15) → 10-27 10:00."""
    limits = at_appeal(local("2026-09-30T10:00"), POLICY)
    assert due(limits, Kind.appeal_investigation) == local("2026-10-13T10:00")
    assert due(limits, Kind.appeal_review) == local("2026-10-20T10:00")
    assert due(limits, Kind.appeal_close) == local("2026-10-27T10:00")


def test_a_moment_on_a_make_up_saturday_is_a_working_day():
    """Sat 10-10 09:30 is worked (调休): one working day later is Mon 10-12 09:30."""
    assert add_working_days(local("2026-10-10T09:30"), 1, SHANGHAI, CALENDAR) == local("2026-10-12T09:30")


def test_a_moment_on_a_holiday_counts_from_midnight_of_the_next_working_day():
    """Sat 10-03 (国庆) 15:00 → counts from Thu 10-08 00:00; 5 working days: 10-09(1) 10-10(2) 10-12(3)
    10-13(4) 10-14(5) → Wed 10-14 00:00."""
    assert add_working_days(local("2026-10-03T15:00"), 5, SHANGHAI, CALENDAR) == local("2026-10-14T00:00")


def test_friday_ten_working_days_is_the_second_friday_after():
    """RULES §8's own example, in a week with no holiday: Fri 2026-11-06 10:00 → Fri 11-20 10:00."""
    assert add_working_days(local("2026-11-06T10:00"), 10, SHANGHAI, CALENDAR) == local("2026-11-20T10:00")


def test_a_year_the_library_does_not_know_comes_from_the_policy():
    """chinesecalendar 1.11 stops at 2026; the operator lists 2027's arrangement in the policy."""
    raw = {**POLICY.data, "working_days": {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-02"]}}}
    policy = parse_policy(raw)
    from app.complaints.working_days import calendar_for

    calendar = calendar_for(policy)
    assert not calendar.knows(2028) and calendar.knows(2027)
    assert not calendar.is_working_day(date(2027, 1, 1))   # Friday, listed as a holiday
    assert calendar.is_working_day(date(2027, 1, 2))       # Saturday, listed as worked
    # Thu 2026-12-31 09:00 + 1 → Sat 2027-01-02 09:00 (Fri 01-01 off, Sat worked).
    assert add_working_days(local("2026-12-31T09:00"), 1, SHANGHAI, calendar) == local("2027-01-02T09:00")
    assert policy.version != POLICY.version


def test_a_year_known_to_neither_counts_monday_to_friday():
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2030, 1, 1))   # a Tuesday: no data, so a working day
    assert not calendar.is_working_day(date(2030, 1, 5))


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 30)),
       days=st.integers(min_value=1, max_value=15))
def test_a_working_day_limit_never_ends_on_a_non_working_day(moment, days):
    start = moment.replace(tzinfo=timezone.utc)
    end = add_working_days(start, days, SHANGHAI, CALENDAR)
    end_local = end.astimezone(SHANGHAI)
    assert CALENDAR.is_working_day(end_local.date())
    assert end > start
    # Exactly ``days`` working days lie after the start's day, up to and including the end's day.
    first = start.astimezone(SHANGHAI).date()
    counted = sum(CALENDAR.is_working_day(first + timedelta(days=i))
                  for i in range(1, (end_local.date() - first).days + 1))
    starts_on_working_day = CALENDAR.is_working_day(first)
    assert counted == (days if starts_on_working_day else days + 1)
