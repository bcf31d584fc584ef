"""Working days: weekends and the configured public holidays are not counted."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.settings import SettingsError


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

    def working_days_late(self, deadline: date, today: date) -> int:
        """Working days after `deadline` up to and including `today` (0 when not late)."""
        late, day = 0, deadline + timedelta(days=1)
        while day <= today:
            late += self.is_working_day(day)
            day += timedelta(days=1)
        return late
