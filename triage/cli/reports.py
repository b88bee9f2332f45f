"""The figures: status, the weekly report, export."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.cli.common import EXIT_OK, load_configs_or_defaults
from triage.config.loading import Config
from triage.errors import ConfigError
from triage.metrics.conversations import conversations, sla_state
from triage.metrics.response import conversation_rows, first_response_figures, how_long
from triage.pipeline.threads import conversation_events


def cmd_status(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Every mailbox's figures (from the shared database, or each one's file), one block each."""
    configs = load_configs_or_defaults(args)
    for config in configs:
        if len(configs) > 1:
            print(f"== {config.name} ({app.mailbox_name(config)})")
        print_status(config, args.now or app.utc_now())
    return EXIT_OK


def print_status(config: Config, now: datetime) -> None:
    with app.open_store(config) as store:
        name = app.mailbox_name(config)
        inbound = [
            m for m in store.messages(name) if m.outcome in ("drafted", "needs_review") and m.message_id
        ]
        threads = conversations(conversation_events(store, name))
    waiting = sorted(since for t in threads if (since := t.waiting_since()) is not None)
    target = config.settings.drafting.reply_within_hours.get("complaint", 24.0)
    week = [t for t in threads if t.events[0].at >= now - timedelta(days=7)]
    figures = first_response_figures(week, app.business_hours(config), target)
    today = Counter(
        m.label for m in inbound if m.received_at and m.received_at[:10] == now.date().isoformat()
    )
    s = config.settings
    states = Counter(
        sla_state(t, now, dict(s.drafting.reply_within_hours), 24.0, s.metrics.at_risk_share) for t in threads
    )
    rows = [
        ("open conversations", str(len(waiting))),
        ("at risk / breached", f"{states['at_risk']} / {states['breached']}"),
        ("oldest open", how_long((now - waiting[0]).total_seconds() / 3600) if waiting else "-"),
        ("answered in the last 7 days", f"{figures.answered} of {figures.conversations}"),
        ("first response, median", f"{figures.median_hours} h" if figures.median_hours is not None else "-"),
        ("first response, p90", f"{figures.p90_hours} h" if figures.p90_hours is not None else "-"),
        (
            f"answered within {target:g} h",
            f"{figures.within_target:.0%}" if figures.within_target is not None else "-",
        ),
        ("today by class", ", ".join(f"{k} {v}" for k, v in sorted(today.items())) or "-"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def cmd_report(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """One report per team: every mailbox's (or --mailbox NAME's), each to its own recipients."""
    configs = load_configs_or_defaults(args)
    if len(configs) > 1 and (args.out or args.eml):
        raise ConfigError("--mailbox", f"one of {[c.name for c in configs]} with --out or --eml", None)
    for config in configs:
        report_one(args, config, args.now or app.utc_now())
    return EXIT_OK


def report_one(args: argparse.Namespace, config: Config, now: datetime) -> None:
    week = args.week or app.last_complete_week(config, now)
    rendered = app.weekly_report(config, week, now)
    if args.out:
        args.out.write_text(rendered.html_file(), encoding="utf-8")
        print(f"report written to {args.out}")
    if args.eml:
        args.eml.write_bytes(
            bytes(rendered.message(config.settings.report.recipients or [config.settings.team.address]))
        )
        print(f"report email written to {args.eml}")
    if args.send:
        print(app.send_weekly_report(config, rendered, config_module.environ(), now, force=args.force))
    if not (args.out or args.eml or args.send):
        print(rendered.text, end="")


def cmd_export(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Every mailbox's conversations; with several, each row says whose it is."""
    configs = load_configs_or_defaults(args)
    rows = []
    for config in configs:
        s = config.settings
        with app.open_store(config) as store:
            threads = conversations(conversation_events(store, app.mailbox_name(config)))
        since = datetime.combine(args.since, datetime.min.time(), ZoneInfo(s.team.timezone))
        mailbox_rows = conversation_rows(
            [t for t in threads if t.events[0].at >= since],
            app.business_hours(config),
            app.utc_now(),
            dict(s.drafting.reply_within_hours),
            24.0,
            s.metrics.at_risk_share,
        )
        rows += (
            [{"mailbox": config.name, **row} for row in mailbox_rows] if len(configs) > 1 else mailbox_rows
        )
    output = io.StringIO()
    if args.format == "json":
        json.dump(rows, output, indent=2)
        output.write("\n")
    else:
        writer = csv.DictWriter(output, fieldnames=list(rows[0]) if rows else ["conversation"])
        writer.writeheader()
        writer.writerows(rows)
    if args.out:
        args.out.write_text(output.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(output.getvalue())
    return EXIT_OK


def scheduled_report(config: Config) -> str:
    """Last complete week's report, sent unless it already was."""
    now = app.utc_now()
    rendered = app.weekly_report(config, app.last_complete_week(config, now), now)
    return app.send_weekly_report(config, rendered, config_module.environ(), now)
