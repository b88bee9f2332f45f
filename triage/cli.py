"""The `triage` command: one small function per subcommand; exit codes live here only.

Exit codes: 0 ok, 1 unexpected error, 2 config or usage error, 3 login refused,
4 mailbox unreachable, 5 model refused.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from imapclient.exceptions import IMAPClientError

from triage import app, model_store, progress, training
from triage import config as config_module
from triage.classifier import Classifier, model_text
from triage.commandline import build_parser
from triage.config import PASSWORD_ENV, Config
from triage.datasets import Example, read_corpus, read_csv
from triage.decisions import decide, is_machine
from triage.domain import LABELS
from triage.errors import (
    AuthenticationError,
    ConfigError,
    MailboxError,
    MalformedMessage,
    ModelError,
    TriageError,
)
from triage.logs import RedactSecrets, configure
from triage.metrics import conversation_rows, conversations, first_response_figures, sla_state
from triage.parsing import parse
from triage.pipeline import Engine, MessagePlan, PollResult, conversation_events, open_cases, poll
from triage.store import Correction

logger = logging.getLogger("triage")

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_AUTH, EXIT_MAILBOX, EXIT_MODEL = 0, 1, 2, 3, 4, 5
CONFIG_ENV = "TRIAGE_CONFIG"
# most specific first: a refused login is also a mailbox error
EXIT_CODES: tuple[tuple[type[TriageError], int], ...] = (
    (ConfigError, EXIT_CONFIG),
    (AuthenticationError, EXIT_AUTH),
    (MailboxError, EXIT_MAILBOX),
    (ModelError, EXIT_MODEL),
    (TriageError, EXIT_ERROR),
)
DEMO_ESCALATION_KEYWORDS = [
    "lawyer",
    "solicitor",
    "attorney",
    "legal action",
    "data breach",
    "chargeback",
    "fraud",
    "GDPR",
]


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; every error becomes one line on stderr and an exit code."""
    handler: Callable[[argparse.Namespace, RedactSecrets], int] = globals()[args.handler]
    redactor = RedactSecrets()
    configure(args.log_level, args.log_format, redactor)
    try:
        return int(handler(args, redactor))
    except TriageError as exc:
        prefix = "configuration error: " if isinstance(exc, ConfigError) else ""
        print(f"triage: {prefix}{exc}", file=sys.stderr)
        return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))
    except (IMAPClientError, ConnectionError, TimeoutError) as exc:  # the connection died mid-command
        print(f"triage: mailbox connection lost: {exc}; nothing was lost, run again", file=sys.stderr)
        return EXIT_MAILBOX
    except KeyboardInterrupt:
        return EXIT_OK


def config_path(args: argparse.Namespace) -> Path | None:
    path: Path | None = args.config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if path is None and Path("config.yaml").exists():
        path = Path("config.yaml")
    return path


def load_config(args: argparse.Namespace) -> Config:
    """The one mailbox a command works on: --mailbox NAME, else the first."""
    return config_module.load(config_path(args), config_module.environ(), args.mailbox)


def load_configs(args: argparse.Namespace) -> list[Config]:
    """Every mailbox of the config, or just --mailbox NAME."""
    if args.mailbox:
        return [load_config(args)]
    return config_module.load_all(config_path(args), config_module.environ())


def cmd_init(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    from triage import wizard

    if args.out.exists() and not args.force:
        raise ConfigError("--out", "a file that does not exist yet (or --force)", str(args.out))
    interactive = sys.stdin.isatty()
    answers = wizard.complete(
        wizard.Answers(
            address=args.address,
            login=args.login,
            server=args.server,
            folder=args.folder,
            security=args.security,
            auth=args.auth,
            password_file=args.password_file,
            token_command=args.token_command,
            ca_file=args.ca_file,
            team_name=args.team_name,
            team_address=args.team_address,
            report_to=list(args.report_to),
            smtp_url=args.smtp_url,
        ),
        wizard.terminal_ask if interactive else None,
    )
    found = None
    if not args.no_check:
        environ = config_module.environ()
        if not (
            interactive or answers.auth == "xoauth2" or answers.password_file or environ.get(PASSWORD_ENV)
        ):
            raise ConfigError(PASSWORD_ENV, "the password to test the login with (or --password-file)", None)
        print(f"testing {wizard.mailbox_url(answers)} ...")
        found = wizard.test_connection(answers, environ, wizard.terminal_password(answers.login))
        print(
            f"  login ok; Drafts: {found.drafts or 'none yet (triage creates it)'};"
            f" Sent: {found.sent or 'none found'}; IDLE: {'yes' if found.idle else 'no (triage polls)'}"
        )
    args.out.write_text(wizard.render(answers, found), encoding="utf-8")
    config_module.load(args.out, {})  # what was written must load
    print("\n".join(wizard.next_steps(args.out, answers)))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    from triage import doctor

    findings = doctor.diagnose(config_path(args), config_module.environ(), args.mailbox)
    return doctor.render(findings, print)


def cmd_check_config(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config(args)
    app.build_drafter(config)
    info = model_store.read_info(config.model_dir)
    print(f"config ok: {config.source or '(defaults)'}")
    print(f"  mailbox   {config.mailbox.display()}")
    print(f"  database  {config.database}")
    print(f"  model     {config.model_dir} (version {info.version})")
    print(f"  templates {config.templates_dir}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    configs = load_configs(args)
    pool = app.parse_pool(configs[0])
    try:
        engines = [app.build_engine(config, pool) for config in configs]
        if args.once or args.dry_run:
            return max(run_once(args, config, engine, redactor) for config, engine in zip(configs, engines))

        def reload(config: Config) -> Engine:
            fresh = config_module.load(config_path(args), config_module.environ(), config.name or None)
            return app.build_engine(fresh, pool)

        return run_daemon(configs, engines, redactor, reload)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def run_once(args: argparse.Namespace, config: Config, engine: Engine, redactor: RedactSecrets) -> int:
    inbox = app.open_inbox(config, config_module.environ(), redactor)
    store = app.open_store(config)
    try:
        with ExitStack() as bars:
            shown: list[Callable[[int], None]] = []

            def advance(done: int, total: int) -> None:  # the bar appears once there is a backlog
                if not shown:
                    shown.append(bars.enter_context(progress.bar(config.name or "triage", total, args.quiet)))
                shown[0](done)

            if config.name:
                print(f"== {config.name} ({config.mailbox.display()})")
            print_header()
            result = poll(
                inbox,
                store,
                engine,
                app.utc_now,
                config.settings.mailbox.batch_size,
                args.dry_run,
                advance,
                keep_plans=False,  # rows are printed batch by batch: memory stays flat in the backlog
                on_batch=print_plans,
            )
    finally:
        inbox.close()
        store.close()
    print_summary(result, dry_run=args.dry_run)
    return EXIT_OK


def run_daemon(
    configs: Sequence[Config],
    engines: Sequence[Engine],
    redactor: RedactSecrets,
    reload: Callable[[Config], Engine] | None = None,
) -> int:
    from triage.daemon import Daemon, run_all

    first = configs[0].settings
    metrics = None
    if first.daemon.metrics_port:
        from triage.prometheus import PollMetrics

        metrics = PollMetrics(app.mailbox_name(configs[0]))
        metrics.serve(first.daemon.metrics_port, first.daemon.metrics_address)
        logger.info(
            "metrics on http://%s:%d/metrics", first.daemon.metrics_address, first.daemon.metrics_port
        )
    daemons = []
    for config, engine in zip(configs, engines):
        s = config.settings
        daemons.append(
            Daemon(
                open_inbox=lambda config=config: app.open_inbox(config, config_module.environ(), redactor),  # type: ignore[misc]
                store=app.open_store(config),
                engine=engine,
                clock=app.utc_now,
                poll_interval=s.daemon.poll_interval_seconds,
                idle=s.daemon.idle,
                idle_timeout=s.daemon.idle_timeout_seconds,
                reconnect_max=s.daemon.reconnect_max_seconds,
                batch_size=s.mailbox.batch_size,
                retrain=lambda config=config: retrain_in_place(config),  # type: ignore[misc]
                retrain_every_days=s.classifier.retrain_every_days,
                weekly_report=(
                    (s.report.day, s.report.time, lambda config=config: scheduled_report(config))  # type: ignore[misc]
                    if s.report.recipients and s.report.smtp_url
                    else None
                ),
                metrics=metrics.for_mailbox(app.mailbox_name(config)) if metrics else None,
                name=config.name or app.mailbox_name(config),
                reload=(lambda config=config: reload(config)) if reload else None,  # type: ignore[misc]
            )
        )
        logger.info("watching %s", config.mailbox.display())
    return run_all(daemons)


def cmd_demo(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Build a Maildir from the bundled demo mail and run one poll on it."""
    target: Path = args.dir.resolve()
    if target.exists():
        shutil.rmtree(target)
    maildir = target / "mailbox"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    source = config_module.bundled("demo_mailbox") / "INBOX"
    for index, eml in enumerate(sorted(source.glob("*.eml"))):
        shutil.copyfile(eml, maildir / "new" / f"{1763000000 + index}.demo{index:03d}.triage")
    sent = maildir / ".Sent"
    for sub in ("cur", "new", "tmp"):
        (sent / sub).mkdir(parents=True)
    for index, eml in enumerate(sorted((source.parent / "Sent").glob("*.eml"))):
        shutil.copyfile(eml, sent / "cur" / f"{1763100000 + index}.sent{index:03d}.triage:2,S")
    config = config_module.from_mapping(
        {
            "mailbox": {"url": f"maildir://{maildir}"},
            "team": {
                "name": "Northwind Outfitters Support",
                "address": "support@northwind.example",
                "own_addresses": ["alice@northwind.example", "ben@northwind.example"],
                "signature": "Alice\nNorthwind Outfitters Support",
            },
            "rules": {"escalation_keywords": DEMO_ESCALATION_KEYWORDS},
            "routing": {
                "default_owner": {
                    "name": "Dana Reyes",
                    "address": "dana@northwind.example",
                    "role": "customer care lead",
                },
                "routes": [
                    {
                        "name": "payments",
                        "keywords": ["charged twice", "chargeback", "refund", "payment", "fraud"],
                        "owner": {
                            "name": "Priya Shah",
                            "address": "priya@northwind.example",
                            "role": "payments lead",
                        },
                        "reply_within_hours": 4,
                    }
                ],
            },
            "state": {"database": str(target / "state.sqlite3")},
        },
        {},
        base_dir=Path.cwd(),
    )
    engine = app.build_engine(config)
    inbox = app.open_inbox(config, {}, redactor)
    store = app.open_store(config)
    try:
        result = poll(inbox, store, engine, app.utc_now)
    finally:
        inbox.close()
        store.close()
    print_result(result, dry_run=False)
    drafts = [path.read_bytes() for path in (maildir / ".Drafts" / "cur").iterdir()]
    briefs = sum(1 for data in drafts if b"X-Triage: brief" in data)
    print(
        f"\nDrafts (one file each, ready to review): {maildir / '.Drafts' / 'cur'}\n"
        f"  {len(drafts) - briefs} replies to customers, {briefs} escalation briefs for their owners"
    )
    print(f"State database: {target / 'state.sqlite3'}")
    print(f"Model: {engine.classifier.version}   Run it again: the second run adds nothing.")
    return EXIT_OK


def print_header() -> None:
    print(f"{'OUTCOME':<13} {'LABEL':<11} {'CONF':>5}  {'FROM':<30} SUBJECT / REASON")


def print_plans(plans: Sequence[MessagePlan]) -> None:
    width = shutil.get_terminal_size((120, 20)).columns
    for plan in plans:
        r = plan.record
        conf = f"{r.confidence:.2f}" if r.confidence is not None else ""
        line = f"{plan.outcome.value:<13} {r.label or '-':<11} {conf:>5}  {r.sender[:30]:<30} {r.subject}"
        print(line[:width])
        print(f"{'':<63}  {plan.reason}"[:width])


def print_summary(result: PollResult, dry_run: bool) -> None:
    s = result.summary
    mode = "dry run, nothing written: " if dry_run else ""
    print(
        f"\n{mode}seen {s.seen}, drafted {s.drafted}, needs_review {s.needs_review},"
        f" skipped {s.skipped}, failed {s.failed}, pending {result.pending}"
    )


def print_result(result: PollResult, dry_run: bool) -> None:
    print_header()
    print_plans(result.plans)
    print_summary(result, dry_run)


def cmd_classify(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    engine = app.build_engine(config)
    try:
        message = parse(args.file.read_bytes(), datetime.now(UTC))
    except MalformedMessage as exc:
        print(f"malformed: {exc.reason}")
        return EXIT_ERROR
    predicted = None
    if not is_machine(message, engine.policy):
        predicted = engine.classifier.classify([model_text(message.subject, message.new_text)])[0]
    decision = decide(message, predicted, engine.policy)
    print(f"action:     {decision.action.value}")
    print(f"label:      {decision.label.value if decision.label else '-'}")
    if decision.classification:
        print(f"confidence: {decision.classification.probability:.2f}")
        print(f"model:      {decision.classification.model_version}")
    print(f"reason:     {decision.reason}")
    if args.explain and predicted is not None:
        terms = engine.classifier.explain(model_text(message.subject, message.new_text))
        print(f"terms:      {', '.join(terms) or '-'}")
    if decision.template:
        draft = engine.drafter.render(message, decision, message.message_id or str(args.file), app.utc_now())
        print(f"\n--- draft to {draft.to}: {draft.subject}\n{draft.body}")
    return EXIT_OK


def load_config_or_defaults(args: argparse.Namespace) -> Config:
    """Commands that never touch the mailbox work without one configured."""
    try:
        return load_config(args)
    except ConfigError as exc:
        if exc.key != "mailbox.url":
            raise
        return config_module.from_mapping({"mailbox": {"url": "maildir:///nonexistent"}}, {}, Path.cwd())


def cmd_train(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    if not args.shipped:
        return train_team(args, config, redactor)
    model_dir = args.model_dir or config.model_dir
    corpus_dir = args.corpus or model_dir / "corpus"
    corpus = read_corpus(corpus_dir)
    if not corpus.examples:
        raise ConfigError("--corpus", "a folder of labeled CSV files", str(corpus_dir))
    dev = read_csv(args.dev).examples if args.dev else None
    figures = training.train_and_save(
        corpus.examples,
        model_dir,
        config.settings.classifier.threshold,
        app.utc_now(),
        dev,
        dev_name=args.dev.name if args.dev else "",
    )
    cv = figures["cross_validation"]
    print(f"trained on {len(corpus.examples)} examples; cross-validated macro-F1 {cv['macro_f1']:.3f}")
    if "dev" in figures:
        print(f"macro-F1 on {args.dev.name}: {figures['dev']['macro_f1']:.3f}")
    print(f"model written to {model_dir}")
    return EXIT_OK


def scheduled_report(config: Config) -> str:
    """Last complete week's report, sent unless it already was."""
    now = app.utc_now()
    rendered = app.weekly_report(config, app.last_complete_week(config, now), now)
    return app.send_weekly_report(config, rendered, config_module.environ(), now)


def retrain_in_place(config: Config) -> Classifier | None:
    """The daemon's scheduled retrain: the new classifier if it was promoted, else None."""
    result = app.train_on_corrections(config, config.model_dir / "corpus")
    team = model_store.team_dir(config.database)
    return model_store.load(team / result.version) if result.promoted else None


def train_team(args: argparse.Namespace, config: Config, redactor: RedactSecrets) -> int:
    past_mail = (
        read_labeled_folders(args.from_folder, config, redactor, args.quiet) if args.from_folder else []
    )
    with progress.bar("training", None, args.quiet) as advance:
        result = app.train_on_corrections(config, args.corpus or config.model_dir / "corpus", past_mail)
        advance(result.trained_on)
    state = "promoted: now in use" if result.promoted else "kept but NOT used"
    print(
        f"model {result.version}: trained on {result.trained_on} examples"
        f" ({result.corrections_used} corrections, {result.held_out} held out,"
        f" {len(past_mail)} from folders)"
    )
    print(f"{state} ({result.why})")
    return EXIT_OK


def read_labeled_folders(
    specs: list[str], config: Config, redactor: RedactSecrets, quiet: bool = False
) -> list[Example]:
    """FOLDER=LABEL pairs -> examples from the mailbox's own folders (IMAP or Maildir)."""
    examples: list[Example] = []
    inbox = app.open_inbox(config, config_module.environ(), redactor)
    try:
        for spec in specs:
            folder, _, label = spec.rpartition("=")
            if not folder or label not in LABELS:
                raise ConfigError("--from-folder", f"FOLDER=LABEL with LABEL one of {list(LABELS)}", spec)
            with progress.bar(f"reading {folder}", None, quiet) as advance:
                for raw in inbox.read_folder(folder, config.settings.mailbox.max_message_bytes):
                    advance(1)
                    try:
                        message = parse(raw.data, raw.internaldate)
                    except MalformedMessage:
                        continue
                    examples.append(
                        Example(message.subject, message.new_text, label, f"folder-{raw.ref.uid}-{folder}")
                    )
            logger.info("read %s as %s", folder, label)
    finally:
        inbox.close()
    return examples


def cmd_relabel(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    with app.open_store(config) as store:
        found = store.find(args.message_id)
        if not found:
            print(f"no message with Message-ID {args.message_id} in {config.database}", file=sys.stderr)
            return EXIT_ERROR
        mailbox = found[0].ref.mailbox
        previous = store.current_label(mailbox, args.message_id)
        store.record_correction(
            Correction(mailbox, args.message_id, args.label, previous, "relabel", args.who, app.utc_now())
        )
    print(f"{args.message_id}: {previous or '-'} -> {args.label}; used by the next `triage train`")
    return EXIT_OK


def cmd_model(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    team = model_store.team_dir(config.database)
    if args.model_command == "use":
        model_store.use(team, args.version)
        print(f"now using {args.version}; a running daemon picks it up when restarted")
        return EXIT_OK
    current = model_store.current_version(team)
    shipped = model_store.read_info(config.model_dir)
    dev = shipped.figures.get("dev", {}).get("macro_f1")
    mark = "*" if current == model_store.SHIPPED else " "
    print(f"{mark} shipped  ({shipped.version}, trained {shipped.trained_at}, dev macro-F1 {dev})")
    for info in model_store.versions(team):
        mark = "*" if info.version == current else " "
        held = info.figures.get("held_out") or {}
        print(
            f"{mark} {info.version}  trained {info.trained_at},"
            f" corrections {info.figures.get('corrections_used', 0)},"
            f" held-out macro-F1 {held.get('macro_f1', '-')}, promoted {info.figures.get('promoted')}"
        )
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    classifier = model_store.load_active(config.model_dir, model_store.team_dir(config.database))
    try:
        data = read_csv(args.data)
    except (OSError, ValueError) as exc:
        raise ConfigError("--data", "a readable CSV with body and label columns", str(exc)) from None
    floor = (
        config.settings.classifier.escalation_floor
        if args.escalation_floor is None
        else args.escalation_floor
    )
    with progress.bar("eval", len(data.examples), args.quiet or args.json) as advance:
        figures = training.evaluate(
            classifier, data.examples, config.settings.classifier.threshold, floor, advance
        )
    figures["rejected"] = data.rejected
    if args.json:
        print(json.dumps(figures, indent=2))
        return EXIT_OK
    print_figures(figures)
    return EXIT_OK


def print_figures(f: dict[str, Any]) -> None:
    print(f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for label, m in f["per_class"].items():
        print(f"{label:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    print(
        f"macro-F1 {f['macro_f1']:.3f}  n={f['n']}  needs_review rate {f['abstain_rate']:.1%}"
        f"  accuracy when answered {f['accuracy_when_answered']:.1%}"
    )
    labels = f["confusion"]["labels"]
    print("\nconfusion (rows: true, columns: predicted)")
    print(" " * 12 + "".join(f"{label:>12}" for label in labels))
    for label, row in zip(labels, f["confusion"]["matrix"]):
        print(f"{label:<12}" + "".join(f"{v:>12}" for v in row))
    print("\nthreshold  coverage  accuracy on what is answered")
    for row in f["tradeoff"]:
        print(f"{row['threshold']:>9.2f} {row['coverage']:>9.1%} {row['accuracy']:>9.1%}")
    if f.get("rejected"):
        print("\nrows not used: " + ", ".join(f"{reason}: {n}" for reason, n in f["rejected"].items()))


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
    config = load_config_or_defaults(args)
    now = args.now or app.utc_now()
    with app.open_store(config) as store:
        cases = open_cases(store, app.mailbox_name(config))
    if not cases:
        print("nothing open: every complaint and escalation is resolved")
        return EXIT_OK
    print(f"{'AGE':>8}  {'CLASS':<11} {'STATE':<20} {'OWNER':<20} {'REMINDED':>8}  {'FROM':<28} SUBJECT")
    for case in cases:
        age = (now - case.received_at).total_seconds() / 3600
        print(
            f"{age:>7.1f}h  {case.label:<11} {case.state:<20} {case.owner.name[:20]:<20}"
            f" {case.reminders_sent:>8}  {case.customer[:28]:<28} {case.subject}  {case.message_id}"
        )
    return EXIT_OK


def cmd_status(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    now = args.now or app.utc_now()
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
        ("oldest open", f"{(now - waiting[0]).total_seconds() / 3600:.1f} h" if waiting else "-"),
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
    return EXIT_OK


def cmd_report(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    now = args.now or app.utc_now()
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
    return EXIT_OK


def cmd_export(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    s = config.settings
    with app.open_store(config) as store:
        threads = conversations(conversation_events(store, app.mailbox_name(config)))
    since = datetime.combine(args.since, datetime.min.time(), ZoneInfo(s.team.timezone))
    rows = conversation_rows(
        [t for t in threads if t.events[0].at >= since],
        app.business_hours(config),
        app.utc_now(),
        dict(s.drafting.reply_within_hours),
        24.0,
        s.metrics.at_risk_share,
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
    return EXIT_OK
