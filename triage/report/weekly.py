"""The weekly inbox-health report: figures for one ISO week, as text and as HTML. Pure.

Charts arrive as PNG bytes keyed by content-id; the HTML refers to them as `cid:` so a
mail client shows them with no external images. Table layout and inline styles only,
so Gmail and Outlook render it the same.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from triage.domain import LABELS
from triage.metrics.acceptance import ACCEPTANCE
from triage.metrics.business_hours import BusinessHours
from triage.metrics.conversations import Conversation
from triage.metrics.fires import Fire
from triage.metrics.response import ResponseFigures, first_response_figures


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
    backlog: dict[date, int | None]  # day -> the day's highest open count (None: no snapshot)
    inbox_zero_days: tuple[date, ...]
    oldest_open: tuple[tuple[str, str, float], ...]  # (customer, subject, age in hours)
    escalations: int
    corrections: int
    acceptance: dict[str, dict[str, int]]  # template -> sent as is / lightly edited / ...
    fires: tuple[Fire, ...] = ()  # recurring problems of the week: what the team learned
    escalations_resolved: int = 0
    open_items: tuple[OpenItem, ...] = ()  # as of when the report was made, oldest first


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
    snapshots: Sequence[tuple[datetime, int, float | None]],
    corrections: int,
    hours: BusinessHours,
    target_hours: float,
    now: datetime,
    acceptance: dict[str, dict[str, int]] | None = None,
    fires: Sequence[Fire] = (),
    escalations_resolved: int = 0,
    open_items: Sequence[OpenItem] = (),
) -> WeekReport:
    start, end = week_bounds(week, zone)
    tz = ZoneInfo(zone)
    days = tuple((start + timedelta(days=i)).date() for i in range(7))
    volume: dict[date, dict[str, int]] = {day: dict.fromkeys(LABELS, 0) for day in days}
    for m in inbound:
        if start <= m.at < end and m.label in LABELS:
            volume[m.at.astimezone(tz).date()][m.label] += 1

    def started_within(lo: datetime, hi: datetime) -> list[Conversation]:
        return [t for t in threads if (first := t.first_customer_message) and lo <= first.at < hi]

    backlog: dict[date, int | None] = dict.fromkeys(days)
    for at, count, _ in snapshots:
        day = at.astimezone(tz).date()
        if day in backlog:
            backlog[day] = max(count, backlog[day] or 0)
    zero_days = tuple(
        day for day in days if any(c == 0 for at, c, _ in snapshots if at.astimezone(tz).date() == day)
    )
    as_of = min(now, end)
    open_threads = [(since, t) for t in threads if (since := t.waiting_since()) and since < as_of]
    oldest = tuple(
        (t.customer, t.subject, round((as_of - since).total_seconds() / 3600, 1))
        for since, t in sorted(open_threads, key=lambda pair: pair[0])[:5]
    )
    return WeekReport(
        week=week,
        start=start,
        days=days,
        volume=volume,
        this_week=first_response_figures(started_within(start, end), hours, target_hours),
        last_week=first_response_figures(
            started_within(start - timedelta(days=7), start), hours, target_hours
        ),
        backlog=backlog,
        inbox_zero_days=zero_days,
        oldest_open=oldest,
        escalations=sum(v["escalation"] for v in volume.values()),
        corrections=corrections,
        acceptance=acceptance or {},
        fires=tuple(fires),
        escalations_resolved=escalations_resolved,
        open_items=tuple(open_items),
    )


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def summary_rows(r: WeekReport, target_hours: float) -> list[tuple[str, str, str]]:
    """(figure, this week, last week) rows shared by the text and HTML versions."""
    return [
        ("Conversations started", str(r.this_week.conversations), str(r.last_week.conversations)),
        ("Answered", str(r.this_week.answered), str(r.last_week.answered)),
        ("First response, median", _hours(r.this_week.median_hours), _hours(r.last_week.median_hours)),
        ("First response, p90", _hours(r.this_week.p90_hours), _hours(r.last_week.p90_hours)),
        (
            "First response, median in business hours",
            _hours(r.this_week.median_business_hours),
            _hours(r.last_week.median_business_hours),
        ),
        (
            f"Answered within {target_hours:g} h",
            _share(r.this_week.within_target),
            _share(r.last_week.within_target),
        ),
    ]


def render_text(r: WeekReport, target_hours: float, team: str) -> str:
    lines = [f"Inbox health, {team}, week {r.week} (from {r.start:%A %-d %B %Y})", ""]
    lines += [f"{name:<44} {this:>10} {last:>10}" for name, this, last in [("", "this week", "last week")]]
    lines += [f"{name:<44} {this:>10} {last:>10}" for name, this, last in summary_rows(r, target_hours)]
    lines += ["", "Volume per day (complaint / small_fix / escalation):"]
    for day in r.days:
        v = r.volume[day]
        lines.append(f"  {day:%a %d %b}: {v['complaint']} / {v['small_fix']} / {v['escalation']}")
    zero = ", ".join(f"{d:%a}" for d in r.inbox_zero_days) or "none"
    lines += ["", f"Inbox zero reached on: {zero}"]
    lines += [f"Escalations received: {r.escalations}, resolved: {r.escalations_resolved}"]
    lines += [f"Model corrections by the team: {r.corrections}", "", "Oldest open conversations:"]
    lines += [f"  {age:>6.1f} h  {who}: {subject}" for who, subject, age in r.oldest_open] or [
        "  none: all answered"
    ]
    lines += ["", "Complaints and escalations not yet resolved (owner, state, reminders sent):"]
    lines += [
        f"  {i.age_hours:>6.1f} h  {i.label}: {i.subject} ({i.customer}); {i.owner}, {_state(i.state)},"
        f" {i.reminders} reminders"
        for i in r.open_items
    ] or ["  none: every complaint and escalation is resolved"]
    lines += ["", "Recurring problems this week (what we learned):"]
    for fire in r.fires:
        lines.append(
            f"  {fire.count} messages, {fire.first_seen:%a %H:%M} to {fire.last_seen:%a %H:%M}: "
            + "; ".join(fire.subjects or ("(no subject)",))
        )
        lines.append(
            f"    solved by: {_snippet(fire.solution)}" if fire.solution else "    no reply has solved it yet"
        )
    if not r.fires:
        lines.append("  none: no problem came up three times or more")
    lines += ["", "Drafts the team sent (as is / lightly edited / rewritten / not used):"]
    lines += [
        f"  {template}: " + " / ".join(str(row[k]) for k in ACCEPTANCE)
        for template, row in sorted(r.acceptance.items())
    ] or ["  no replies to drafted messages this week"]
    if not any(sum(v.values()) for v in r.volume.values()):
        lines += ["", "No customer mail arrived this week."]
    return "\n".join(lines) + "\n"


def render_html(r: WeekReport, target_hours: float, team: str, image_sources: Sequence[str]) -> str:
    """The report as HTML; `image_sources` are `cid:...` (email) or `data:` URIs (a file)."""
    e = html.escape
    cell = 'style="padding:4px 10px;border-bottom:1px solid #ddd;font-family:Arial,sans-serif;font-size:14px"'
    rows = "".join(
        f'<tr><td {cell}>{e(n)}</td><td {cell} align="right">{e(a)}</td>'
        f'<td {cell} align="right">{e(b)}</td></tr>'
        for n, a, b in summary_rows(r, target_hours)
    )
    oldest = (
        "".join(
            f"<tr><td {cell}>{age:.1f} h</td><td {cell}>{e(who)}</td><td {cell}>{e(subject)}</td></tr>"
            for who, subject, age in r.oldest_open
        )
        or f'<tr><td {cell} colspan="3">None: every conversation has an answer.</td></tr>'
    )
    open_items = (
        "".join(
            f"<tr><td {cell}>{i.age_hours:.1f} h</td><td {cell}>{e(i.label)}</td><td {cell}>{e(i.subject)}"
            f" ({e(i.customer)})</td><td {cell}>{e(i.owner)}</td><td {cell}>{e(_state(i.state))}</td>"
            f'<td {cell} align="right">{i.reminders}</td></tr>'
            for i in r.open_items
        )
        or f'<tr><td {cell} colspan="6">None: every complaint and escalation is resolved.</td></tr>'
    )
    charts = "".join(
        f'<tr><td><img src="{e(src)}" width="600" alt="chart" style="display:block"></td></tr>'
        for src in image_sources
    )
    zero = ", ".join(f"{d:%A}" for d in r.inbox_zero_days) or "none"
    accepted = (
        "".join(
            f"<tr><td {cell}>{e(template)}</td>"
            + "".join(f'<td {cell} align="right">{row[k]}</td>' for k in ACCEPTANCE)
            + "</tr>"
            for template, row in sorted(r.acceptance.items())
        )
        or f'<tr><td {cell} colspan="5">No replies to drafted messages this week.</td></tr>'
    )
    header = "".join(f"<td {cell}><b>{e(k)}</b></td>" for k in ACCEPTANCE)
    fires = (
        "".join(
            f"<tr><td {cell}>{fire.count}</td>"
            f"<td {cell}>{fire.first_seen:%a %H:%M} to {fire.last_seen:%a %H:%M}</td>"
            f"<td {cell}>{e('; '.join(fire.subjects) or '(no subject)')}</td>"
            f"<td {cell}>{e(_snippet(fire.solution)) if fire.solution else 'not solved yet'}</td></tr>"
            for fire in r.fires
        )
        or f'<tr><td {cell} colspan="4">None: no problem came up three times or more.</td></tr>'
    )
    return f"""<!DOCTYPE html>
<html><body style="margin:0;padding:0">
<table width="640" cellpadding="0" cellspacing="0" border="0" style="font-family:Arial,sans-serif">
<tr><td style="padding:12px 0;font-size:20px"><b>Inbox health: {e(team)}, week {e(r.week)}</b></td></tr>
<tr><td><table cellpadding="0" cellspacing="0" border="0">
<tr><td {cell}></td><td {cell}><b>this week</b></td><td {cell}><b>last week</b></td></tr>{rows}
</table></td></tr>
{charts}
<tr><td style="padding:12px 0;font-size:14px">Inbox zero reached on: {e(zero)}.
Escalations received: {r.escalations}, resolved: {r.escalations_resolved}.
Model corrections by the team: {r.corrections}.</td></tr>
<tr><td style="padding:8px 0;font-size:16px"><b>Oldest open conversations</b></td></tr>
<tr><td><table cellpadding="0" cellspacing="0" border="0">{oldest}</table></td></tr>
<tr><td style="padding:8px 0;font-size:16px"><b>Not yet resolved: owner and state</b></td></tr>
<tr><td><table cellpadding="0" cellspacing="0" border="0">{open_items}</table></td></tr>
<tr><td style="padding:8px 0;font-size:16px"><b>Recurring problems: what we learned</b></td></tr>
<tr><td><table cellpadding="0" cellspacing="0" border="0">{fires}</table></td></tr>
<tr><td style="padding:8px 0;font-size:16px"><b>Which drafts help: what the team sent</b></td></tr>
<tr><td><table cellpadding="0" cellspacing="0" border="0">
<tr><td {cell}></td>{header}</tr>{accepted}</table></td></tr>
</table></body></html>
"""


def _state(state: str) -> str:
    return "waiting on the customer" if state == "waiting_on_customer" else "waiting on us"


def _snippet(text: str | None, length: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[:length].rsplit(" ", 1)[0] + " ..."


def volume_totals(r: WeekReport) -> Counter[str]:
    total: Counter[str] = Counter()
    for day in r.days:
        total.update(r.volume[day])
    return total
