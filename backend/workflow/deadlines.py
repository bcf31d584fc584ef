"""Deadlines and working days.

A deadline is a moment in Vietnam time ("hạn xử lý 17:00 27/11/2026"); a date alone means the
end of that working day. Stored in UTC (SQLite keeps UTC wall time, without a zone), shown in
Hà Nội time. Working days skip weekends and the configured public holidays.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from backend.core.clock import VIETNAM, as_utc
from backend.core.errors import ValidationError
from backend.core.settings import SettingsError

# Office hours of state bodies commonly end at 17:00; a deadline given as a date alone means
# then (EOFFICE_DEADLINE_TIME changes it for forms; code that passes a bare date gets this).
END_OF_DAY = time(17, 0)


def due_at(day: date, at: time | None = None, *, end_of_day: time = END_OF_DAY) -> datetime:
    """The deadline on `day` at `at` (Hà Nội time; the end of the day when not given), in UTC."""
    return datetime.combine(day, at or end_of_day, tzinfo=VIETNAM).astimezone(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(VIETNAM)


def local_day(moment: datetime) -> date:
    return local(moment).date()


def normalize(deadline: date | datetime | None) -> datetime | None:
    """A deadline as stored: a datetime in UTC; a bare date means END_OF_DAY on that day."""
    if deadline is None:
        return None
    if isinstance(deadline, datetime):  # an API's naive value is taken as UTC
        return as_utc(deadline)
    return due_at(deadline)


def label(moment: datetime | None) -> str:
    """The way a deadline is written in Vietnamese documents: "17:00 27/11/2026"."""
    return local(moment).strftime("%H:%M %d/%m/%Y") if moment else ""


def parse(day: str, at: str = "", *, end_of_day: time = END_OF_DAY) -> datetime | None:
    """A form's date (YYYY-MM-DD) and optional time (HH:MM) → the deadline, or None."""
    day, at = day.strip(), at.strip()
    if not day:
        if at:
            raise ValidationError("Hãy chọn ngày của hạn xử lý.", "Choose the deadline's date.")
        return None
    try:
        return due_at(
            date.fromisoformat(day), time.fromisoformat(at) if at else None, end_of_day=end_of_day
        )
    except ValueError:
        raise ValidationError("Hạn xử lý không hợp lệ.", "Invalid deadline.") from None


def parse_holidays(raw: str) -> frozenset[date]:
    days: set[date] = set()
    for part in raw.replace(";", ",").split(","):
        if part.strip():
            try:
                days.add(date.fromisoformat(part.strip()))
            except ValueError:
                raise SettingsError(f"holidays: {part.strip()!r} is not an ISO date") from None
    return frozenset(days)


@dataclass(frozen=True)
class Calendar:
    holidays: Collection[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (0: `start` itself, or the next working day)."""
        day = start
        while not self.is_working_day(day):
            day += timedelta(days=1)
        for _ in range(days):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return day

    def escalation_due(self, deadline: datetime, margin_days: int) -> datetime:
        """When a still-open deadline is `margin_days` working days late: the same hour of the
        `margin_days`-th working day after the deadline's day."""
        moment = local(deadline)
        day = moment.date()
        for _ in range(margin_days):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return datetime.combine(day, moment.timetz()).astimezone(UTC)

    def working_days_late(self, deadline: date, today: date) -> int:
        """Working days after `deadline` up to and including `today` (0 when not late)."""
        late, day = 0, deadline + timedelta(days=1)
        while day <= today:
            late += self.is_working_day(day)
            day += timedelta(days=1)
        return late
