"""The weekly report as plain text (the email's text part, and `triage report` on a terminal). Pure."""

from __future__ import annotations

from datetime import timedelta

from triage.metrics.acceptance import ACCEPTANCE
from triage.report.headlines import Headline
from triage.report.weekly import WeekReport
from triage.report.wording import change_text, duration, snippet, state_text, value_text


def summary_rows(r: WeekReport) -> list[tuple[str, str, str]]:
    """(figure, this week, last week): the detail behind the headlines, for text and HTML."""
    this, last = r.this_week, r.last_week

    def both(name: str, kind: str, attribute: str) -> tuple[str, str, str]:
        return name, value_text(kind, getattr(this, attribute)), value_text(kind, getattr(last, attribute))

    return [
        both("Conversations started", "count", "conversations"),
        both("Answered", "count", "answered"),
        both("First response, median", "duration", "median_hours"),
        both("First response, p90", "duration", "p90_hours"),
        both("First response, median in business hours", "duration", "median_business_hours"),
        both(f"Answered within {r.targets.reply_hours:g} h", "share", "within_target"),
    ]


def target_text(headline: Headline) -> str:
    """on target / off target, with the target: "on target (at most 8 h)"; "" without a target."""
    if headline.target is None:
        return ""
    bound = "at least" if headline.higher_is_better else "at most"
    judged = {True: "on target", False: "off target", None: "target"}[headline.on_target]
    return f"{judged} ({bound} {value_text(headline.kind, headline.target)})"


def week_span(r: WeekReport) -> str:
    """Monday 16 to Sunday 22 November 2026."""
    last = r.start + timedelta(days=6)
    return f"{r.start:%A %-d %B} to {last:%A %-d %B %Y}"


def render_text(r: WeekReport, team: str) -> str:
    lines = [f"Inbox health, {team}, week {r.week} ({week_span(r)})", ""]
    lines += ["At a glance (change against last week / against the average of the four weeks before):"]
    for h in r.headlines:
        changes = " / ".join(change_text(h.kind, h.this_week, then) for then in (h.last_week, h.four_weeks))
        lines.append(
            f"  {h.name:<26} {value_text(h.kind, h.this_week):>11}   {changes:<26} {target_text(h)}".rstrip()
        )
    lines += ["", f"{'':<44} {'this week':>10} {'last week':>10}"]
    lines += [f"{name:<44} {this:>10} {last:>10}" for name, this, last in summary_rows(r)]
    lines += ["", "Per day      complaint  small_fix  escalation   waiting (the most at once)"]
    for day in r.days:
        v, backlog = r.volume[day], r.backlog[day]
        waiting = (
            "no data"
            if backlog is None
            else f"{backlog.highest}" + ("  inbox zero" if backlog.inbox_zero else "")
        )
        lines.append(
            f"  {day:%a %d %b} {v['complaint']:>9} {v['small_fix']:>10} {v['escalation']:>11}   {waiting}"
        )
    zero = ", ".join(f"{d:%a}" for d in r.inbox_zero_days) or "none"
    lines += ["", f"Inbox zero reached on: {zero}"]
    lines += [f"Escalations received: {r.escalations}, resolved: {r.escalations_resolved}"]
    lines += [f"Model corrections by the team: {r.corrections}", "", "Oldest open conversations at week end:"]
    lines += [f"  {duration(hours):>10}  {who}: {subject}" for who, subject, hours in r.oldest_open] or [
        "  none: all answered"
    ]
    lines += ["", "Complaints and escalations not yet resolved (owner, state, reminders sent):"]
    lines += [
        f"  {duration(i.age_hours):>10}  {i.label}: {i.subject} ({i.customer}); {i.owner},"
        f" {state_text(i.state)}, {i.reminders} reminders"
        for i in r.open_items
    ] or ["  none: every complaint and escalation is resolved"]
    lines += ["", "Recurring problems this week (what we learned):"]
    for fire in r.fires:
        lines.append(
            f"  {fire.count} messages, {fire.first_seen:%a %H:%M} to {fire.last_seen:%a %H:%M}: "
            + "; ".join(fire.subjects or ("(no subject)",))
        )
        lines.append(
            f"    solved by: {snippet(fire.solution)}" if fire.solution else "    no reply has solved it yet"
        )
    if not r.fires:
        lines.append("  none: no problem came up three times or more")
    lines += ["", f"Drafts the team sent ({' / '.join(ACCEPTANCE)}):"]
    lines += [
        f"  {template}: " + " / ".join(str(row[k]) for k in ACCEPTANCE)
        for template, row in sorted(r.acceptance.items())
    ] or ["  no replies to drafted messages this week"]
    if not any(sum(v.values()) for v in r.volume.values()):
        lines += ["", "No customer mail arrived this week."]
    return "\n".join(lines) + "\n"
