"""The weekly report as HTML a manager reads in a minute, in any mail client at 600 px. Pure.

What Gmail and Outlook keep: tables for layout, inline styles only (no <style>, no external
CSS), no scripts, images by `cid:` in the email or `data:` URIs in a file. Nothing is wider
than 600 px, and every table has at most one column that wraps, so none is squeezed into a
column of single words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from triage.metrics.acceptance import ACCEPTANCE
from triage.report.headlines import Headline
from triage.report.text import summary_rows, target_text, week_span
from triage.report.weekly import WeekReport
from triage.report.wording import change_text, duration, snippet, state_text, value_text

WIDTH = 600
FONT = "font-family:Arial,Helvetica,sans-serif"
CELL = f"padding:6px 8px;border-bottom:1px solid #e0e0e0;{FONT};font-size:14px;vertical-align:top"
NUMBER = f"{CELL};text-align:right;white-space:nowrap"
GREY = "color:#5f6368;font-size:12px"
# background, accent: on target, off target, no target
CARD_COLOURS = {True: ("#e6f4ea", "#1e7e34"), False: ("#fce8e6", "#c5221f"), None: ("#f1f3f4", "#3c4043")}


def render_html(r: WeekReport, team: str, image_sources: Sequence[str]) -> str:
    """The report; `image_sources` are the charts' `cid:...` (email) or `data:` URIs (a file),
    in the order of `charts.render_charts`: volume, backlog, first responses."""
    charts = "".join(
        f'<tr><td style="padding:12px 0 0 0"><img src="{escape(src)}" width="{WIDTH}" alt="{escape(alt)}"'
        f' style="display:block;width:100%;max-width:{WIDTH}px;height:auto;border:0"></td></tr>'
        for src, alt in zip(image_sources, _chart_descriptions(r))
    )
    zero = ", ".join(f"{d:%A}" for d in r.inbox_zero_days) or "none"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Inbox health: {escape(team)}, week {escape(r.week)}</title></head>
<body style="margin:0;padding:0;background:#ffffff">
<table role="presentation" width="{WIDTH}" cellpadding="0" cellspacing="0" border="0"
 style="width:100%;max-width:{WIDTH}px;{FONT};color:#202124">
<tr><td style="padding:12px 8px 0 8px;font-size:20px;font-weight:bold">Inbox health: {escape(team)}</td></tr>
<tr><td style="padding:2px 8px 8px 8px;{GREY}">Week {escape(r.week)}, {escape(week_span(r))}</td></tr>
<tr><td style="padding:0 4px">{_headline_cards(r.headlines)}</td></tr>
{charts}
<tr><td style="padding:12px 8px 0 8px;font-size:14px">Inbox zero reached on: {escape(zero)}.
Escalations received: {r.escalations}, resolved: {r.escalations_resolved}.
Model corrections by the team: {r.corrections}.</td></tr>
{_section("The week in figures", _summary(r))}
{_section("Oldest open conversations at week end", _oldest(r))}
{_section("Not yet resolved: owner and state", _open_items(r))}
{_section("Recurring problems: what we learned", _fires(r))}
{_section("Which drafts help: what the team sent", _acceptance(r))}
</table></body></html>
"""


def _chart_descriptions(r: WeekReport) -> list[str]:
    answered = len(r.response_hours)
    within = sum(h <= r.targets.reply_hours for h in r.response_hours)
    zero = ", ".join(f"{d:%a}" for d in r.inbox_zero_days) or "no day"
    return [
        "Customer mail per day, by class",
        f"Conversations waiting for the team per day; inbox zero reached on {zero}",
        f"First responses: {within} of {answered} within {r.targets.reply_hours:g} h",
    ]


def _headline_cards(headlines: Sequence[Headline]) -> str:
    cards = [_card(h) for h in headlines]
    rows = "".join(
        "<tr>"
        + "".join(f'<td width="50%" style="padding:4px;vertical-align:top">{c}</td>' for c in pair)
        + "</tr>"
        for pair in (cards[i : i + 2] for i in range(0, len(cards), 2))
    )
    return (
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">{rows}</table>'
    )


def _card(h: Headline) -> str:
    background, accent = CARD_COLOURS[h.on_target]
    target = target_text(h)
    notes = [
        *([target] if target else []),
        f"vs last week: {_change(h, h.last_week, 'was')}",
        f"vs the 4 weeks before: {_change(h, h.four_weeks, 'average')}",
    ]
    return (
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'
        f' style="background:{background};border-left:4px solid {accent}">'
        f'<tr><td style="padding:8px 10px 0 10px;{FONT};font-size:13px;color:#3c4043">'
        f"{escape(h.name)}</td></tr>"
        f'<tr><td style="padding:2px 10px;{FONT};font-size:26px;font-weight:bold;color:{accent};'
        f'white-space:nowrap">{escape(value_text(h.kind, h.this_week))}</td></tr>'
        f'<tr><td style="padding:2px 10px 8px 10px;{FONT};{GREY}">{"<br>".join(map(escape, notes))}</td></tr>'
        "</table>"
    )


def _change(h: Headline, then: float | None, word: str) -> str:
    change = change_text(h.kind, h.this_week, then)
    return change if then is None else f"{change} ({word} {value_text(h.kind, then)})"


def _section(title: str, table: str) -> str:
    return (
        f'<tr><td style="padding:18px 8px 4px 8px;font-size:16px;font-weight:bold">{escape(title)}</td></tr>'
        f'<tr><td style="padding:0 4px"><table role="presentation" width="100%" cellpadding="0"'
        f' cellspacing="0" border="0">{table}</table></td></tr>'
    )


def _rows(rows: Iterable[str], empty: str, columns: int) -> str:
    return "".join(rows) or f'<tr><td style="{CELL}" colspan="{columns}">{escape(empty)}</td></tr>'


def _summary(r: WeekReport) -> str:
    header = (
        f'<tr><td style="{CELL}"></td><td style="{NUMBER}"><b>this week</b></td>'
        f'<td style="{NUMBER}"><b>last week</b></td></tr>'
    )
    return header + "".join(
        f'<tr><td style="{CELL}">{escape(name)}</td><td style="{NUMBER}">{escape(this)}</td>'
        f'<td style="{NUMBER}">{escape(last)}</td></tr>'
        for name, this, last in summary_rows(r)
    )


def _subject(subject: str) -> str:
    return f"<b>{escape(subject or '(no subject)')}</b>"


def _oldest(r: WeekReport) -> str:
    return _rows(
        (
            f'<tr><td style="{NUMBER}" width="90">{escape(duration(hours))}</td>'
            f'<td style="{CELL}">{_subject(subject)}<br><span style="{GREY}">{escape(who)}</span></td></tr>'
            for who, subject, hours in r.oldest_open
        ),
        "None: every conversation has an answer.",
        2,
    )


def _open_items(r: WeekReport) -> str:
    return _rows(
        (
            f'<tr><td style="{NUMBER}" width="90">{escape(duration(i.age_hours))}</td>'
            f'<td style="{CELL}">{_subject(i.subject)} <span style="{GREY}">({escape(i.customer)})</span><br>'
            f'<span style="{GREY}">{escape(i.label)} &middot; {escape(i.owner)} &middot;'
            f" {escape(state_text(i.state))} &middot; {i.reminders} reminders</span></td></tr>"
            for i in r.open_items
        ),
        "None: every complaint and escalation is resolved.",
        2,
    )


def _fires(r: WeekReport) -> str:
    return _rows(
        (
            f'<tr><td style="{NUMBER}" width="90">{fire.count} times</td><td style="{CELL}">'
            f'{_subject("; ".join(fire.subjects))}<br><span style="{GREY}">'
            f"{fire.first_seen:%a %H:%M} to {fire.last_seen:%a %H:%M}; "
            f"{escape('solved by: ' + snippet(fire.solution)) if fire.solution else 'not solved yet'}"
            "</span></td></tr>"
            for fire in r.fires
        ),
        "None: no problem came up three times or more.",
        2,
    )


def _acceptance(r: WeekReport) -> str:
    """One row per kind of draft, one column per degree of acceptance (ACCEPTANCE)."""
    header = (
        f'<tr><td style="{CELL}"></td>'
        + "".join(f'<td style="{NUMBER}"><b>{escape(column)}</b></td>' for column in ACCEPTANCE)
        + "</tr>"
    )
    body = _rows(
        (
            f'<tr><td style="{CELL}">{escape(template)}</td>'
            + "".join(f'<td style="{NUMBER}">{row[column]}</td>' for column in ACCEPTANCE)
            + "</tr>"
            for template, row in sorted(r.acceptance.items())
        ),
        "No replies to drafted messages this week.",
        1 + len(ACCEPTANCE),
    )
    return header + body
