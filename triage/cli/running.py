"""`triage run`: one poll (--once, --dry-run) or the daemon, for every configured mailbox."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.cli import progress
from triage.cli.common import EXIT_ERROR, EXIT_OK, config_path, load_configs
from triage.cli.model import retrain_in_place
from triage.cli.reports import scheduled_report
from triage.cluster.lease import LeasedInbox, MailboxLease, leased_engine
from triage.config.database import DatabaseURL
from triage.config.loading import Config
from triage.errors import ConfigError
from triage.judgement.classifier import Classifier
from triage.pipeline.engine import Engine, MessagePlan, PollResult
from triage.pipeline.poll import poll
from triage.ports import Inbox

if TYPE_CHECKING:
    from triage.daemon import Daemon

logger = logging.getLogger(__name__)


def cmd_run(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    configs = load_configs(args)
    pool = app.parse_pool(configs[0])
    try:
        loaded: dict[tuple[Path, Path], Classifier] = {}
        engines = [app.build_engine(config, pool, loaded) for config in configs]
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
    inbox: Inbox = app.open_inbox(config, config_module.environ(), redactor)
    store = app.open_store(config, redactor)
    try:
        with ExitStack() as bars:
            lease = None if args.dry_run else bars.enter_context(holding_lease(config, redactor))
            if lease is not None:  # shared state: work the mailbox only while no daemon does
                if not lease.held():
                    print(f"{lease.mailbox}: a daemon holds it now; nothing done", file=sys.stderr)
                    return EXIT_ERROR
                inbox, engine, store.fence = (
                    LeasedInbox(inbox, lease),
                    leased_engine(engine, lease),
                    lease.fence(),
                )
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


@contextmanager
def holding_lease(config: Config, redactor: RedactSecrets) -> Iterator[MailboxLease | None]:
    """With shared state, `run --once` takes the mailbox's lease, if free, for as long as it runs."""
    leases = lease_holds([config])
    if not leases:
        yield None
        return
    from triage.cluster.balance import plan_all
    from triage.cluster.coordinator import Coordinator

    (lease,) = leases.values()
    coordinator = Coordinator(
        app.open_store(config, redactor),
        lease.holder,
        leases,
        config.settings.daemon.lease_seconds,
        planner=plan_all,
        settle=0,
        register=False,
    )
    beating = threading.Thread(target=coordinator.run, name="leases")
    beating.start()
    try:
        coordinator.ready.wait()
        yield lease
    finally:
        coordinator.stop()
        beating.join()


def run_daemon(
    configs: Sequence[Config],
    engines: Sequence[Engine],
    redactor: RedactSecrets,
    reload: Callable[[Config], Engine] | None = None,
) -> int:
    from triage.cluster.coordinator import Coordinator
    from triage.daemon import Daemon, run_all

    first = configs[0].settings
    metrics = None
    if first.daemon.metrics_port:
        from triage.adapters.prometheus import PollMetrics

        metrics = PollMetrics(app.mailbox_name(configs[0]))
        metrics.serve(first.daemon.metrics_port, first.daemon.metrics_address)
        logger.info(
            "metrics on http://%s:%d/metrics", first.daemon.metrics_address, first.daemon.metrics_port
        )
    leases = lease_holds(configs)
    daemons = []
    for config, engine in zip(configs, engines):
        s = config.settings
        daemons.append(
            Daemon(
                open_inbox=lambda config=config: app.open_inbox(config, config_module.environ(), redactor),  # type: ignore[misc]
                store=app.open_store(config, redactor),
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
                lease=leases.get(app.mailbox_name(config)),
            )
        )
        logger.info("watching %s", config.mailbox.display())
    coordinator = None
    if leases:
        by_mailbox = {app.mailbox_name(config): daemon for config, daemon in zip(configs, daemons)}
        coordinator = Coordinator(
            app.open_store(configs[0], redactor),
            next(iter(leases.values())).holder,
            leases,
            first.daemon.lease_seconds,
            on_change=lambda mailbox: by_mailbox[mailbox].request_poll(),
            publish=metrics.record_holders if metrics else None,
            on_failure=lambda: stop_all(daemons),
        )
        logger.info("sharing %d mailboxes with the other daemons on %s", len(leases), configs[0].database)
    return run_all(daemons, coordinator)


def stop_all(daemons: Sequence[Daemon]) -> None:
    for daemon in daemons:
        daemon.stop()


def lease_holds(configs: Sequence[Config]) -> dict[str, MailboxLease]:
    """With the state in PostgreSQL, a lease per mailbox, held by this daemon as host:pid; else none."""
    shared = [config for config in configs if isinstance(config.database, DatabaseURL)]
    if not shared:
        return {}
    for index, config in enumerate(configs):
        if config.database != configs[0].database:
            raise ConfigError(
                f"mailboxes[{index}].state.database",
                f"the same database as the others ({configs[0].database})",
                str(config.database),
            )
    holder = f"{socket.gethostname()}:{os.getpid()}"
    return {app.mailbox_name(config): MailboxLease(app.mailbox_name(config), holder) for config in configs}


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
