"""Start-up time: wall time of `triage --help` and `triage check-config`, median of R runs.

Baselines in the same run: `python -c pass` (the interpreter alone) and
`python -c "import imapclient"` (the one library any IMAP tool pays for).

Usage: python bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRIAGE = Path(sys.executable).with_name("triage")


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    try:
        config = tmp / "config.yaml"
        shutil.copy(REPO / "config.yaml", config)  # the shipped example; paths resolved from tmp
        for folder in ("models", "templates"):
            (tmp / folder).symlink_to(REPO / folder)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp)}
        env.pop("TRIAGE_MAILBOX", None)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import imapclient"': [sys.executable, "-c", "import imapclient"],
            "triage --help": [str(TRIAGE), "--help"],
            "triage check-config": [str(TRIAGE), "--config", str(config), "check-config"],
        }
        for command in commands.values():
            wall(command, env)  # warm the page cache and .pyc files
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so load from elsewhere hits all alike
            for name, command in commands.items():
                times[name].append(wall(command, env))
        print(f"{'command':<32} {'median ms':>10} {'min ms':>8} {'max ms':>8}   ({args.runs} runs)")
        for name, values in times.items():
            print(
                f"{name:<32} {statistics.median(values) * 1000:>10.0f} {min(values) * 1000:>8.0f}"
                f" {max(values) * 1000:>8.0f}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
