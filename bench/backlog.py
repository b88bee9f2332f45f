"""Backlog benchmark: N messages in a local Dovecot, then `triage run --once`, timed.

Prints, measured in the same run on the same data:
  * end to end: `triage run --once` messages/s and its peak RSS (a child process);
  * bound 1: imapclient UID FETCH BODY.PEEK[] of the same N messages, in batches;
  * bound 2: MULTIAPPEND of N drafts, batched, and APPEND one by one (a sample);
  * bound 3: mail-parser alone on the same messages;
and the ratio end-to-end / batched APPEND (target >= 0.7).

`drafts` is what Drafts holds afterwards: a reply per customer message, plus an escalation
brief per escalation unless --deliver off.

Usage: python bench/backlog.py [--n 5000] [--sizes 1000,5000] [--deliver draft|off]
Needs Debian's dovecot-imapd (`make test` installs it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import mailparser  # noqa: E402
import yaml  # noqa: E402

from tests.conftest import start_dovecot  # noqa: E402

DEMO = sorted((REPO / "triage" / "demo_mailbox" / "INBOX").glob("*.eml"))
CHUNK = 200


def make_messages(n: int) -> list[bytes]:
    """N distinct messages cycled from the demo mailbox, each with its own Message-ID."""
    sources = [p.read_bytes() for p in DEMO]
    out = []
    for i in range(n):
        data = sources[i % len(sources)]
        data = re.sub(
            rb"(?im)^Message-ID:.*$", f"Message-ID: <bench-{i}@bench.example>".encode(), data, count=1
        )
        out.append(data)
    return out


def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def parse_all(messages: list[bytes]) -> None:
    """mail-parser on every message, keeping none of the results (50k parsed objects would
    measure this process's memory, not the parser)."""
    for m in messages:
        mailparser.parse_from_bytes(m)


def run_size(n: int, deliver: str) -> dict[str, float]:
    server = start_dovecot()
    try:
        user = server.add_user()
        messages = make_messages(n)
        client = server.client(user)
        for start in range(0, n, CHUNK):
            client.multiappend("INBOX", messages[start : start + CHUNK])
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])

        def fetch_all() -> None:
            for start in range(0, len(uids), CHUNK):
                client.fetch(uids[start : start + CHUNK], ["BODY.PEEK[]"])

        fetch_s = timed(fetch_all)
        drafts = [m.replace(b"Subject: ", b"Subject: Re: ", 1) for m in messages]
        client.create_folder("BenchDrafts")

        def append_batched() -> None:
            for start in range(0, n, CHUNK):
                client.multiappend(
                    "BenchDrafts", [{"msg": d, "flags": (b"\\Draft",)} for d in drafts[start : start + CHUNK]]
                )

        append_s = timed(append_batched)
        sample = drafts[: min(500, n)]
        client.create_folder("BenchSingle")
        single_s = timed(lambda: [client.append("BenchSingle", d, flags=(b"\\Draft",)) for d in sample])
        client.logout()
        parse_s = timed(parse_all, messages)

        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(
                yaml.safe_dump(
                    {
                        "mailbox": {"url": server.url(user), "ca_file": str(server.ca_file)},
                        "team": {"address": "support@northwind.example"},
                        "classifier": {"model_dir": str(REPO / "models")},
                        "drafting": {"templates_dir": str(REPO / "templates")},
                        "state": {"database": str(Path(tmp) / "state.sqlite3")},
                        "routing": {"deliver": deliver},
                    }
                )
            )
            env = {**os.environ, "TRIAGE_PASSWORD": "secret"}
            env.pop("TRIAGE_MAILBOX", None)
            print(f"N={n}: bounds measured; running triage run --once", file=sys.stderr, flush=True)
            started = time.perf_counter()
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "triage",
                    "--log-level",
                    "WARNING",
                    "--config",
                    str(config),
                    "run",
                    "--once",
                ],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(child.pid, 0)
            e2e_s = time.perf_counter() - started
            if status != 0:
                raise SystemExit(f"triage run --once failed with status {status}")
        client = server.client(user)
        drafts_written = client.folder_status("Drafts", [b"MESSAGES"])[b"MESSAGES"]
        client.logout()
        return {
            "n": n,
            "e2e_per_s": n / e2e_s,
            "e2e_peak_rss_mb": usage.ru_maxrss / 1024,
            "fetch_per_s": n / fetch_s,
            "multiappend_per_s": n / append_s,
            "append_single_per_s": min(500, n) / single_s,
            "parse_per_s": n / parse_s,
            "drafts": drafts_written,
        }
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)  # 50k messages are ~0.5 GB of maildir files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--sizes", help="comma-separated N values, to show memory flat in N")
    parser.add_argument(
        "--deliver",
        choices=["draft", "off"],
        default="draft",
        help="routing.deliver: escalation briefs saved to Drafts (the shipped default) or none",
    )
    args = parser.parse_args()
    print(f"routing.deliver: {args.deliver}")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.n]
    print(
        f"{'N':>6} {'e2e msg/s':>10} {'peak RSS MB':>12} {'FETCH/s':>9} {'MULTIAPPEND/s':>14}"
        f" {'APPEND 1x1/s':>13} {'parse/s':>8} {'e2e/MULTIAPPEND':>16} {'drafts':>7}"
    )
    for n in sizes:
        r = run_size(n, args.deliver)
        ratio = r["e2e_per_s"] / r["multiappend_per_s"]
        print(
            f"{n:>6} {r['e2e_per_s']:>10.0f} {r['e2e_peak_rss_mb']:>12.0f} {r['fetch_per_s']:>9.0f}"
            f" {r['multiappend_per_s']:>14.0f} {r['append_single_per_s']:>13.0f} {r['parse_per_s']:>8.0f}"
            f" {ratio:>16.2f} {r['drafts']:>7.0f}"
        )


if __name__ == "__main__":
    main()
