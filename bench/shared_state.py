"""Shared state benchmark: M mailboxes x N messages worked by 1, 2 and 3 daemons over one PostgreSQL,
against one daemon on SQLite (the baseline) in the same run; then failover after a SIGKILL.

Prints, on the same data and machine:
  * drain: from starting the daemons to every message `done` in the state, and messages/s;
    the SQLite baseline is one daemon with a state file per mailbox;
  * lease spread: how many mailboxes each daemon held at the end;
  * failover: from SIGKILL of a daemon to the first draft its mailbox gets from the daemon that
    took it over (new mail is appended just after the kill), several times; p50, p95, max
    against the target of lease expiry + 5 s.

Usage: python bench/shared_state.py [--mailboxes 20] [--messages 1000] [--daemons 1,2,3]
                                    [--trials 5] [--lease 30]
Needs Debian's dovecot-imapd and postgresql (`make test` installs both).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.conftest import Dovecot, start_dovecot  # noqa: E402
from tests.postgres_server import Postgres, start_postgres  # noqa: E402
from tests.shared_state import (  # noqa: E402
    Shared,
    drafts_count,
    holder_of,
    signal_group,
    start,
    wait_until,
    write_config,
)
from tests.test_crash_safety import backlog, load_backlog  # noqa: E402


def fill(dovecot: Dovecot, mailboxes: int, messages: int, tag: str) -> list[str]:
    users = [dovecot.add_user() for _ in range(mailboxes)]
    for index, user in enumerate(users):
        load_backlog(dovecot, user, backlog(messages, f"{tag}-{index}"))
    return users


def stop_all(daemons: list) -> None:  # type: ignore[type-arg]
    for daemon in daemons:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
    for daemon in daemons:
        try:
            daemon.wait(timeout=120)
        except Exception:
            signal_group(daemon, signal.SIGKILL)
            daemon.wait()


def sqlite_baseline(dovecot: Dovecot, folder: Path, mailboxes: int, messages: int, lease: float) -> float:
    """One daemon, a state file per mailbox: seconds to drain."""
    users = fill(dovecot, mailboxes, messages, "sqlite")
    config = folder / "sqlite.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "team": {"address": "support@northwind.example"},
                "classifier": {"model_dir": str(REPO / "models")},
                "drafting": {"templates_dir": str(REPO / "templates")},
                "state": {"database": str(folder / "state.sqlite3")},
                "mailbox": {"batch_size": 200, "ca_file": str(dovecot.ca_file)},
                "daemon": {"poll_interval_seconds": 5},
                "mailboxes": [{"name": user, "mailbox": {"url": dovecot.url(user)}} for user in users],
            }
        )
    )

    def done() -> int:
        total = 0
        for user in users:
            path = folder / f"state-{user}.sqlite3"
            if path.exists():
                try:
                    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
                        total += db.execute("SELECT COUNT(*) FROM messages WHERE status = 'done'").fetchone()[
                            0
                        ]
                except sqlite3.OperationalError:
                    pass  # not migrated yet
        return total

    started = time.monotonic()
    daemon = start(config, folder / "sqlite.log")
    try:
        wait_until(lambda: done() == mailboxes * messages, 3600, "the SQLite backlog", step=1.0)
        return time.monotonic() - started
    finally:
        stop_all([daemon])


def postgres_run(
    dovecot: Dovecot,
    postgres: Postgres,
    folder: Path,
    mailboxes: int,
    messages: int,
    daemons: int,
    lease: float,
) -> tuple[float, list[int]]:
    """`daemons` daemons over one database: seconds to drain, and mailboxes held by each at the end."""
    shared = Shared(
        fill(dovecot, mailboxes, messages, f"pg{daemons}"), postgres.create_database(), postgres, dovecot
    )
    config = write_config(folder / f"pg{daemons}.yaml", shared, lease, 200, parse_workers=0)
    started = time.monotonic()
    children = [start(config, folder / f"pg{daemons}-{i}.log") for i in range(daemons)]
    try:
        wait_until(
            lambda: shared.statuses().get("done") == mailboxes * messages,
            3600,
            "the PostgreSQL backlog",
            step=1.0,
        )
        drained = time.monotonic() - started
        spread = Counter(shared.holders().values())
        return drained, sorted((spread.get(holder_of(c), 0) for c in children), reverse=True)
    finally:
        stop_all(children)


def failover(dovecot: Dovecot, postgres: Postgres, folder: Path, trial: int, lease: float) -> float:
    """Two daemons, four mailboxes; SIGKILL the holder of one, append a message to it: seconds from the
    kill to its draft by the survivor."""
    shared = Shared(fill(dovecot, 4, 2, f"failover{trial}"), postgres.create_database(), postgres, dovecot)
    config = write_config(folder / f"failover{trial}.yaml", shared, lease, 50)
    children = [start(config, folder / f"failover{trial}-{i}.log") for i in range(2)]
    try:
        wait_until(lambda: shared.statuses().get("done") == 8, 300, "the small backlog")
        wait_until(lambda: len(set(shared.holders().values())) == 2, 3 * lease, "both daemons holding")
        victim = children[0]
        mailbox = next(m for m, h in shared.holders().items() if h == holder_of(victim))
        user = mailbox.split("@")[0]
        before = drafts_count(dovecot, user)
        time.sleep(trial * lease / 7 % (lease / 3))  # kills land at different points of the renewal cycle
        signal_group(victim, signal.SIGKILL)
        killed = time.monotonic()
        load_backlog(dovecot, user, backlog(1, f"after-kill-{trial}"))
        wait_until(
            lambda: drafts_count(dovecot, user) > before, lease + 120, "the survivor's first draft", step=0.05
        )
        return time.monotonic() - killed
    finally:
        stop_all(children)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=20)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--daemons", default="1,2,3")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--lease", type=float, default=30.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-shared-"))
    dovecot, postgres = start_dovecot(), start_postgres()
    total = args.mailboxes * args.messages
    try:
        print(f"{args.mailboxes} mailboxes x {args.messages} messages = {total}; lease {args.lease:g} s")
        print(f"{'state':<22} {'daemons':>7} {'drain s':>8} {'msg/s':>7}  mailboxes held")
        seconds = sqlite_baseline(dovecot, folder, args.mailboxes, args.messages, args.lease)
        print(f"{'SQLite (baseline)':<22} {1:>7} {seconds:>8.1f} {total / seconds:>7.0f}  all")
        for daemons in map(int, args.daemons.split(",")):
            seconds, spread = postgres_run(
                dovecot, postgres, folder, args.mailboxes, args.messages, daemons, args.lease
            )
            print(f"{'PostgreSQL':<22} {daemons:>7} {seconds:>8.1f} {total / seconds:>7.0f}  {spread}")
        if args.trials:
            times = sorted(
                failover(dovecot, postgres, folder, trial, args.lease) for trial in range(args.trials)
            )
            p95 = times[min(len(times) - 1, round(0.95 * len(times) + 0.5) - 1)]
            print(
                f"failover, SIGKILL to the survivor's first draft ({len(times)} trials): p50"
                f" {statistics.median(times):.1f} s, p95 {p95:.1f} s, max {times[-1]:.1f} s"
                f" (target p95 <= {args.lease + 5:g} s): {', '.join(f'{t:.1f}' for t in times)}"
            )
    finally:
        dovecot.stop()
        postgres.stop()
        shutil.rmtree(dovecot.root, ignore_errors=True)
        shutil.rmtree(postgres.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
