"""Crash safety (issue 6): SIGKILL `triage run` at random moments through a backlog.

A fresh Dovecot user gets a backlog of distinct messages (the demo mailbox cycled, each
copy with its own Message-ID). The daemon (`triage run`, or `triage run --once`) is
started on it again and again and killed with SIGKILL part-way, then one `run --once`
finishes. Whatever the moments of the kills, the pipeline's exactly-once design
(triage/pipeline.py) must leave: one `done` row per INBOX message, one draft per row
that names a draft, no Message-ID twice in Drafts, no original \\Seen or deleted.

The moments are random but reproducible: the seed is printed (shown when a test fails)
and TRIAGE_CRASH_SEED replays it. One kill comes during start-up; most wait for a random
batch of the backlog and then, in turn, kill right after the batch's drafts were
appended (before the commit that marks it done), at a random moment of the batch
(a fraction of the batch time measured on this machine), or shortly after its plans were
committed; the last kill comes while escalation briefs are saved after the backlog.

The long run:
    TRIAGE_CRASH_N=2000 TRIAGE_CRASH_KILLS=30 .venv/bin/python -m pytest tests/test_crash_safety.py -m slow
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, Dovecot

DEMO = sorted((REPO / "triage" / "demo_mailbox" / "INBOX").glob("*.eml"))
BATCH_SIZE = 50  # many commit points: a kill lands in a different batch each time
APPEND_CHUNK = 200
APPEND_SHARE = 0.3  # of a batch's time, about what the APPEND, keywords and commit take
CYCLE_TIMEOUT = 120.0
PHASES = (
    "drafts",
    "received",
    "plans",
)  # where in a batch the backlog kills aim, in turn  # seconds for one start-until-kill; a slow CI box takes a few


@dataclass(frozen=True)
class Kill:
    """One start-and-kill, with the state it left behind."""

    number: int
    mode: str  # "daemon" (`triage run`) or "once" (`triage run --once`)
    trigger: str  # what the kill waited for
    after_seconds: float  # from the start of the process to the SIGKILL (or its own exit)
    exited: bool  # `run --once` finished before the kill came
    done: int
    planned: int
    received: int
    drafts: int
    notices: int

    def line(self) -> str:
        how = "exited by itself" if self.exited else "SIGKILL"
        return (
            f"kill {self.number:>2} {self.mode:<6} {self.trigger:<28} {how:<16} at {self.after_seconds:5.2f}s:"
            f" done={self.done} planned={self.planned} received={self.received}"
            f" drafts={self.drafts} notices={self.notices}"
        )


@dataclass(frozen=True)
class Drafts:
    """Message-IDs in the Drafts folder: replies to customers and notices (briefs, reminders)."""

    replies: list[str]
    notices: list[str]


@dataclass(frozen=True)
class Inbox:
    uidvalidity: int
    flags: dict[int, tuple[bytes, ...]]


def backlog(n: int, tag: str) -> list[bytes]:
    """N distinct messages cycled from the demo mailbox, each with its own Message-ID."""
    sources = [path.read_bytes() for path in DEMO]
    return [
        re.sub(
            rb"(?im)^Message-ID:.*$",
            f"Message-ID: <crash-{i}-{tag}@crash.example>".encode(),
            sources[i % len(sources)],
            count=1,
        )
        for i in range(n)
    ]


def load_backlog(dovecot: Dovecot, user: str, messages: list[bytes]) -> None:
    client = dovecot.client(user)
    for start in range(0, len(messages), APPEND_CHUNK):
        client.multiappend("INBOX", messages[start : start + APPEND_CHUNK])
    client.logout()


def write_config(tmp_path: Path, dovecot: Dovecot, user: str) -> Path:
    path = tmp_path / "config.yaml"
    settings = {
        "mailbox": {"url": dovecot.url(user), "ca_file": str(dovecot.ca_file), "batch_size": BATCH_SIZE},
        "team": {
            "name": "Northwind Support",
            "address": "support@northwind.example",
            "own_addresses": ["alice@northwind.example", "ben@northwind.example"],
        },
        "classifier": {"model_dir": str(REPO / "models")},
        "drafting": {"templates_dir": str(REPO / "templates")},
        "state": {"database": str(tmp_path / "state.sqlite3")},
        "daemon": {"poll_interval_seconds": 300},
    }
    path.write_text(yaml.safe_dump(settings))
    return path


def run_daemon(config: Path, log: Path, *extra: str, **env: str) -> subprocess.Popen[bytes]:
    """`triage run` in a session of its own, so a kill or a stop takes its parse workers too."""
    environment = {**os.environ, "TRIAGE_PASSWORD": "secret", **env}
    environment.pop("TRIAGE_MAILBOX", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "triage", "--config", str(config), "run", *extra],
            cwd=REPO,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def start(config: Path, mode: str, log: Path) -> subprocess.Popen[bytes]:
    return run_daemon(config, log, *(["--once"] if mode == "once" else []))


def kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def read_only(db: Path) -> sqlite3.Connection:
    """WAL: the daemon's writes never wait for this reader."""
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)


def rows_in(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    connection = read_only(db)
    try:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet: start-up is still running
        return 0
    finally:
        connection.close()


def statuses(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    connection = read_only(db)
    try:
        rows = connection.execute("SELECT status, COUNT(*) FROM messages GROUP BY status").fetchall()
    except sqlite3.OperationalError:  # killed during start-up, before the migrations
        return {}
    finally:
        connection.close()
    return {str(status): int(count) for status, count in rows}


def read_drafts(dovecot: Dovecot, user: str) -> Drafts:
    client = dovecot.client(user)
    replies: list[str] = []
    notices: list[str] = []
    if client.folder_exists("Drafts"):
        client.select_folder("Drafts", readonly=True)
        uids = client.search(["ALL"])
        for start in range(0, len(uids), 500):
            fetched = client.fetch(
                uids[start : start + 500], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID X-TRIAGE)]"]
            )
            for uid, data in fetched.items():
                header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID X-TRIAGE)]"].decode("ascii", "replace")
                found = re.search(r"(?im)^Message-ID:\s*(<[^<>\s]+>)", header)
                message_id = found.group(1) if found else f"(no Message-ID, uid {uid})"
                # replies say "X-Triage: draft; ...", notices "X-Triage: brief; <case>" or "reminder; ..."
                is_reply = re.search(r"(?im)^X-Triage:\s*draft\b", header) is not None
                (replies if is_reply else notices).append(message_id)
    client.logout()
    return Drafts(replies, notices)


@contextmanager
def drafts_in(dovecot: Dovecot, user: str) -> Iterator[Callable[[], int]]:
    """How many messages Drafts holds now, over one connection kept open."""
    client = dovecot.client(user)

    def count() -> int:
        if not client.folder_exists("Drafts"):
            return 0
        return int(client.folder_status("Drafts", [b"MESSAGES"])[b"MESSAGES"])

    try:
        yield count
    finally:
        client.logout()


def read_inbox(dovecot: Dovecot, user: str) -> Inbox:
    client = dovecot.client(user)
    selected = client.select_folder("INBOX", readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    return Inbox(int(selected[b"UIDVALIDITY"]), flags)


def twice(ids: list[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def assert_mailbox_intact(dovecot: Dovecot, user: str, count: int, when: str) -> Drafts:
    """What must hold at every moment, not only at the end."""
    inbox = read_inbox(dovecot, user)
    assert len(inbox.flags) == count, f"{when}: INBOX has {len(inbox.flags)} messages, loaded {count}"
    seen = [uid for uid, flags in inbox.flags.items() if b"\\Seen" in flags]
    assert not seen, f"{when}: {len(seen)} originals marked \\Seen, e.g. uid {seen[:5]}"
    drafts = read_drafts(dovecot, user)
    duplicated = twice(drafts.replies + drafts.notices)
    assert not duplicated, f"{when}: {len(duplicated)} Message-IDs twice in Drafts, e.g. {duplicated[:5]}"
    return drafts


@dataclass(frozen=True)
class Target:
    """When to kill: once `table` has `at_least` rows (None: from the start), then a random
    `fraction` of the time the process takes to add the next rows (a batch, a brief).
    `phase` "received": aim anywhere in the batch; "plans": wait for its plans to be
    committed, then aim at the APPEND, keywords and final commit; "drafts": wait until its
    drafts are in Drafts and kill at once, before the commit that marks it done."""

    label: str
    table: str
    at_least: int | None
    fraction: float
    phase: str = "received"


class Pace:
    """Seconds between two steps of the table's row count, measured as the daemon runs: the
    kills scale with the machine instead of a guess of how fast it is."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def watch(self, db: Path, table: str, at_least: int, process: subprocess.Popen[bytes]) -> bool:
        """Wait until `table` has `at_least` rows; False when the process ended first."""
        last_count, last_change, steps = rows_in(db, table), None, []
        deadline = time.monotonic() + CYCLE_TIMEOUT
        while last_count < at_least:
            if process.poll() is not None:
                return False
            if time.monotonic() > deadline:
                kill(process)
                pytest.fail(f"{at_least} rows in {table} not reached in {CYCLE_TIMEOUT}s")
            time.sleep(0.002)
            count = rows_in(db, table)
            if count != last_count:
                now = time.monotonic()
                if last_change is not None:
                    steps.append(now - last_change)
                last_count, last_change = count, now
        if steps:
            self.seconds = sorted(steps)[len(steps) // 2]
        return True


def wait_for_plans(db: Path, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + CYCLE_TIMEOUT
    while not statuses(db).get("planned"):
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def wait_for_more_drafts(drafts_count: Callable[[], int], process: subprocess.Popen[bytes]) -> None:
    before, deadline = drafts_count(), time.monotonic() + CYCLE_TIMEOUT
    while drafts_count() == before and process.poll() is None and time.monotonic() < deadline:
        pass  # one IMAP STATUS per turn: about a millisecond


def one_cycle(
    number: int,
    rng: random.Random,
    config: Path,
    paces: dict[str, Pace],
    log: Path,
    target: Target,
    count: int,
    drafts_count: Callable[[], int],
) -> tuple[str, float, bool]:
    """Start triage, kill it when `target` is reached; (mode, seconds, exited by itself)."""
    mode = rng.choice(("daemon", "once"))
    with log.open("ab") as out:
        out.write(f"\n=== kill {number}: {mode}, {target.label} +{target.fraction:.2f}\n".encode())
    process = start(config, mode, log)
    started = time.monotonic()
    if target.at_least is None:
        time.sleep(target.fraction)
    else:
        pace = paces[target.table]
        db = config.parent / "state.sqlite3"
        # a batch an earlier run already received: wait for this run's first new one instead
        at_least = (
            max(target.at_least, rows_in(db, target.table) + 1)
            if target.table == "messages"
            else target.at_least
        )
        if pace.watch(db, target.table, min(at_least, count), process):
            if target.phase == "received":
                time.sleep(target.fraction * pace.seconds)
            elif wait_for_plans(db, process) and target.phase == "plans":
                time.sleep(target.fraction * pace.seconds * APPEND_SHARE)
            elif target.phase == "drafts":
                wait_for_more_drafts(drafts_count, process)
    exited = process.poll() is not None
    if exited and (mode == "daemon" or process.returncode != 0):
        pytest.fail(f"kill {number}: triage {mode} ended by itself with {process.returncode}; see {log}")
    kill(process)
    return mode, time.monotonic() - started, exited


def targets(rng: random.Random, count: int, kills: int) -> list[Target]:
    """Kill 0 during start-up (migrations, model, login); the last while escalation briefs
    are saved after the backlog; the others in random batches of the backlog but the last,
    at a random moment of the batch, after its plans, or right after its APPEND."""
    last_but_one = max(1, count - BATCH_SIZE)
    points = sorted(rng.randint(1, last_but_one) for _ in range(max(kills - 2, 0)))
    chosen = [Target("start-up", "messages", None, rng.uniform(0.05, 2.0))]
    chosen += [
        Target(f"batch of msg {p}, {PHASES[i % 3]}", "messages", p, rng.uniform(0, 0.8), PHASES[i % 3])
        for i, p in enumerate(points)
    ]
    briefs = rng.randint(1, max(1, count // 10))  # about a fifth of the demo mail is an escalation
    chosen += [Target(f"{briefs} briefs saved", "notices", briefs, rng.uniform(0.0, 1.0))]
    return chosen[:kills]


def crash_repeatedly(dovecot: Dovecot, tmp_path: Path, count: int, kills: int) -> None:
    """The scenario and every assertion; prints the seed and one line per kill."""
    seed = int(os.environ.get("TRIAGE_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    print(f"crash safety: {count} messages, {kills} kills, TRIAGE_CRASH_SEED={seed}")
    user = dovecot.add_user()
    started = time.monotonic()
    load_backlog(dovecot, user, backlog(count, f"{seed:x}"))
    print(f"loaded {count} messages in {time.monotonic() - started:.1f}s")
    config, db, log = (
        write_config(tmp_path, dovecot, user),
        tmp_path / "state.sqlite3",
        tmp_path / "triage.log",
    )

    history: list[Kill] = []
    paces = {"messages": Pace(0.3), "notices": Pace(0.03)}  # first guesses, then measured
    for number, target in enumerate(targets(rng, count, kills)):
        with drafts_in(dovecot, user) as drafts_count:
            mode, seconds, exited = one_cycle(number, rng, config, paces, log, target, count, drafts_count)
        state = statuses(db)
        drafts = assert_mailbox_intact(dovecot, user, count, f"after kill {number} (seed {seed})")
        history.append(
            Kill(
                number,
                mode,
                target.label,
                seconds,
                exited,
                state.get("done", 0),
                state.get("planned", 0),
                state.get("received", 0),
                len(drafts.replies),
                len(drafts.notices),
            )
        )
        print(history[-1].line())

    started = time.monotonic()
    final = start(config, "once", log)
    assert final.wait(timeout=600) == 0, f"the last `run --once` failed (seed {seed}); see {log}"
    print(f"final run --once: {time.monotonic() - started:.1f}s")

    drafts = assert_mailbox_intact(dovecot, user, count, f"at the end (seed {seed})")
    inbox = read_inbox(dovecot, user)
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT folder, uidvalidity, uid, message_id, outcome, status, draft_message_id FROM messages"
        ).fetchall()
        notices = connection.execute("SELECT kind, message_id FROM notices").fetchall()
        briefs_due = connection.execute(
            "SELECT COUNT(*) FROM messages WHERE facts IS NOT NULL AND status = 'done'"
        ).fetchone()[0]
    connection.close()
    uids = [
        uid for folder, uidvalidity, uid, *_ in rows if folder == "INBOX" and uidvalidity == inbox.uidvalidity
    ]
    draft_ids = [row[6] for row in rows if row[6]]
    drafted_uids = {row[2] for row in rows if row[6]}
    keyworded = {uid for uid, flags in inbox.flags.items() if b"triage_drafted" in flags}
    print(
        f"result: {len(rows)} rows, {len(draft_ids)} with a draft, {len(drafts.replies)} reply drafts,"
        f" {len(drafts.notices)} notices in Drafts, {len(notices)} notices recorded"
    )

    context = f"(seed {seed}, log {log})"
    assert len(rows) == len(uids) == count, f"one row per INBOX message {context}"
    assert sorted(uids) == sorted(inbox.flags), f"rows and INBOX UIDs differ {context}"
    assert len({row[3] for row in rows}) == count, f"one row per Message-ID {context}"
    assert {row[5] for row in rows} == {"done"}, f"every message done {context}"
    assert all(row[4] for row in rows), f"every message has an outcome {context}"
    assert len(draft_ids) >= count // 2, f"most of the demo mail is drafted {context}"
    assert len(drafts.replies) == len(draft_ids), f"one draft per row that names one {context}"
    assert sorted(drafts.replies) == sorted(draft_ids), f"the drafts are the ones recorded {context}"
    assert keyworded == drafted_uids, f"triage_drafted on exactly the drafted originals {context}"
    assert len(drafts.notices) == len(notices) == briefs_due, f"one brief per escalation {context}"
    in_flight = [k for k in history if k.planned or k.received]
    assert in_flight or kills < 3, f"no kill came between a batch's first and last commit {context}"


def test_sigkill_at_random_moments_loses_nothing_and_drafts_nothing_twice(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    """CI's quick run: 300 messages, 4 kills, well under a minute."""
    crash_repeatedly(dovecot, tmp_path, count=300, kills=4)


@pytest.mark.slow
def test_sigkill_through_a_large_backlog(dovecot: Dovecot, tmp_path: Path) -> None:
    """2,000 messages and 12 kills by default (about a minute here); TRIAGE_CRASH_N and
    TRIAGE_CRASH_KILLS make it longer, see the module docstring."""
    crash_repeatedly(
        dovecot,
        tmp_path,
        count=int(os.environ.get("TRIAGE_CRASH_N", "2000")),
        kills=int(os.environ.get("TRIAGE_CRASH_KILLS", "12")),
    )
