"""IDLE latency: from the APPEND of one customer message to its reply draft in Drafts.

Starts a throwaway Dovecot and `triage run` (the daemon, IDLE on, the timed poll an hour
away so only IDLE can wake it) on an empty mailbox; then, K times: APPEND one message to
INBOX from another connection and time until a new message shows in Drafts (STATUS
polled every --poll-ms on a third connection). Baseline, on the same APPENDs: a bare
imapclient IDLE on INBOX, timed to its EXISTS (the server's own notification delay:
Dovecot waits ~0.5 s after a change before telling IDLE clients).

With --history H, H messages (the demo mailbox cycled) are in INBOX before the daemon
starts: its first poll triages them, and the K timed messages then meet a store with
that much history (per-poll work that grows with history shows here).

Usage: python bench/idle_latency.py [--k 100] [--gap 1.0] [--poll-ms 20] [--history 0]
       [--max-wait 30]
Needs Debian's dovecot-imapd (`make test` installs it).
"""

from __future__ import annotations

import argparse
import queue
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import imapclient
from backlog import make_messages
from harness import REPO, start_triage, stop, wait_until, write_config

from tests.conftest import start_dovecot

TEMPLATE = (REPO / "triage" / "demo_mailbox" / "INBOX" / "02-password-reset.eml").read_bytes()


def customer_message(i: int) -> bytes:
    """The demo's password question (a small fix: one reply draft, no brief), made unique."""
    data = re.sub(rb"(?im)^Message-ID:.*$", f"Message-ID: <idle-{i}@bench.example>".encode(), TEMPLATE)
    return data.replace(
        b"Subject: Can't reset my password", f"Subject: Can't reset my password ({i})".encode()
    )


def raw_idle_watcher(client: imapclient.IMAPClient, seen: queue.Queue[float], done: threading.Event) -> None:
    """The baseline: IDLE on INBOX, the time of every EXISTS put on `seen`."""
    client.select_folder("INBOX", readonly=True)
    client.idle()
    while not done.is_set():
        for response in client.idle_check(timeout=0.5):
            if len(response) > 1 and response[1] == b"EXISTS":
                seen.put(time.perf_counter())
    client.idle_done()


def drafts_count(client: imapclient.IMAPClient) -> int:
    return int(client.folder_status("Drafts", [b"MESSAGES"])[b"MESSAGES"])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=100, help="messages, one at a time")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between a draft and the next APPEND")
    parser.add_argument("--poll-ms", type=float, default=20, help="how often Drafts is checked")
    parser.add_argument("--max-wait", type=float, default=30, help="seconds before a draft counts as late")
    parser.add_argument("--history", type=int, default=0, help="messages triaged before the timed ones")
    args = parser.parse_args()
    server = start_dovecot()
    tmp = Path(tempfile.mkdtemp(prefix="idle-bench-"))
    daemon = None
    try:
        user = server.add_user()
        if args.history:
            filler = server.client(user)
            history = make_messages(args.history)
            for start in range(0, len(history), 200):
                filler.multiappend("INBOX", history[start : start + 200])
            filler.logout()
        config = write_config(
            server, user, tmp, {"idle": True, "poll_interval_seconds": 3600, "parse_workers": 1}
        )
        daemon = start_triage(config, tmp / "triage.log")
        log = tmp / "triage.log"
        wait_until(lambda: "poll:" in log.read_text(), 60 + args.history, "the daemon's first poll")
        sender, drafts, watcher = server.client(user), server.client(user), server.client(user)
        wait_until(lambda: drafts.folder_exists("Drafts"), 10, "the Drafts folder")
        seen: queue.Queue[float] = queue.Queue()
        done = threading.Event()
        thread = threading.Thread(target=raw_idle_watcher, args=(watcher, seen, done), daemon=True)
        thread.start()
        time.sleep(0.5)
        to_draft, to_exists, missed, late = [], [], 0, 0
        for i in range(args.k):
            before = drafts_count(drafts)
            sender.append("INBOX", customer_message(i))
            appended = time.perf_counter()
            while drafts_count(drafts) <= before and time.perf_counter() - appended < args.max_wait:
                time.sleep(args.poll_ms / 1000)
            if time.perf_counter() - appended < args.max_wait:
                to_draft.append(time.perf_counter() - appended)
            else:
                late += 1  # IDLE did not wake the daemon: the draft waits for the timed poll
            try:
                to_exists.append(seen.get(timeout=5) - appended)
            except queue.Empty:
                missed += 1
            print(f"{i:>3}/{args.k}", file=sys.stderr, end="\r", flush=True)
            time.sleep(args.gap + random.uniform(0, 0.5))
        print(file=sys.stderr)
        done.set()
        thread.join(timeout=5)
        polls = [float(m) for m in re.findall(r"poll: seen=1 .*\((\d+\.\d+)s\)", log.read_text())]
        report(to_draft, to_exists, missed, polls)
        if late:
            print(f"late (no draft within {args.max_wait:.0f} s, not in the figures): {late} of {args.k}")
        for client in (sender, drafts):
            client.logout()
    finally:
        if daemon is not None:
            stop(daemon)
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def report(to_draft: list[float], to_exists: list[float], missed: int, polls: list[float]) -> None:
    def row(name: str, values: list[float]) -> None:
        ms = [v * 1000 for v in values]
        print(
            f"{name:<44} {len(ms):>4} {statistics.median(ms):>7.0f} {percentile(ms, 0.95):>7.0f}"
            f" {max(ms):>7.0f}"
        )

    print(f"{'':<44} {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    row("APPEND -> reply draft in Drafts (triage run)", to_draft)
    row("APPEND -> EXISTS on a bare IDLE (baseline)", to_exists)
    if polls:
        row("the daemon's poll for one message (its log)", polls)
    if missed:
        print(f"the bare IDLE saw no EXISTS for {missed} APPENDs")


if __name__ == "__main__":
    main()
