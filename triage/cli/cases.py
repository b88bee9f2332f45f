"""One message or case at a time: show, open, resolve."""

from __future__ import annotations

import argparse
import sys

from triage import app
from triage.app.logs import RedactSecrets
from triage.cli.common import EXIT_ERROR, EXIT_OK, load_config_or_defaults, load_configs_or_defaults
from triage.metrics.response import how_long
from triage.pipeline.follow_up import open_cases
from triage.replies.briefs import Case


def cmd_resolve(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    with app.open_store(config) as store:
        done = store.resolve(app.mailbox_name(config), args.message_id, app.utc_now(), args.who)
    if not done:
        print(f"{args.message_id}: not an open triaged message in {config.database}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.message_id}: resolved")
    return EXIT_OK


def cmd_open(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Open complaints and escalations of every mailbox, oldest first; with several, whose each is."""
    configs = load_configs_or_defaults(args)
    now = args.now or app.utc_now()
    cases: list[tuple[str, Case]] = []
    for config in configs:
        with app.open_store(config) as store:
            cases += [(config.name, case) for case in open_cases(store, app.mailbox_name(config))]
    if not cases:
        print("nothing open: every complaint and escalation is resolved")
        return EXIT_OK
    width = max(len(name) for name, _ in cases) + 2 if len(configs) > 1 else 0
    header = f"{'AGE':>9}  {'CLASS':<11} {'STATE':<20} {'OWNER':<20} {'REMINDED':>8}  {'FROM':<28} SUBJECT"
    print(f"{'MAILBOX' if width else '':<{width}}{header}")
    for name, case in sorted(cases, key=lambda named: named[1].received_at):
        age = (now - case.received_at).total_seconds() / 3600
        print(
            f"{name if width else '':<{width}}{how_long(age):>9}  {case.label:<11} {case.state:<20}"
            f" {case.owner.name[:20]:<20} {case.reminders_sent:>8}  {case.customer[:28]:<28} {case.subject}"
            f"  {case.message_id}"
        )
    return EXIT_OK


def cmd_show(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    with app.open_store(config) as store:
        found = store.find(args.message_id)
    if not found:
        print(f"no message with Message-ID {args.message_id} in {config.database}")
        return EXIT_ERROR
    for m in found:
        print(f"{m.ref.mailbox} {m.ref.folder} UID {m.ref.uid} (UIDVALIDITY {m.ref.uidvalidity})")
        print(f"  from {m.sender}: {m.subject}")
        print(
            f"  outcome {m.outcome} ({m.status}); label {m.label} {m.confidence or ''};"
            f" model {m.model_version}"
        )
        print(f"  reason  {m.reason}")
        print(f"  draft   {m.draft_message_id or '-'}")
        if m.answer_note:
            print(f"  answer  {m.answer_note}")
    return EXIT_OK
