"""Composition: the weekly report gathered from the state database, rendered and sent."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from zoneinfo import ZoneInfo

from triage.app.engine import business_hours
from triage.app.mailboxes import mailbox_name, open_store, smtp_sender
from triage.config.loading import Config
from triage.errors import ConfigError
from triage.metrics.acceptance import acceptance_by_template
from triage.metrics.conversations import conversations
from triage.metrics.fires import Problem, recurring
from triage.pipeline.follow_up import open_cases
from triage.pipeline.threads import conversation_events
from triage.report import weekly
from triage.report.charts import render_charts
from triage.report.headlines import Targets
from triage.report.html import render_html
from triage.report.message import report_message
from triage.report.text import render_text


@dataclass(frozen=True)
class RenderedReport:
    week: str
    subject: str
    sender: str
    text: str
    html_for: Callable[[Sequence[str]], str]
    images: Mapping[str, bytes]
    now: datetime

    def html_file(self) -> str:
        """Self-contained HTML: the charts as data: URIs."""
        return self.html_for(
            [f"data:image/png;base64,{base64.b64encode(png).decode()}" for png in self.images.values()]
        )

    def message(self, recipients: Sequence[str]) -> EmailMessage:
        return report_message(
            self.subject, self.sender, recipients, self.text, self.html_for, self.images, self.now
        )


def last_complete_week(config: Config, now: datetime) -> str:
    return weekly.iso_week((now - timedelta(days=7)).astimezone(ZoneInfo(config.settings.team.timezone)))


def weekly_report(config: Config, week: str, now: datetime) -> RenderedReport:
    """Gather a week's figures from the state database and render the report."""
    s = config.settings
    try:
        start, end = weekly.week_bounds(week, s.team.timezone)
    except ValueError:
        raise ConfigError("--week", "an ISO week such as 2026-W47", week) from None
    with open_store(config) as store:
        name = mailbox_name(config)
        inbound = [
            weekly.Inbound(
                m.message_id or "", m.label, m.subject, m.sender, datetime.fromisoformat(m.received_at)
            )
            for m in store.messages(name)
            if m.outcome in ("drafted", "needs_review") and m.received_at
        ]
        threads = conversations(conversation_events(store, name))
        snapshots = store.snapshots(name, start, end)
        watched_since = store.first_snapshot(name)
        corrections = sum(1 for c in store.corrections() if start <= c.at < end)
        accepted = acceptance_by_template(store.drafts_and_replies(name, start, end))
        problems = [Problem(*row) for row in store.problems_between(name, start, end)]
        _, escalations_resolved = store.escalations_between(name, start, end)
        open_items = [
            weekly.OpenItem(
                c.label,
                c.customer,
                c.subject,
                c.owner.name,
                c.state,
                round((now - c.received_at).total_seconds() / 3600, 1),
                c.reminders_sent,
            )
            for c in open_cases(store, name)
        ]
        fires = [
            replace(fire, solution=store.first_reply_to(name, fire.message_ids))
            for fire in recurring(problems)
        ]
    targets = Targets(
        reply_hours=s.drafting.reply_within_hours.get("complaint", 24.0),
        median_hours=s.report.target_median_hours,
        within_share=s.report.target_within_share,
        backlog=s.report.target_backlog,
    )
    report = weekly.build(
        week,
        s.team.timezone,
        inbound,
        threads,
        [(at, count) for at, count, _ in snapshots],
        watched_since,
        corrections,
        business_hours(config),
        targets,
        now,
        accepted,
        fires,
        escalations_resolved,
        open_items,
    )
    return RenderedReport(
        week=week,
        subject=f"Inbox health, {s.team.name}, week {week}",
        sender=formataddr((s.team.name, s.team.address)),
        text=render_text(report, s.team.name),
        html_for=lambda sources: render_html(report, s.team.name, sources),
        images=render_charts(report),
        now=now,
    )


def send_weekly_report(
    config: Config, rendered: RenderedReport, environ: Mapping[str, str], now: datetime, force: bool = False
) -> str:
    """Email the report to report.recipients, once per week unless forced; what happened, as a line."""
    report = config.settings.report
    if not report.recipients:
        raise ConfigError("report.recipients", "at least one address to send the report to", [])
    with open_store(config) as store:
        name = mailbox_name(config)
        if store.report_sent(name, rendered.week) and not force:
            return f"week {rendered.week} was already sent; --force sends it again"
        smtp_sender(config, environ)(rendered.message(report.recipients))
        store.record_report_sent(name, rendered.week, now, report.recipients)
    return f"week {rendered.week} sent to {', '.join(report.recipients)}"
