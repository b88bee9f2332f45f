"""The state database as one object: every table's methods over one SQLite file or PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from triage.state.answers import AnswerBank
from triage.state.cases import CaseLog
from triage.state.corrections import CorrectionLog
from triage.state.database import PostgresTarget, open_database
from triage.state.history import InboxHistory
from triage.state.leases import LeaseTable
from triage.state.messages import MessageLog
from triage.state.migrations import MIGRATIONS, applied_migrations, migrate
from triage.state.replies import ReplyLog


class Store(MessageLog, CorrectionLog, ReplyLog, CaseLog, InboxHistory, LeaseTable, AnswerBank):
    """The state database. One instance per thread: it holds one connection."""

    def __init__(self, location: Path | PostgresTarget, migrate: bool = True) -> None:
        self.db = open_database(location)
        if migrate:
            self.migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        return migrate(self.db)

    def applied_migrations(self) -> list[str]:
        return applied_migrations(self.db)

    def pending_migrations(self) -> list[str]:
        """Migrations this version of triage knows that the database has not had yet."""
        applied = set(self.applied_migrations())
        return [name for name, _ in MIGRATIONS if name not in applied]
