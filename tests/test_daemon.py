"""`triage run` as a daemon: IDLE wakes it, it survives a server restart, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, Dovecot
from tests.test_imap_end_to_end import DEMO, write_config


def start_daemon(config: Path, tmp_path: Path, **environ: str) -> subprocess.Popen[bytes]:
    """`triage run` as a child process, its log in tmp_path/daemon.log."""
    env = {**os.environ, "TRIAGE_PASSWORD": "secret", **environ}
    env.pop("TRIAGE_MAILBOX", None)
    return subprocess.Popen(
        [sys.executable, "-m", "triage", "--config", str(config), "run"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "daemon.log", "wb"),
    )


def wait_for_drafts(dovecot: Dovecot, user: str, count: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        client = dovecot.client(user)
        if client.folder_exists("Drafts"):
            found = client.folder_status("Drafts", [b"MESSAGES"])[b"MESSAGES"]
        client.logout()
        if found >= count:
            return int(found)
        time.sleep(0.2)
    return int(found)


def append(dovecot: Dovecot, user: str, index: int) -> None:
    client = dovecot.client(user)
    client.append("INBOX", sorted(DEMO.glob("*.eml"))[index].read_bytes())
    client.logout()


def test_idle_wakes_the_daemon_and_sigterm_stops_it(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path, dovecot, imap_user, daemon={"poll_interval_seconds": 600, "idle_timeout_seconds": 60}
    )
    daemon = start_daemon(config, tmp_path)
    try:
        time.sleep(2)  # first poll done, now in IDLE
        append(dovecot, imap_user, 0)
        assert wait_for_drafts(dovecot, imap_user, 1, timeout=20) == 1, "IDLE did not wake the poll"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    log = (tmp_path / "daemon.log").read_text()
    assert "poll: seen=1 drafted=1" in log
    assert "stopped after" in log


def test_the_daemon_reconnects_after_the_server_restarts(private_dovecot: Dovecot, tmp_path: Path) -> None:
    user = private_dovecot.add_user()
    config = write_config(
        tmp_path,
        private_dovecot,
        user,
        daemon={"poll_interval_seconds": 1, "idle": False, "reconnect_max_seconds": 2},
    )
    daemon = start_daemon(config, tmp_path)
    try:
        append(private_dovecot, user, 0)
        assert wait_for_drafts(private_dovecot, user, 1) == 1
        private_dovecot.stop()
        time.sleep(3)
        private_dovecot.start()
        append(private_dovecot, user, 1)
        assert wait_for_drafts(private_dovecot, user, 2) == 2
        assert daemon.poll() is None, "the daemon must still be running"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert (
        "retrying" in (tmp_path / "daemon.log").read_text()
        or "reconnect" in (tmp_path / "daemon.log").read_text()
    )


def test_a_refused_login_stops_the_daemon_without_retrying(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot, imap_user)
    env = {**os.environ, "TRIAGE_PASSWORD": "wrong"}
    done = subprocess.run(
        [sys.executable, "-m", "triage", "--config", str(config), "run"],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert b"login refused" in done.stderr
