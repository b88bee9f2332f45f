"""The team's working hours and days, for response times and promises. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when end <= start)."""
        if end <= start:
            return timedelta(0)
        zone = ZoneInfo(self.timezone)
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        total = timedelta(0)
        day = local_start.date()
        while day <= local_end.date():
            if day.weekday() in self.working_days and day not in self.holidays:
                open_at = datetime.combine(day, self.start, zone)
                close_at = datetime.combine(day, self.end, zone)
                lower, upper = max(open_at, local_start), min(close_at, local_end)
                if upper > lower:
                    total += upper - lower
            day += timedelta(days=1)
        return total
