"""Idle CPU: what `triage run` costs while no mail comes.

Starts a throwaway Dovecot, then, side by side over the same window:
  * `triage run` (the daemon, shipped daemon settings: IDLE on, a timed poll every 60 s)
    on an empty mailbox;
  * baseline 1: a bare imapclient IDLE loop on another user's INBOX (a Python process
    that only waits on the socket, re-issuing IDLE as the daemon does);
  * baseline 2: `sleep`.
CPU seconds (user + system, children included) come from /proc/<pid>/stat, shown as %
of one core; the daemon's polls in the window are counted from its log.

Usage: python bench/idle_cpu.py [--seconds 60]
Needs Debian's dovecot-imapd (`make test` installs it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import REPO, cpu_seconds, start_triage, stop, wait_until, write_config

from tests.conftest import start_dovecot

IDLE_LOOP = """
import sys, imapclient
client = imapclient.IMAPClient("127.0.0.1", port=int(sys.argv[1]), ssl=False)
client.login(sys.argv[2], "secret")
client.select_folder("INBOX")
while True:
    client.idle()
    client.idle_check(timeout=float(sys.argv[3]))
    client.idle_done()
    client.noop()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="the measuring window")
    args = parser.parse_args()
    server = start_dovecot()
    tmp = Path(tempfile.mkdtemp(prefix="idle-cpu-"))
    children: list[subprocess.Popen[bytes]] = []
    try:
        user = server.add_user()
        log = tmp / "triage.log"
        children.append(start_triage(write_config(server, user, tmp, {"poll_interval_seconds": 60}), log))
        wait_until(lambda: "poll:" in log.read_text(), 60, "the daemon's first poll")
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", IDLE_LOOP, str(server.port), server.add_user(), "300"], cwd=REPO
            )
        )
        children.append(subprocess.Popen(["sleep", str(args.seconds + 60)]))
        time.sleep(2)  # the baseline IDLE logged in and idling, the daemon's start-up done
        names = ["triage run (daemon, idle)", "bare imapclient IDLE loop", "sleep"]
        polls_before = log.read_text().count("poll:")
        before = [cpu_seconds(c.pid) for c in children]
        started = time.monotonic()
        time.sleep(args.seconds)
        used = [cpu_seconds(c.pid) - b for c, b in zip(children, before)]
        elapsed = time.monotonic() - started
        polls = log.read_text().count("poll:") - polls_before
        rss_kb = int(Path(f"/proc/{children[0].pid}/status").read_text().split("VmRSS:")[1].split()[0])
        print(f"window {elapsed:.0f} s; daemon polls in it: {polls}; daemon RSS {rss_kb / 1024:.0f} MB")
        print(f"{'process':<28} {'CPU s':>7} {'% of one core':>14}")
        for name, seconds in zip(names, used):
            print(f"{name:<28} {seconds:>7.2f} {100 * seconds / elapsed:>14.2f}")
    finally:
        for child in children:
            stop(child)
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
