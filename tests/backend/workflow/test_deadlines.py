"""Working days: weekends and configured holidays do not count."""

from __future__ import annotations

from datetime import date

import pytest

from backend.settings import SettingsError
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
