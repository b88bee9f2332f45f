"""The state database as one object: every table's methods over one SQLite file."""

from __future__ import annotations

from pathlib import Path

from triage.state.answers import AnswerBank
from triage.state.cases import CaseLog
from triage.state.corrections import CorrectionLog
from triage.state.database import connect
from triage.state.history import InboxHistory
from triage.state.messages import MessageLog
from triage.state.migrations import migrate
from triage.state.replies import ReplyLog


class Store(MessageLog, CorrectionLog, ReplyLog, CaseLog, InboxHistory, AnswerBank):
    """The state database. One instance per process; not shared across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)
        self.migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        return migrate(self.db, self.transaction)

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT name FROM migrations ORDER BY name")]
