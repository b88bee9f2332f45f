"""The state database: migrations recorded, owner-only file, exactly-once bookkeeping."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from triage.domain import Cursor, MessageRef
from triage.state.migrations import MIGRATIONS
from triage.state.store import Store

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


def test_a_batch_that_fails_half_way_writes_nothing(db_path: Path) -> None:
    import sqlite3

    import pytest

    store = Store(db_path)
    good = [MessageRef("m", "INBOX", 1, uid) for uid in range(1, 6)]
    broken = MessageRef("m", "INBOX", 1, object())  # type: ignore[arg-type]  # cannot be bound: row 6 fails
    with pytest.raises(sqlite3.Error):
        store.record_received([*good, broken], datetime(2026, 11, 22, tzinfo=UTC))
    assert store.messages() == [], "the five rows before the failure are rolled back too"
    store.record_received(good, datetime(2026, 11, 22, tzinfo=UTC))
    assert len(store.messages()) == 5
