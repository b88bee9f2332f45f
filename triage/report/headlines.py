"""The report's four headline figures against last week, the four weeks before and the targets. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean

from triage.metrics.backlog import Backlog
from triage.metrics.business_hours import BusinessHours
from triage.metrics.conversations import Conversation, started_between
from triage.metrics.response import first_response_figures


@dataclass(frozen=True)
class Targets:
    """What the team aims for (config: report.target_*, drafting.reply_within_hours.complaint)."""

    reply_hours: float = 24.0  # "answered within" counts replies within this many hours
    median_hours: float = 8.0
    within_share: float = 0.9
    backlog: int = 5


@dataclass(frozen=True)
class Headline:
    """One figure: this week, last week, the average of the four weeks before; None: no history."""

    name: str
    kind: str  # count | duration (hours) | share
    this_week: float | None
    last_week: float | None
    four_weeks: float | None
    target: float | None = None  # None: neither good nor bad (the number of conversations)
    higher_is_better: bool = False

    @property
    def on_target(self) -> bool | None:
        if self.target is None or self.this_week is None:
            return None
        return self.this_week >= self.target if self.higher_is_better else self.this_week <= self.target


@dataclass(frozen=True)
class _Period:
    conversations: float
    median_hours: float | None
    within_share: float | None
    backlog: float | None


def headlines(
    threads: Sequence[Conversation],
    backlog: Backlog,
    start: datetime,
    now: datetime,
    hours: BusinessHours,
    targets: Targets,
) -> tuple[Headline, ...]:
    """Conversations, median first response, share answered within target, backlog at week end."""
    week = timedelta(days=7)

    def has_history(end: datetime) -> bool:
        return backlog.known_from is not None and end > backlog.known_from

    this = (
        _period(threads, backlog, start, start + week, now, hours, targets)
        if has_history(start + week)
        else None
    )
    known = [
        _period(threads, backlog, start - k * week, start - (k - 1) * week, now, hours, targets)
        for k in range(1, 5)
        if has_history(start - (k - 1) * week)
    ]
    last, four = (known[0] if known else None), None
    if known:  # the four weeks before: the average week, and response times over all of them
        pooled = _period(threads, backlog, start - len(known) * week, start, now, hours, targets)
        backlogs = [p.backlog for p in known if p.backlog is not None]
        four = _Period(
            mean(p.conversations for p in known),
            pooled.median_hours,
            pooled.within_share,
            mean(backlogs) if backlogs else None,
        )

    def figure(name: str, value: str, kind: str, target: float | None, higher: bool = False) -> Headline:
        this_week, last_week, four_weeks = (getattr(p, value) if p else None for p in (this, last, four))
        return Headline(name, kind, this_week, last_week, four_weeks, target, higher)

    return (
        figure("Conversations", "conversations", "count", None),
        figure("First response, median", "median_hours", "duration", targets.median_hours),
        figure(
            f"Answered within {targets.reply_hours:g} h",
            "within_share",
            "share",
            targets.within_share,
            True,
        ),
        figure("Waiting at week end", "backlog", "count", targets.backlog),
    )


def _period(
    threads: Sequence[Conversation],
    backlog: Backlog,
    start: datetime,
    end: datetime,
    now: datetime,
    hours: BusinessHours,
    targets: Targets,
) -> _Period:
    figures = first_response_figures(started_between(threads, start, end), hours, targets.reply_hours)
    waiting = backlog.at(min(end, now))
    return _Period(figures.conversations, figures.median_hours, figures.within_target, waiting)
