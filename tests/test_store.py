"""The state database: migrations recorded, owner-only file, exactly-once bookkeeping."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from triage.domain import Cursor, MessageRef
from triage.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def test_migrations_are_applied_once_and_recorded(db_path: Path) -> None:
    store = Store(db_path)
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    store.close()
    assert Store(db_path).migrate() == []


def test_the_database_file_is_owner_only(db_path: Path) -> None:
    Store(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_cursor_advances_with_the_batch(db_path: Path) -> None:
    store = Store(db_path)
    ref = MessageRef("m", "INBOX", 7, 3)
    store.record_received([ref], NOW)
    assert store.finished_uids("m", "INBOX", 7, 0) == set()
    store.record_done([ref], NOW, ("m", "INBOX", Cursor(7, 3)))
    assert store.cursor("m", "INBOX") == Cursor(7, 3)
    assert store.finished_uids("m", "INBOX", 7, 0) == {3}
