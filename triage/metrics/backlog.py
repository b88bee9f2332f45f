"""The backlog rebuilt from the mail: how many conversations waited for the team at any moment. Pure.

A conversation waits from its oldest unanswered customer message until the team's next reply
(from Sent, an `\\Answered` flag, or team mail in the inbox), so the count at any moment follows
from arrival and reply times alone: right for a week triage never watched, and through any
downtime. It is known from the first customer message (or the first poll, if earlier) on;
before that there is no history, which is a gap, never a zero. Poll snapshots refine a day
where they exist: a poll that saw nothing waiting is an inbox-zero moment, and a poll's count
can only raise the day's highest.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage.metrics.conversations import Conversation


@dataclass(frozen=True)
class Wait:
    """A stretch of time in which a conversation waited for the team."""

    customer: str
    subject: str
    since: datetime
    until: datetime | None  # the team's reply; None: still waiting

    def covers(self, moment: datetime) -> bool:
        return self.since <= moment and (self.until is None or moment < self.until)


@dataclass(frozen=True)
class DayBacklog:
    """One day's backlog: the most and the fewest conversations waiting at once."""

    highest: int
    lowest: int

    @property
    def inbox_zero(self) -> bool:
        return self.lowest == 0


def waits(threads: Sequence[Conversation]) -> list[Wait]:
    """Every stretch of waiting in these conversations, in no particular order."""
    found = []
    for thread in threads:
        since: datetime | None = None
        for event in thread.events:  # in time order
            if event.from_team and since is not None:
                if event.at > since:
                    found.append(Wait(thread.customer, thread.subject, since, event.at))
                since = None
            elif not event.from_team and since is None:
                since = event.at
        if since is not None:
            found.append(Wait(thread.customer, thread.subject, since, None))
    return found


@dataclass(frozen=True)
class Backlog:
    """The number of conversations waiting, as a step function of time."""

    moments: tuple[datetime, ...]  # when the count changed, ascending
    counts: tuple[int, ...]  # the count from that moment on
    known_from: datetime | None  # the first customer message or poll: no history before it

    @classmethod
    def of(cls, stretches: Sequence[Wait], watched_since: datetime | None = None) -> Backlog:
        """The step function of these stretches; `watched_since` (the first poll's snapshot) makes
        the history start earlier than the first customer message when triage watched before it."""
        deltas: dict[datetime, int] = {}
        for wait in stretches:
            deltas[wait.since] = deltas.get(wait.since, 0) + 1
            if wait.until is not None:
                deltas[wait.until] = deltas.get(wait.until, 0) - 1
        moments, counts, count = [], [], 0
        for moment in sorted(deltas):
            count += deltas[moment]
            moments.append(moment)
            counts.append(count)
        starts = [moment for moment in (moments[:1] + [watched_since]) if moment is not None]
        return cls(tuple(moments), tuple(counts), min(starts, default=None))

    def at(self, moment: datetime) -> int | None:
        """How many waited at `moment`; None before the history starts."""
        if self.known_from is None or moment < self.known_from:
            return None
        index = bisect_right(self.moments, moment) - 1
        return self.counts[index] if index >= 0 else 0

    def extremes(self, start: datetime, end: datetime) -> tuple[int, int] | None:
        """(fewest, most) waiting at once within [start, end); None where there is no history."""
        if self.known_from is None:
            return None
        start = max(start, self.known_from)
        if start >= end:
            return None
        first = self.at(start)
        assert first is not None
        inside = self.counts[bisect_right(self.moments, start) : bisect_left(self.moments, end)]
        return min([first, *inside]), max([first, *inside])


def daily_backlog(
    backlog: Backlog,
    snapshots: Sequence[tuple[datetime, int]],
    days: Sequence[date],
    zone: str,
    now: datetime,
) -> dict[date, DayBacklog | None]:
    """Each day's backlog up to `now`, refined by the polls' snapshots (moment, open count);
    None for a day with neither history nor a snapshot."""
    tz = ZoneInfo(zone)
    result: dict[date, DayBacklog | None] = {}
    for day in days:
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        seen = [count for at, count in snapshots if start <= at < end]
        rebuilt = backlog.extremes(start, min(end, now))
        if rebuilt is None and not seen:
            result[day] = None
            continue
        lows = [rebuilt[0]] if rebuilt else []
        highs = [rebuilt[1]] if rebuilt else []
        result[day] = DayBacklog(highest=max(highs + seen), lowest=min(lows + seen))
    return result
