"""The command line: every command, argument and help text, without loading what runs them.

Light on purpose: `triage --help` needs only this; `triage.cli` (the model stack) is
imported once a command is chosen. Handlers are named here and looked up in `triage.cli`.
"""

from __future__ import annotations

import argparse
import os
from datetime import date, datetime
from pathlib import Path

from triage import __version__
from triage.domain import LABELS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage",
        description="Triage a support mailbox: classify new mail, draft replies, learn from corrections.",
    )
    parser.add_argument("--version", action="version", version=f"triage {__version__}")
    parser.add_argument("--config", type=Path, help="config.yaml (default: $TRIAGE_CONFIG or ./config.yaml)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument(
        "--mailbox", metavar="NAME", help="with several `mailboxes:` in the config, the one to work on"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars (they show only on a terminal anyway)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="set up: ask (or take flags), test the login, write config.yaml")
    init.add_argument("--address", default="", help="the support mailbox's address")
    init.add_argument("--login", default="", help="the IMAP login name (default: the address)")
    init.add_argument(
        "--server", default="", help="IMAP server HOST[:PORT] (default: guessed from the address)"
    )
    init.add_argument("--folder", default="INBOX", help="the folder to watch")
    init.add_argument(
        "--security", choices=("tls", "starttls"), default="", help="default: tls on port 993, else starttls"
    )
    init.add_argument("--auth", choices=("password", "xoauth2"), default="password")
    init.add_argument(
        "--password-file", default="", help="a file holding the password (else $TRIAGE_PASSWORD)"
    )
    init.add_argument("--token-command", default="", help="with xoauth2: a command printing an access token")
    init.add_argument("--ca-file", default="", help="the CA of a server with a private certificate")
    init.add_argument("--team-name", default="")
    init.add_argument(
        "--team-address", default="", help="the address customers write to (default: --address)"
    )
    init.add_argument("--report-to", action="append", default=[], help="weekly report recipient (repeatable)")
    init.add_argument("--smtp-url", default="", help="SMTP server for the report, smtp://host:587")
    init.add_argument(
        "--out", type=Path, default=Path("config.yaml"), help="where to write (default: config.yaml)"
    )
    init.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    init.add_argument("--no-check", action="store_true", help="write the file without testing the login")
    init.set_defaults(handler="cmd_init")

    doctor = commands.add_parser("doctor", help="check the whole setup and say how to fix what is wrong")
    doctor.set_defaults(handler="cmd_doctor")

    run = commands.add_parser("run", help="the daemon: triage new mail as it arrives")
    run.add_argument("--once", action="store_true", help="process what is there now and exit")
    run.add_argument("--dry-run", action="store_true", help="decide and report; write nothing (shadow mode)")
    run.set_defaults(handler="cmd_run")

    demo = commands.add_parser("demo", help="run once on the bundled demo mailbox (no server needed)")
    demo.add_argument("--dir", type=Path, default=Path("demo-output"), help="where to build the demo")
    demo.set_defaults(handler="cmd_demo")

    check = commands.add_parser("check-config", help="validate config.yaml and say what is wrong")
    check.set_defaults(handler="cmd_check_config")

    classify = commands.add_parser("classify", help="label, confidence, reasons and draft for one .eml")
    classify.add_argument("file", type=Path)
    classify.add_argument("--explain", action="store_true", help="show the terms that pushed the decision")
    classify.set_defaults(handler="cmd_classify")

    train = commands.add_parser(
        "train", help="train a new model version on the corpus plus the team's corrections"
    )
    train.add_argument("--corpus", type=Path, help="folder of labeled CSVs (default: models/corpus)")
    train.add_argument(
        "--shipped",
        action="store_true",
        help="rebuild the shipped cold-start model in classifier.model_dir (corpus only, with a model card)",
    )
    train.add_argument(
        "--dev", type=Path, help="with --shipped: a labeled CSV to measure on (never trained on)"
    )
    train.add_argument("--model-dir", type=Path, help="with --shipped: where to write it")
    train.add_argument(
        "--from-folder",
        action="append",
        default=[],
        metavar="FOLDER=LABEL",
        help="also learn from a folder of past mail in the mailbox, e.g. Complaints=complaint (repeatable)",
    )
    train.set_defaults(handler="cmd_train")

    relabel = commands.add_parser("relabel", help="correct the class of a triaged message")
    relabel.add_argument("message_id")
    relabel.add_argument("label", choices=LABELS)
    relabel.add_argument("--who", default=os.environ.get("USER"), help="who made the correction")
    relabel.set_defaults(handler="cmd_relabel")

    model = commands.add_parser("model", help="list model versions, or choose the one in use")
    model_commands = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    model_commands.add_parser("list", help="every version with its figures; * marks the one in use")
    use = model_commands.add_parser("use", help="use VERSION (or 'shipped'): also the way to roll back")
    use.add_argument("version")
    model.set_defaults(handler="cmd_model")

    evaluate = commands.add_parser("eval", help="measure the model on a labeled CSV")
    evaluate.add_argument("--data", type=Path, required=True, help="CSV with subject, body, label")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--escalation-floor",
        type=float,
        help="measure with this floor (default: classifier.escalation_floor)",
    )
    evaluate.set_defaults(handler="cmd_eval")

    resolve = commands.add_parser("resolve", help="mark a complaint or escalation solved")
    resolve.add_argument("message_id")
    resolve.add_argument("--who", default=os.environ.get("USER"), help="who confirmed it solved")
    resolve.set_defaults(handler="cmd_resolve")

    open_cases = commands.add_parser("open", help="complaints and escalations not yet resolved, oldest first")
    open_cases.add_argument("--now", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    open_cases.set_defaults(handler="cmd_open")

    status = commands.add_parser("status", help="now: open conversations, oldest, response times, today")
    status.add_argument("--now", type=datetime.fromisoformat, help="as of this ISO time instead of now")
    status.set_defaults(handler="cmd_status")

    report = commands.add_parser("report", help="the weekly inbox-health report")
    report.add_argument("--week", help="ISO week YYYY-Www (default: the last complete week)")
    report.add_argument("--out", type=Path, help="write the report as a self-contained HTML file")
    report.add_argument(
        "--eml", type=Path, help="write the report email (HTML, text, inline charts) to a file"
    )
    report.add_argument("--send", action="store_true", help="email it to report.recipients over SMTP")
    report.add_argument("--force", action="store_true", help="with --send: send a week already sent")
    report.add_argument("--now", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    report.set_defaults(handler="cmd_report")

    export = commands.add_parser("export", help="one row per conversation, as CSV or JSON")
    export.add_argument("--since", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", type=Path, help="write to a file instead of standard output")
    export.set_defaults(handler="cmd_export")

    show = commands.add_parser("show", help="what triage recorded for a Message-ID")
    show.add_argument("message_id")
    show.set_defaults(handler="cmd_show")

    answers = commands.add_parser(
        "answers", help="the team's answers learned from Sent, and how drafts fared"
    )
    answers.add_argument("--pin", type=int, metavar="ID", help="copy learned answer ID into fixes.yaml")
    answers.set_defaults(handler="cmd_answers")
    return parser
