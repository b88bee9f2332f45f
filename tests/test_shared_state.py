"""Several `triage run` daemons sharing mailboxes over one PostgreSQL: leases, balance, takeover, fencing.

Real parts throughout: Dovecot with a mailbox per user, PostgreSQL from initdb, the daemons
as separate processes. Leases are short here (daemon.lease_seconds) so takeovers come fast;
the exactly-once checks are those of the single-host crash tests (tests/test_crash_safety.py),
now with the daemon that dies and the one that takes over on different state connections.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Dovecot, free_port
from tests.postgres_server import DB_PASSWORD, Postgres
from tests.shared_state import (
    Shared,
    drafts_count,
    holder_of,
    signal_group,
    start,
    wait_until,
    write_config,
)
from tests.test_crash_safety import assert_mailbox_intact, backlog, load_backlog, read_inbox
from triage.cli import main

LEASE = 3.0  # seconds: takeovers within a few seconds, renewals every second


@pytest.fixture
def shared(dovecot: Dovecot, postgres: Postgres, request: pytest.FixtureRequest) -> Shared:
    count = getattr(request, "param", 4)
    return Shared([dovecot.add_user() for _ in range(count)], postgres.create_database(), postgres, dovecot)


def stop_all(daemons: list[subprocess.Popen[bytes]]) -> list[int]:
    for daemon in daemons:
        if daemon.poll() is None:
            signal_group(daemon, signal.SIGCONT)
            daemon.send_signal(signal.SIGTERM)
    codes = []
    for daemon in daemons:
        try:
            codes.append(daemon.wait(timeout=60))
        except subprocess.TimeoutExpired:
            signal_group(daemon, signal.SIGKILL)
            codes.append(daemon.wait())
    return codes


def assert_exactly_once(shared: Shared, counts: dict[str, int], context: str) -> None:
    """Every message done once, one draft per drafted row, nothing \\Seen, no Message-ID twice."""
    for user, count in counts.items():
        drafts = assert_mailbox_intact(shared.dovecot, user, count, f"{user} {context}")
        inbox = read_inbox(shared.dovecot, user)
        rows = shared.sql(
            "SELECT uid, status, draft_message_id FROM messages WHERE mailbox = %s AND folder = 'INBOX'"
            " AND uidvalidity = %s",
            (shared.mailbox(user), inbox.uidvalidity),
        )
        assert sorted(int(r[0]) for r in rows) == sorted(inbox.flags), (
            f"{user}: one row per message {context}"
        )  # type: ignore[call-overload]
        assert {r[1] for r in rows} == {"done"}, f"{user}: every message done {context}"
        assert sorted(drafts.replies) == sorted(str(r[2]) for r in rows if r[2]), (
            f"{user}: one draft each {context}"
        )
        briefs = shared.sql(
            "SELECT COUNT(*) FROM messages WHERE mailbox = %s AND facts IS NOT NULL", (shared.mailbox(user),)
        )[0][0]
        assert len(drafts.notices) == briefs, f"{user}: one brief per escalation {context}"


@pytest.mark.parametrize("shared", [20], indirect=True)
def test_three_daemons_share_twenty_mailboxes_each_held_by_one(
    shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {}
    for index, user in enumerate(shared.users):
        messages = backlog(3, f"three-{index}")
        load_backlog(shared.dovecot, user, messages)
        counts[user] = len(messages)
    ports = [free_port() for _ in range(3)]
    daemons = [
        start(write_config(tmp_path / f"d{i}.yaml", shared, LEASE, metrics_port=port), tmp_path / f"d{i}.log")
        for i, port in enumerate(ports)
    ]
    try:
        drained = wait_until(lambda: shared.statuses().get("done") == 60, 180, "60 messages done")
        names = {holder_of(daemon) for daemon in daemons}
        balanced = wait_until(
            lambda: (
                set(shared.holders().values()) == names
                and max(Counter(shared.holders().values()).values()) <= 7
                and len(shared.holders()) == 20
            ),
            60,
            "every mailbox held, by all three daemons, at most 7 each",
        )
        print(f"three daemons: 60 messages done in {drained:.1f} s, balanced {balanced:.1f} s later")

        def metrics_show_every_holder() -> bool:
            text = urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/metrics", timeout=5).read().decode()
            shown = {
                sample.labels["mailbox"]: sample.labels["holder"]
                for family in text_string_to_metric_families(text)
                if family.name == "triage_mailbox_holder"
                for sample in family.samples
                if sample.value == 1
            }
            return shown == shared.holders()

        wait_until(metrics_show_every_holder, 3 * LEASE, "Prometheus shows who holds each mailbox")

        leaving = daemons[0]
        left_behind = [m for m, h in shared.holders().items() if h == holder_of(leaving)]
        leaving.send_signal(signal.SIGTERM)
        assert leaving.wait(timeout=60) == 0
        released = shared.sql("SELECT mailbox FROM leases WHERE holder = %s", (holder_of(leaving),))
        assert not released, "SIGTERM gave every lease back: nobody waits for them to expire"
        user = left_behind[0].split("@")[0]
        load_backlog(shared.dovecot, user, backlog(1, "after-sigterm"))
        counts[user] += 1
        took = wait_until(
            lambda: all(shared.holders().get(m) in names - {holder_of(leaving)} for m in left_behind),
            60,
            "released leases taken over",
        )
        print(f"SIGTERM: {len(left_behind)} released mailboxes taken over in {took:.1f} s")
        wait_until(lambda: shared.statuses(user).get("done") == counts[user], 60, "new mail drafted")
    finally:
        codes = stop_all(daemons)
    logs = "".join((tmp_path / f"d{i}.log").read_text() for i in range(3))
    assert codes == [0, 0, 0], logs[-3000:]
    assert_exactly_once(shared, counts, "(three daemons)")
    assert shared.sql("SELECT COUNT(*) FROM leases WHERE holder IS NOT NULL")[0][0] == 0, "all released"
    assert "Secret" not in logs

    # the commands read every mailbox from the shared database, whichever daemon worked it
    monkeypatch.setenv("TRIAGE_DB_PASSWORD", DB_PASSWORD)
    config = str(tmp_path / "d1.yaml")
    capsys.readouterr()
    assert main(["--config", config, "status"]) == 0
    status = capsys.readouterr().out
    assert all(f"== {user} ({shared.mailbox(user)})" in status for user in shared.users)
    assert main(["--config", config, "open"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("MAILBOX") and len({line.split()[0] for line in listed.splitlines()[1:]}) == 20
    assert main(["--config", config, "export", "--since", "2000-01-01", "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert {row["mailbox"] for row in exported} == set(shared.users)
    assert main(["--config", config, "report"]) == 0
    assert capsys.readouterr().out.count("Inbox health") == 20, "one report per team"


def start_on_backlogs(
    shared: Shared, tmp_path: Path, messages: int, batch_size: int, daemons: int
) -> tuple[dict[str, int], list[subprocess.Popen[bytes]]]:
    """A backlog in every mailbox, then the daemons (logs in tmp_path/dN.log)."""
    for user in shared.users:
        load_backlog(shared.dovecot, user, backlog(messages, f"{tmp_path.name}-{user}"))
    configs = [write_config(tmp_path / f"d{i}.yaml", shared, LEASE, batch_size) for i in range(daemons)]
    return {user: messages for user in shared.users}, [
        start(config, tmp_path / f"d{i}.log") for i, config in enumerate(configs)
    ]


def survivors_hold(shared: Shared, mailboxes: list[str], survivors: set[str]) -> bool:
    holders = shared.holders()
    return all(holders.get(mailbox) in survivors for mailbox in mailboxes)


@pytest.mark.parametrize("shared", [4], indirect=True)
def test_a_killed_holders_mailboxes_are_taken_over_with_nothing_lost_or_drafted_twice(
    shared: Shared, tmp_path: Path
) -> None:
    counts, daemons = start_on_backlogs(shared, tmp_path, messages=150, batch_size=25, daemons=3)
    try:

        def mid_backlog() -> str | None:
            holders = shared.holders()
            for user in shared.users:
                done = shared.statuses(user).get("done", 0)
                if 25 <= done <= counts[user] - 50 and shared.mailbox(user) in holders:
                    return user
            return None

        wait_until(lambda: mid_backlog() is not None, 180, "a mailbox part-way through its backlog")
        user = mid_backlog()
        assert user is not None
        holder = shared.holders()[shared.mailbox(user)]
        victim = next(d for d in daemons if holder_of(d) == holder)
        orphaned = [m for m, h in shared.holders().items() if h == holder]
        at_kill = drafts_count(shared.dovecot, user)
        signal_group(victim, signal.SIGKILL)
        victim.wait(timeout=30)
        survivors = {holder_of(d) for d in daemons if d is not victim}
        failover = wait_until(
            lambda: (
                survivors_hold(shared, orphaned, survivors) and drafts_count(shared.dovecot, user) > at_kill
            ),
            LEASE + 30,
            "the first draft by the new holder",
        )
        print(
            f"SIGKILL of {holder} holding {len(orphaned)} mailboxes: first draft by the new holder after {failover:.1f} s"
        )
        wait_until(lambda: shared.statuses().get("done") == sum(counts.values()), 240, "every backlog done")
    finally:
        codes = stop_all([d for d in daemons if d.poll() is None])
    assert set(codes) == {0}
    assert_exactly_once(shared, counts, "(after a SIGKILL)")


@pytest.mark.parametrize("shared", [2], indirect=True)
def test_a_paused_holder_whose_lease_expired_writes_nothing_when_it_resumes(
    shared: Shared, tmp_path: Path
) -> None:
    # small batches over a long backlog: the pause comes while the paused daemon is part-way through
    counts, daemons = start_on_backlogs(shared, tmp_path, messages=600, batch_size=5, daemons=2)
    try:
        wait_until(lambda: len(set(shared.holders().values())) == 2, 120, "each daemon holds a mailbox")
        paused = daemons[0]
        (mailbox,) = [m for m, h in shared.holders().items() if h == holder_of(paused)]
        user = mailbox.split("@")[0]
        wait_until(
            lambda: shared.statuses(user).get("done", 0) >= 20, 120, "the paused one's backlog under way"
        )
        done = shared.statuses(user).get("done", 0)
        assert done < counts[user] - 100, f"the backlog went too fast to pause part-way ({done} done)"
        # between two batches: the next batch is being fetched and decided, its writes still to come
        wait_until(lambda: shared.statuses(user).get("done", 0) > done, 60, "a batch done", step=0.002)
        signal_group(paused, signal.SIGSTOP)
        at_pause = shared.statuses(user)
        other = holder_of(daemons[1])
        took = wait_until(lambda: shared.holders().get(mailbox) == other, 60, "taken over")
        wait_until(
            lambda: shared.statuses(user).get("done") == counts[user], 120, "the new holder finishes it"
        )
        signal_group(paused, signal.SIGCONT)
        wait_until(
            lambda: "stopped writing" in (tmp_path / "d0.log").read_text(), 30, "the resumed one stops"
        )
        time.sleep(2 * LEASE)  # it beats again, and may take a lease again: under a new generation
        print(f"paused at {at_pause}; taken over after {took:.1f} s")
    finally:
        codes = stop_all(daemons)
    log = (tmp_path / "d0.log").read_text()
    assert codes == [0, 0], log[-3000:]
    assert f"{mailbox}: lease lost" in log
    assert_exactly_once(shared, counts, "(after a pause)")
