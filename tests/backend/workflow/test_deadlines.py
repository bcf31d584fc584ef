"""Deadlines: moments in Vietnam time (a date alone means 17:00); working days skip weekends and
configured holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from backend.core.errors import ValidationError
from backend.core.settings import SettingsError
from backend.workflow import deadlines
from backend.workflow.deadlines import Calendar, parse_holidays

# 30 April and 1 May 2026 (Thursday, Friday) are public holidays.
CAL = Calendar(parse_holidays("2026-04-30, 2026-05-01"))


def test_weekends_and_holidays_are_not_working_days() -> None:
    assert CAL.is_working_day(date(2026, 4, 29))
    assert not CAL.is_working_day(date(2026, 4, 30))
    assert not CAL.is_working_day(date(2026, 5, 2))  # Saturday
    assert CAL.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)
    assert CAL.add_working_days(date(2026, 5, 2), 0) == date(2026, 5, 4)


def test_days_late_count_only_working_days() -> None:
    assert CAL.working_days_late(date(2026, 4, 29), date(2026, 4, 29)) == 0
    assert CAL.working_days_late(date(2026, 4, 29), date(2026, 5, 3)) == 0
    assert CAL.working_days_late(date(2026, 4, 29), date(2026, 5, 5)) == 2


def test_a_malformed_holiday_is_refused() -> None:
    with pytest.raises(SettingsError):
        parse_holidays("2026-13-01")


def test_a_deadline_is_a_moment_in_vietnam_time_and_a_date_alone_means_17_00() -> None:
    alone = deadlines.parse("2026-11-27")
    assert alone == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 17:00 at +07:00
    assert deadlines.label(alone) == "17:00 27/11/2026"
    timed = deadlines.parse("2026-11-27", "09:30")
    assert timed == datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    assert deadlines.parse("") is None
    for bad in (("2026-11-31", ""), ("2026-11-27", "25:00"), ("", "10:00")):
        with pytest.raises(ValidationError):
            deadlines.parse(*bad)
    # Stored values come back naive from SQLite (UTC wall time) and aware from PostgreSQL.
    assert deadlines.label(datetime(2026, 11, 27, 10, 0)) == "17:00 27/11/2026"
    assert deadlines.normalize(date(2026, 11, 27)) == alone
    # Late in the evening UTC is already the next day in Hà Nội.
    assert deadlines.local_day(datetime(2026, 11, 27, 18, 0, tzinfo=UTC)) == date(2026, 11, 28)


def test_escalation_is_due_the_margin_in_working_days_after_the_deadline_same_hour() -> None:
    # Wednesday 29 April 2026, 17:00 → one working day later is Monday 4 May (holidays, weekend).
    deadline = deadlines.due_at(date(2026, 4, 29))
    assert CAL.escalation_due(deadline, 1) == deadlines.due_at(date(2026, 5, 4))
    assert CAL.escalation_due(deadline, 0) == deadline
    assert CAL.escalation_due(deadlines.due_at(date(2026, 5, 4), time(9)), 2) == (
        deadlines.due_at(date(2026, 5, 6), time(9))
    )
