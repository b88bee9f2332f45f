"""Shared by the load benchmarks: a triage config for a test Dovecot user, `triage run` as a
child process, and CPU time read from /proc (psutil is not a dependency)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import Dovecot  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def write_config(server: Dovecot, user: str, folder: Path, daemon: dict[str, Any] | None = None) -> Path:
    """A config.yaml in `folder` for `user` (STARTTLS to the test server, state in `folder`)."""
    config = folder / "config.yaml"
    settings: dict[str, Any] = {
        "mailbox": {"url": server.url(user), "ca_file": str(server.ca_file)},
        "team": {"address": "support@northwind.example"},
        "classifier": {"model_dir": str(REPO / "models")},
        "drafting": {"templates_dir": str(REPO / "templates")},
        "state": {"database": str(folder / "state.sqlite3")},
    }
    if daemon:
        settings["daemon"] = daemon
    config.write_text(yaml.safe_dump(settings))
    return config


def start_triage(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`triage --config CONFIG run ARGS` in a child process, its log (INFO) written to `log`."""
    env = {**os.environ, "TRIAGE_PASSWORD": "secret"}
    env.pop("TRIAGE_MAILBOX", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "triage", "--log-level", "INFO", "--config", str(config), "run", *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def stop(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the daemon stops cleanly between steps), SIGKILL if it does not within 10 s."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _stat_fields(pid: int) -> list[str]:
    """Fields 3.. of /proc/<pid>/stat (the command name, which may hold spaces, cut off)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it (triage's parse workers), by parent pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except OSError:
                continue  # exited meanwhile
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants, from /proc/<pid>/stat."""
    total = 0
    for p in descendants(pid):
        try:
            fields = _stat_fields(p)
        except OSError:
            continue  # exited meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS
