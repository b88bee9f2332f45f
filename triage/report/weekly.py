"""The weekly inbox-health report's figures for one ISO week. Pure: "now" is a parameter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from triage.domain import LABELS
from triage.metrics.backlog import Backlog, DayBacklog, daily_backlog, waits
from triage.metrics.business_hours import BusinessHours
from triage.metrics.conversations import Conversation, started_between
from triage.metrics.fires import Fire
from triage.metrics.response import ResponseFigures, first_response_figures, first_responses
from triage.report.headlines import Headline, Targets, headlines


@dataclass(frozen=True)
class Inbound:
    """A customer message as the report sees it."""

    message_id: str
    label: str | None
    subject: str
    sender: str
    at: datetime


@dataclass(frozen=True)
class OpenItem:
    """A complaint or escalation not yet resolved when the report was made."""

    label: str
    customer: str
    subject: str
    owner: str
    state: str  # open | waiting_on_customer
    age_hours: float
    reminders: int


@dataclass(frozen=True)
class WeekReport:
    week: str  # ISO week, e.g. 2026-W47
    start: datetime
    days: tuple[date, ...]
    volume: dict[date, dict[str, int]]  # day -> label -> count
    this_week: ResponseFigures
    last_week: ResponseFigures
    backlog: dict[date, DayBacklog | None]  # None: no history and no snapshot that day
    inbox_zero_days: tuple[date, ...]
    oldest_open: tuple[tuple[str, str, float], ...]  # (customer, subject, hours waited) at week end
    escalations: int
    corrections: int
    acceptance: dict[str, dict[str, int]]  # template -> sent as is / lightly edited / ...
    fires: tuple[Fire, ...] = ()  # recurring problems of the week: what the team learned
    escalations_resolved: int = 0
    open_items: tuple[OpenItem, ...] = ()  # as of when the report was made, oldest first
    headlines: tuple[Headline, ...] = ()
    targets: Targets = Targets()
    response_hours: tuple[float, ...] = ()  # first responses to the week's conversations, in hours
    unanswered: int = 0  # the week's conversations with no reply yet


def week_bounds(week: str, zone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 of an ISO week (YYYY-Www) in the team's zone."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    start = datetime.combine(monday, clock_time(0), ZoneInfo(zone))
    return start, start + timedelta(days=7)


def iso_week(moment: datetime) -> str:
    year, number, _ = moment.isocalendar()
    return f"{year}-W{number:02d}"


def build(
    week: str,
    zone: str,
    inbound: Sequence[Inbound],
    threads: Sequence[Conversation],
    snapshots: Sequence[tuple[datetime, int]],
    watched_since: datetime | None,
    corrections: int,
    hours: BusinessHours,
    targets: Targets,
    now: datetime,
    acceptance: dict[str, dict[str, int]] | None = None,
    fires: Sequence[Fire] = (),
    escalations_resolved: int = 0,
    open_items: Sequence[OpenItem] = (),
) -> WeekReport:
    """The week's figures. The backlog is rebuilt from the mail (`threads`), refined by the week's
    `snapshots` (moment, open count); `watched_since` is the first snapshot ever taken."""
    start, end = week_bounds(week, zone)
    tz = ZoneInfo(zone)
    days = tuple((start + timedelta(days=i)).date() for i in range(7))
    volume: dict[date, dict[str, int]] = {day: dict.fromkeys(LABELS, 0) for day in days}
    for m in inbound:
        if start <= m.at < end and m.label in LABELS:
            volume[m.at.astimezone(tz).date()][m.label] += 1

    stretches = waits(threads)
    backlog = Backlog.of(stretches, watched_since)
    daily = daily_backlog(backlog, snapshots, days, zone, now)
    as_of = min(now, end)
    waiting = sorted((w for w in stretches if w.covers(as_of)), key=lambda w: w.since)
    started = started_between(threads, start, end)
    return WeekReport(
        week=week,
        start=start,
        days=days,
        volume=volume,
        this_week=first_response_figures(started, hours, targets.reply_hours),
        last_week=first_response_figures(
            started_between(threads, start - timedelta(days=7), start), hours, targets.reply_hours
        ),
        backlog=daily,
        inbox_zero_days=tuple(day for day in days if (d := daily[day]) and d.inbox_zero),
        oldest_open=tuple(
            (w.customer, w.subject, (as_of - w.since).total_seconds() / 3600) for w in waiting[:5]
        ),
        escalations=sum(v["escalation"] for v in volume.values()),
        corrections=corrections,
        acceptance=acceptance or {},
        fires=tuple(fires),
        escalations_resolved=escalations_resolved,
        open_items=tuple(open_items),
        headlines=headlines(threads, backlog, start, now, hours, targets),
        targets=targets,
        response_hours=tuple(
            (reply - first).total_seconds() / 3600 for first, reply in first_responses(started)
        ),
        unanswered=sum(1 for t in started if t.first_response is None),
    )
