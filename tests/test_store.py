"""The state database, on SQLite and on PostgreSQL alike: migrations, exactly-once bookkeeping, leases."""

from __future__ import annotations

import stat
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.postgres_server import Postgres
from triage.domain import Cursor, MessageRef
from triage.errors import LeaseLost
from triage.state.corrections import Correction
from triage.state.database import PostgresTarget
from triage.state.leases import Fence
from triage.state.messages import PlannedRecord
from triage.state.migrations import MIGRATIONS
from triage.state.replies import Reply
from triage.state.store import Store

NOW = datetime(2026, 11, 20, tzinfo=UTC)
Location = Path | PostgresTarget


def test_migrations_are_applied_once_and_recorded(state_location: Location) -> None:
    store = Store(state_location)
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    store.close()
    assert Store(state_location).migrate() == []


def test_the_database_file_is_owner_only(db_path: Path) -> None:
    Store(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_cursor_advances_with_the_batch(state_location: Location) -> None:
    store = Store(state_location)
    ref = MessageRef("m", "INBOX", 7, 3)
    store.record_received([ref], NOW)
    assert store.finished_uids("m", "INBOX", 7, 0) == set()
    store.record_done([ref], NOW, ("m", "INBOX", Cursor(7, 3)))
    assert store.cursor("m", "INBOX") == Cursor(7, 3)
    assert store.finished_uids("m", "INBOX", 7, 0) == {3}


def test_a_batch_that_fails_half_way_writes_nothing(state_location: Location) -> None:
    store = Store(state_location)
    good = [MessageRef("m", "INBOX", 1, uid) for uid in range(1, 6)]
    broken = MessageRef("m", "INBOX", 1, object())  # type: ignore[arg-type]  # cannot be bound: row 6 fails
    with pytest.raises(Exception, match="(?i)bind|adapt"):
        store.record_received([*good, broken], datetime(2026, 11, 22, tzinfo=UTC))
    assert store.messages() == [], "the five rows before the failure are rolled back too"
    store.record_received(good, datetime(2026, 11, 22, tzinfo=UTC))
    assert len(store.messages()) == 5


def planned(ref: MessageRef, confidence: float) -> PlannedRecord:
    return PlannedRecord(
        ref=ref,
        message_key="<k@x>",
        message_id="<k@x>",
        thread_id=None,
        sender="ann@example.org",
        subject="Broken",
        received_at=NOW,
        label="complaint",
        confidence=confidence,
        model_version="v1",
        rule=None,
        outcome="drafted",
        reason="model",
        template="complaint",
        draft_message_id="<d@x>",
    )


def test_uids_and_confidences_come_back_as_they_went_in(state_location: Location) -> None:
    """IMAP UIDs reach 2^32 - 1 and a confidence keeps its double precision on both backends."""
    store = Store(state_location)
    ref = MessageRef("m", "INBOX", 4_294_967_295, 4_294_967_294)
    store.record_received([ref], NOW)
    store.record_plans([planned(ref, 0.7312345678901)], NOW)
    (stored,) = store.messages("m")
    assert stored.ref == ref and stored.confidence == 0.7312345678901
    assert store.planned_drafts([ref]) == {ref: "<d@x>"}


def test_times_compare_as_text_in_byte_order(state_location: Location) -> None:
    """ISO times with and without fractions order by time, whatever the database's locale."""
    store = Store(state_location)
    for second, fraction in ((10, 0), (10, 500000), (11, 0)):
        store.record_snapshot("m", NOW.replace(second=second, microsecond=fraction), 1, None)
    got = store.snapshots("m", NOW.replace(second=10, microsecond=1), NOW + timedelta(minutes=1))
    assert [at.second for at, _, _ in got] == [10, 11]


def test_a_report_recorded_twice_keeps_the_latest(state_location: Location) -> None:
    store = Store(state_location)
    store.record_report_sent("m", "2026-W47", NOW, ["a@x"])
    store.record_report_sent("m", "2026-W47", NOW, ["b@x"])
    assert store.report_sent("m", "2026-W47")


def test_a_triaged_message_is_followed_from_draft_to_reply_correction_and_resolution(
    state_location: Location,
) -> None:
    """The joins the report and training read: the same answers on both backends."""
    store = Store(state_location)
    inbox, sent = MessageRef("m", "INBOX", 1, 1), MessageRef("m", "Sent", 1, 1)
    store.record_received([inbox], NOW)
    record = replace(
        planned(inbox, 0.9), model_text="my order is broken", draft_body="Sorry!", facts="{}", owner="Dana"
    )
    store.record_plans([record], NOW)
    store.record_done([inbox], NOW, ("m", "INBOX", Cursor(1, 1)))
    reply = Reply(sent, "<r@x>", "<k@x>", ("<k@x>",), "ann@example.org", "Re: Broken", NOW, "Sorry, sent.")
    store.record_replies([reply], ("m", "Sent", Cursor(1, 1)))
    store.record_correction(Correction("m", "<k@x>", "escalation", "complaint", "relabel", "dana", NOW))

    assert store.drafts_and_replies("m", NOW, NOW + timedelta(days=1)) == [
        ("complaint", "Sorry!", "Sorry, sent.")
    ]
    assert store.first_reply_to("m", ["<k@x>", "<other@x>"]) == "Sorry, sent."
    assert [(t.text, t.label) for t in store.corrected_texts()] == [("my order is broken", "escalation")]
    assert store.current_label("m", "<k@x>") == "escalation"
    assert [b.message_id for b in store.pending_briefs("m")] == ["<k@x>"]
    store.record_notice("m", "<k@x>", "brief", 1, "dana@x", NOW)
    store.record_notice("m", "<k@x>", "brief", 1, "dana@x", NOW)  # delivered twice, recorded once
    assert store.pending_briefs("m") == [] and len(store.notices("m", "<k@x>")) == 1
    assert [c.owner for c in store.open_cases("m")] == ["Dana"]
    assert store.resolve("m", "<k@x>", NOW, "dana") and not store.resolve("m", "<k@x>", NOW, "dana")
    assert store.open_cases("m") == []


def test_a_lease_is_taken_once_renewed_by_its_holder_and_fences_writes(state_location: Location) -> None:
    one, two, worker = Store(state_location), Store(state_location), Store(state_location)
    one.add_leases(["m"])
    leases = one.leases()
    assert leases["m"].holder is None and leases["m"].free_at(NOW)
    generation = one.acquire("m", "host-a:1", NOW, NOW + timedelta(seconds=30))
    assert generation == 1
    assert two.acquire("m", "host-b:2", NOW + timedelta(seconds=5), NOW + timedelta(seconds=35)) is None
    assert one.renew("m", "host-a:1", 1, NOW + timedelta(seconds=40))
    worker.fence = Fence("m", "host-a:1", 1)  # the mailbox's worker writes under the lease
    worker.record_received([MessageRef("m", "INBOX", 1, 1)], NOW)

    later = NOW + timedelta(seconds=41)  # the lease ran out: another daemon takes over
    assert two.acquire("m", "host-b:2", later, later + timedelta(seconds=30)) == 2
    assert not one.renew("m", "host-a:1", 1, later + timedelta(seconds=30))
    with pytest.raises(LeaseLost):
        worker.record_received([MessageRef("m", "INBOX", 1, 2)], later)
    assert [m.ref.uid for m in two.messages("m")] == [1], "the old holder's write was refused"
    assert two.release("m", "host-b:2", 2)
    assert two.leases()["m"].holder is None


def test_live_daemons_are_those_whose_beat_has_not_expired(state_location: Location) -> None:
    store = Store(state_location)
    store.beat("a", NOW, NOW + timedelta(seconds=30))
    store.beat("b", NOW, NOW + timedelta(seconds=5))
    assert store.live_daemons(NOW + timedelta(seconds=10)) == {"a"}
    store.leave("a")
    assert store.live_daemons(NOW) == {"b"}


def test_daemons_starting_together_migrate_once(postgres: Postgres) -> None:
    target = postgres.target(postgres.create_database())
    applied: list[list[str]] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        start.wait()
        with Store(target, migrate=False) as store:
            applied.append(store.migrate())

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(name for names in applied for name in names) == sorted(name for name, _ in MIGRATIONS), (
        "each migration applied by exactly one of them"
    )
    assert Store(target).applied_migrations() == [name for name, _ in MIGRATIONS]
