"""Leases as a daemon keeps them: its fair share, the hold its worker checks, writes refused without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Dovecot
from tests.test_imap_end_to_end import write_config
from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.cluster.balance import fair_share, plan_all, plan_leases
from triage.cluster.coordinator import Coordinator
from triage.cluster.lease import LeasedInbox, MailboxLease
from triage.errors import LeaseLost
from triage.state.database import PostgresTarget
from triage.state.leases import LeaseRow
from triage.state.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MAILBOXES = [f"m{i:02d}" for i in range(20)]


def held_by(holder: str | None, expires_in: float = 30) -> LeaseRow:
    return LeaseRow("m", holder, 1, NOW + timedelta(seconds=expires_in) if holder else None)


def test_twenty_mailboxes_over_three_daemons_is_at_most_seven_each() -> None:
    assert [fair_share(20, n) for n in (1, 2, 3, 4)] == [20, 10, 7, 5]


def test_a_daemon_takes_free_mailboxes_up_to_its_share() -> None:
    plan = plan_leases("a", MAILBOXES, {}, {"a", "b", "c"}, set(), NOW)
    assert len(plan.acquire) == 7 and not plan.release


def test_daemons_looking_at_the_same_free_mailboxes_reach_for_different_ones_first() -> None:
    first = [plan_leases(d, MAILBOXES, {}, {"a", "b", "c"}, set(), NOW).acquire[0] for d in "abc"]
    assert len(set(first)) > 1


def test_mailboxes_held_by_another_are_left_and_expired_ones_are_taken() -> None:
    leases = {"m00": held_by("b"), "m01": held_by("b", expires_in=-1), "m02": held_by(None)}
    plan = plan_leases("a", ["m00", "m01", "m02"], leases, {"a", "b"}, set(), NOW)
    assert sorted(plan.acquire) == ["m01", "m02"]


def test_a_daemon_above_its_share_hands_over_the_ones_it_wants_least() -> None:
    held = set(MAILBOXES[:10])
    plan = plan_leases("a", MAILBOXES, {}, {"a", "b", "c"}, held, NOW)  # a third daemon joined
    assert len(plan.release) == 3 and set(plan.release) <= held and not plan.acquire


def test_run_once_takes_every_free_mailbox_and_never_hands_one_over() -> None:
    leases = {"m00": held_by("daemon")}
    assert plan_all("once", ["m00", "m01"], leases, {"daemon"}, set(), NOW).acquire == ("m01",)


class Clock:
    def __init__(self, *then: float) -> None:
        self.now = 100.0
        self.then = list(then)  # the next readings, one per call; then `now` for ever

    def __call__(self) -> float:
        if self.then:
            self.now = self.then.pop(0)
        return self.now


def test_the_hold_runs_out_by_the_local_clock_before_the_lease_expires() -> None:
    clock = Clock()
    lease = MailboxLease("m", "host:1", clock)
    with pytest.raises(LeaseLost, match="another daemon holds it"):
        lease.check()
    lease.grant(4, deadline=110.0)
    assert lease.held() and lease.fence() is not None
    clock.now = 110.5  # the process was paused, or the renewals did not get through
    assert not lease.held()
    with pytest.raises(LeaseLost, match="not renewed in time"):
        lease.check()
    lease.extend(130.0)
    lease.give_up()  # rebalancing: no more writes, the release follows once the worker is idle
    with pytest.raises(LeaseLost, match="handed over"):
        lease.check()


def test_a_worker_without_its_lease_appends_no_draft_and_sets_no_keyword(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    """The moment a pause between a batch's plans and its APPEND would bite: the draft is not written."""
    client = dovecot.client(imap_user)
    client.append("INBOX", b"From: ann@example.org\r\nSubject: hi\r\nMessage-ID: <a@x>\r\n\r\nhello\r\n")
    client.logout()
    config = config_module.load(write_config(tmp_path, dovecot, imap_user), {"TRIAGE_PASSWORD": "secret"})
    clock = Clock()
    lease = MailboxLease(app.mailbox_name(config), "host:1", clock)
    lease.grant(1, deadline=105.0)
    inbox = LeasedInbox(app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets()), lease)
    try:
        clock.now = 106.0
        draft = b"From: support@example.com\r\nSubject: Re: hi\r\nMessage-ID: <d@x>\r\n\r\nsorry\r\n"
        with pytest.raises(LeaseLost):
            inbox.save_drafts([draft])
        with pytest.raises(LeaseLost):
            inbox.add_keywords([1], ["triage_drafted"])
        assert inbox.drafts_present(["<d@x>"]) == set(), "reading goes on; nothing was appended"
        assert "triage_drafted" not in inbox.keywords([1]).get(1, frozenset())
    finally:
        inbox.close()


def test_a_coordinator_takes_its_share_hands_over_to_a_newcomer_and_releases_on_stop(
    state_location: Path | PostgresTarget,
) -> None:
    observer = Store(state_location)
    leases = {m: MailboxLease(m, "a") for m in ("m1", "m2")}
    told: list[str] = []
    coordinator = Coordinator(Store(state_location), "a", leases, 30, on_change=told.append, settle=0)
    coordinator.store.add_leases(sorted(leases))
    coordinator.tick()
    assert all(lease.held() for lease in leases.values()) and sorted(told) == ["m1", "m2"]
    assert observer.live_daemons(observer.db.now()) == {"a"}

    now = observer.db.now()
    observer.beat("b", now, now + timedelta(seconds=30))  # a second daemon: one mailbox each
    coordinator.tick()  # hands one over: its worker stops writing at once
    coordinator.tick()  # the worker is idle: released
    assert sum(lease.held() for lease in leases.values()) == 1
    assert sum(row.holder == "a" for row in observer.leases().values()) == 1

    coordinator.release_all()
    assert {row.holder for row in observer.leases().values()} == {None}
    assert observer.live_daemons(observer.db.now()) == {"b"}


def test_run_once_holds_leases_without_counting_as_a_daemon(state_location: Path | PostgresTarget) -> None:
    observer = Store(state_location)
    lease = MailboxLease("m1", "once")
    coordinator = Coordinator(
        Store(state_location), "once", {"m1": lease}, 30, planner=plan_all, settle=0, register=False
    )
    coordinator.store.add_leases(["m1"])
    coordinator.tick()
    assert lease.held()
    assert observer.live_daemons(observer.db.now()) == set(), "the daemons' fair share is not touched"
    coordinator.release_all()


def draft(message_id: str) -> bytes:
    return (
        f"From: support@example.com\r\nSubject: Re: hi\r\nMessage-ID: {message_id}\r\n\r\nsorry\r\n".encode()
    )


def test_drafts_that_land_after_the_lease_ran_out_are_removed_again(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    """A pause inside the APPEND, long enough for another daemon to take over and write the same
    draft: the late copy is removed, the new holder's stays, and the late writer stops."""
    config = config_module.load(write_config(tmp_path, dovecot, imap_user), {"TRIAGE_PASSWORD": "secret"})
    new_holder = app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets())
    new_holder.save_drafts([draft("<late@x>")])
    clock = Clock(100.0, 200.0)  # checked before the APPEND at 100; after it, at 200: long past the lease
    lease = MailboxLease(app.mailbox_name(config), "host:1", clock)
    lease.grant(1, deadline=110.0)
    paused = LeasedInbox(app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets()), lease)
    try:
        with pytest.raises(LeaseLost):
            paused.save_drafts([draft("<late@x>"), draft("<only-mine@x>")])
        client = dovecot.client(imap_user)
        client.select_folder("Drafts", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", "<late@x>"])) == 1, "one copy, the first"
        assert len(client.search(["HEADER", "Message-ID", "<only-mine@x>"])) == 1, "no other copy: kept"
        client.logout()
    finally:
        paused.close()
        new_holder.close()


def test_a_maildir_removes_late_copies_too(tmp_path: Path) -> None:
    from triage.adapters.maildir_inbox import MaildirInbox

    inbox = MaildirInbox(tmp_path / "Maildir")
    inbox.save_drafts([draft("<a@x>"), draft("<b@x>")])
    inbox.save_drafts([draft("<a@x>")])
    assert inbox.remove_duplicate_drafts(["<a@x>", "<b@x>"]) == 1
    assert inbox.drafts_present(["<a@x>", "<b@x>"]) == {"<a@x>", "<b@x>"}
