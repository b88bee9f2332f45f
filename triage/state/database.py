"""The connection every table shares, SQLite or PostgreSQL behind one small interface; transactions.

Table modules write `self.db.execute(sql, params)` with `?` placeholders, once, for both
backends (`state/dialect.py` translates for PostgreSQL). A write goes through
`Tables.transaction()`, which, for a daemon working a mailbox under a lease, first checks
the lease's generation in the same transaction (fencing: `state/leases.py`).
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from triage.errors import DatabaseUnavailable


class Rows(Protocol):
    """What a statement returns, on both backends (a DB-API cursor)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(ABC):
    """One connection to the state database. Not shared across threads."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: BEGIN ... COMMIT, ROLLBACK on any exception."""

    @abstractmethod
    def lock_schema(self) -> None:
        """Inside a transaction: wait until no other process changes the schema (migrations)."""

    @abstractmethod
    def now(self) -> datetime:
        """The database's clock: one clock for every daemon's leases, whatever the hosts' skew."""

    @abstractmethod
    def close(self) -> None:
        """Drop the connection; PostgreSQL's reconnects on the next statement."""


class SqliteDatabase(Database):
    """A state file on this host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection = _sqlite(path)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return self.connection.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.connection.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # `with connection:` does not BEGIN in autocommit mode, so it is not used
        self.connection.execute("BEGIN IMMEDIATE")  # the write lock at once: no upgrade deadlock
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def lock_schema(self) -> None:
        """BEGIN IMMEDIATE already holds the only write lock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def close(self) -> None:
        self.connection.close()


def _sqlite(path: Path) -> sqlite3.Connection:
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


@dataclass(frozen=True)
class PostgresTarget:
    """Where the state database is and how to reach it; the password never shows in repr or logs."""

    host: str  # a name, an address, or a Unix socket folder
    port: int
    user: str
    dbname: str
    password: str | None = field(default=None, repr=False)
    sslmode: str = "verify-full"  # libpq's: verify-full checks the chain and the host name
    sslrootcert: str | None = None  # the CA bundle the server's certificate must chain to
    options: tuple[tuple[str, str], ...] = ()  # other libpq parameters from the URL
    connect_timeout: int = 10

    def display(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def parameters(self) -> dict[str, object]:
        """Keyword arguments for psycopg.connect."""
        given: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
            "sslmode": self.sslmode,
            "connect_timeout": self.connect_timeout,
            "application_name": "triage",
            # a dead server or a cut network shows within a minute, not after the kernel's two hours
            "keepalives": 1,
            "keepalives_idle": 20,
            "keepalives_interval": 5,
            "keepalives_count": 4,
            **dict(self.options),
        }
        if self.password is not None:
            given["password"] = self.password
        if self.sslrootcert is not None:
            given["sslrootcert"] = self.sslrootcert
        return given


def open_database(location: Path | PostgresTarget) -> Database:
    """A SQLite file for a path; PostgreSQL for a target (psycopg and libpq are loaded only then)."""
    if isinstance(location, Path):
        return SqliteDatabase(location)
    try:
        from triage.state.postgres import PostgresDatabase
    except ImportError as exc:  # psycopg without libpq
        raise DatabaseUnavailable(f"PostgreSQL needs libpq: apt-get install libpq5 ({exc})") from None
    return PostgresDatabase(location)


class Guard(Protocol):
    """Checked at the start of every write transaction; raises to refuse the write."""

    def check(self, db: Database) -> None: ...


class Tables:
    """What every table's methods share: the connection and all-or-nothing writes."""

    db: Database
    fence: Guard | None = None  # set while a daemon works a mailbox under a lease

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; refused (LeaseLost) when the fence's lease has passed to another daemon."""
        with self.db.transaction():
            if self.fence is not None:
                self.fence.check(self.db)
            yield


def iso_or_start(moment: datetime | None) -> str:
    """A lower bound for ISO-8601 UTC text columns; "" (before everything) for none."""
    return moment.astimezone(UTC).isoformat() if moment is not None else ""
