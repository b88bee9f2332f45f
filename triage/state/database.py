"""The SQLite connection every table shares, its transactions, and how ISO timestamps compare."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating owner-only: it holds customer addresses and subjects) the state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    # one thread at a time: a daemon's worker thread uses the store it was given
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    return db


class Tables:
    """What every table's methods share: the connection and all-or-nothing writes."""

    db: sqlite3.Connection

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing. (`with connection:` does not BEGIN in autocommit mode, so it is not used.)"""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


def iso_or_start(moment: datetime | None) -> str:
    """A lower bound for ISO-8601 UTC text columns; "" (before everything) for none."""
    return moment.astimezone(UTC).isoformat() if moment is not None else ""
