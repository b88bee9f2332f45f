"""The team's working hours and days, for response times and promises. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SEARCH_DAYS = 800  # a promise never looks further ahead than this (two years of holidays)


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
        total = timedelta(0)
        for open_at, close_at in self._periods(start, end.astimezone(ZoneInfo(self.timezone)).date()):
            lower, upper = max(open_at, start), min(close_at, end)
            if upper > lower:
                total += upper - lower
        return total

    def promise(self, now: datetime, hours: float) -> datetime:
        """When a customer can be told they will hear back: `now + hours` if the team works
        then, else the close of the working period before it; but never before the team has
        had `hours` of working time on it (at most one working day), and always inside working
        hours.

        A 24-hour promise made on Tuesday at 22:48 is Wednesday 17:00; made on Friday at 15:00,
        Monday 15:00; a 4-hour promise made at 20:19 is 13:00 on the next working day. With no
        working time at all (no working days, or the day ends before it starts) it is `now + hours`.
        """
        deadline = now + timedelta(hours=hours)
        day_length = datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)
        if day_length <= timedelta(0):
            return deadline
        worked = self.after_working_time(now, min(timedelta(hours=hours), day_length))
        if worked is None:
            return deadline
        before = self.working_until(deadline)
        return worked if before is None else max(worked, before)

    def working_until(self, moment: datetime) -> datetime | None:
        """`moment` when the team works then (opening and closing included), else the close of
        the last working period before it; None when there is none within SEARCH_DAYS."""
        zone = ZoneInfo(self.timezone)
        day = moment.astimezone(zone).date()
        for _ in range(SEARCH_DAYS):
            if day.weekday() in self.working_days and day not in self.holidays:
                open_at = datetime.combine(day, self.start, zone)
                if open_at <= moment:
                    return min(datetime.combine(day, self.end, zone), moment)
            day -= timedelta(days=1)
        return None

    def after_working_time(self, start: datetime, amount: timedelta) -> datetime | None:
        """The moment by which `amount` of working time has passed since `start`."""
        left = amount
        for open_at, close_at in self._periods(start, None):
            lower = max(open_at, start)
            if close_at < lower:
                continue
            if lower + left <= close_at:
                return lower + left
            left -= close_at - lower
        return None

    def _periods(self, start: datetime, last_day: date | None) -> Iterator[tuple[datetime, datetime]]:
        """The working periods (opening, closing) of each working day from `start`'s day on,
        in the team's zone, up to `last_day` (or SEARCH_DAYS ahead)."""
        zone = ZoneInfo(self.timezone)
        day = start.astimezone(zone).date()
        last = last_day or day + timedelta(days=SEARCH_DAYS)
        while day <= last:
            if day.weekday() in self.working_days and day not in self.holidays:
                yield datetime.combine(day, self.start, zone), datetime.combine(day, self.end, zone)
            day += timedelta(days=1)
