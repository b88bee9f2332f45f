"""Helpers for tests and benchmarks of daemons sharing mailboxes over one PostgreSQL database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml

from tests.conftest import REPO, Dovecot
from tests.postgres_server import DB_PASSWORD, Postgres
from tests.test_crash_safety import run_daemon


@dataclass(frozen=True)
class Shared:
    """N mailboxes (Dovecot users) whose state lives in one PostgreSQL database."""

    users: list[str]
    dbname: str
    postgres: Postgres
    dovecot: Dovecot

    def mailbox(self, user: str) -> str:
        return f"{user}@127.0.0.1"

    def sql(self, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """The rows of a query; none before the first daemon has made the tables."""
        target = self.postgres.target(self.dbname)
        with psycopg.connect(**target.parameters(), autocommit=True) as connection:  # type: ignore[arg-type]
            try:
                return connection.execute(query, params).fetchall()
            except psycopg.errors.UndefinedTable:
                return []

    def holders(self) -> dict[str, str]:
        """mailbox -> holder, for leases held and not expired."""
        rows = self.sql(
            "SELECT mailbox, holder FROM leases WHERE holder IS NOT NULL AND expires_at::timestamptz > now()"
        )
        return {str(m): str(h) for m, h in rows}

    def statuses(self, user: str | None = None) -> dict[str, int]:
        where, params = ("WHERE mailbox = %s", (self.mailbox(user),)) if user else ("", ())
        rows = self.sql(f"SELECT status, COUNT(*) FROM messages {where} GROUP BY status", params)
        return {str(s): int(c) for s, c in rows}  # type: ignore[call-overload]


def write_config(
    path: Path, shared: Shared, lease_seconds: float, batch_size: int = 50, **daemon: object
) -> Path:
    """One config.yaml per daemon (they differ only in what `daemon` says, e.g. the metrics port)."""
    settings = {
        "team": {"name": "Northwind Support", "address": "support@northwind.example"},
        "classifier": {"model_dir": str(REPO / "models")},
        "drafting": {"templates_dir": str(REPO / "templates")},
        "state": {"database": shared.postgres.url(shared.dbname)},
        "mailbox": {"batch_size": batch_size, "ca_file": str(shared.dovecot.ca_file)},
        "daemon": {"lease_seconds": lease_seconds, "poll_interval_seconds": 5, "parse_workers": 1, **daemon},
        "mailboxes": [{"name": user, "mailbox": {"url": shared.dovecot.url(user)}} for user in shared.users],
    }
    path.write_text(yaml.safe_dump(settings))
    return path


def start(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`triage run` against the shared PostgreSQL state."""
    return run_daemon(config, log, *extra, TRIAGE_DB_PASSWORD=DB_PASSWORD)


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def holder_of(process: subprocess.Popen[bytes]) -> str:
    return f"{socket.gethostname()}:{process.pid}"


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> float:
    """Seconds it took; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)
    return time.monotonic() - started


def drafts_count(dovecot: Dovecot, user: str) -> int:
    client = dovecot.client(user)
    try:
        if not client.folder_exists("Drafts"):
            return 0
        return int(client.folder_status("Drafts", [b"MESSAGES"])[b"MESSAGES"])
    finally:
        client.logout()
