"""The state in PostgreSQL, shared by daemons on several hosts: psycopg 3 over libpq, TLS checked.

The connection is made on the first statement and made again after it broke: a daemon
rides out a database restart or a network cut, each lost statement raised as
DatabaseUnavailable for the caller to retry. Statements arrive in SQLite's dialect and
are translated once each (`state/dialect.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg

from triage.errors import DatabaseUnavailable
from triage.state.database import Database, PostgresTarget, Rows
from triage.state.dialect import to_postgres

SCHEMA_LOCK = 0x7472696167  # "triag": the advisory lock key held while migrating


class PostgresDatabase(Database):
    """One psycopg connection in autocommit mode; transactions are explicit."""

    def __init__(self, target: PostgresTarget) -> None:
        self.target = target
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._depth = 0  # inside transaction(): errors are mapped there, once

    @property
    def connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = psycopg.connect(autocommit=True, **self.target.parameters())  # type: ignore[arg-type]
            except psycopg.Error as exc:
                raise DatabaseUnavailable(f"{self.target.display()}: {_first_line(exc)}") from None
        return self._connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        with self._mapped_errors():
            return self.connection.execute(to_postgres(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self._mapped_errors(), self.connection.cursor() as cursor:
            cursor.executemany(to_postgres(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        connection = self.connection
        self._depth += 1
        try:
            with self._mapped_errors(outermost=True), connection.transaction():
                yield
        finally:
            self._depth -= 1

    def lock_schema(self) -> None:
        self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def now(self) -> datetime:
        moment: datetime = self.execute("SELECT clock_timestamp()").fetchone()[0]
        return moment.astimezone(UTC)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def encrypted(self) -> bool:
        """Whether the connection runs over TLS (`triage doctor` shows it)."""
        return bool(self.connection.pgconn.ssl_in_use)

    @contextmanager
    def _mapped_errors(self, outermost: bool = False) -> Iterator[None]:
        """A broken connection becomes DatabaseUnavailable (and is dropped); other errors stay."""
        if self._depth and not outermost:
            yield
            return
        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if self._connection is None or not self._connection.broken and not self._connection.closed:
                raise
            self.close()
            raise DatabaseUnavailable(f"{self.target.display()}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
