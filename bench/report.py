"""The weekly report's cost on a long history: the backlog rebuilt from the mail and the four-week
headline comparisons, against building the conversations (which the report always did) in the
same run.

A synthetic history of N conversations spread over 26 weeks, most answered after 1 to 60 hours,
some followed up; the report is built for the last week. Wall time is the median of R runs;
memory is tracemalloc's peak while building.

Usage: python bench/report.py [--sizes 10000,50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from triage.metrics.business_hours import BusinessHours  # noqa: E402
from triage.metrics.conversations import Conversation, MailEvent, conversations  # noqa: E402
from triage.report import charts, weekly  # noqa: E402
from triage.report.headlines import Targets  # noqa: E402

START = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday; 26 weeks later is 2026-W49
WEEKS = 26


def history(size: int, seed: int = 7) -> list[MailEvent]:
    rng = random.Random(seed)
    events = []
    span = WEEKS * 7 * 24 * 3600
    for i in range(size):
        mid, who = f"<c{i}@x.example>", f"c{i % 5000}@x.example"
        asked = START + timedelta(seconds=rng.randrange(span))
        events.append(MailEvent(mid, None, (), f"Order {i}", who, asked, False, "complaint"))
        if rng.random() < 0.9:
            replied = asked + timedelta(hours=rng.uniform(1, 60))
            events.append(MailEvent(f"<r{i}@t>", mid, (mid,), f"Re: Order {i}", who, replied, True))
            if rng.random() < 0.2:
                again = replied + timedelta(hours=rng.uniform(1, 48))
                events.append(
                    MailEvent(f"<f{i}@x>", f"<r{i}@t>", (mid,), f"Re: Order {i}", who, again, False)
                )
    return events


def timed(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median seconds, peak MiB of the first run)."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), peak


def build(threads: list[Conversation], now: datetime) -> weekly.WeekReport:
    return weekly.build("2026-W49", "UTC", [], threads, [], None, 0, BusinessHours(), Targets(), now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    now = START + timedelta(weeks=WEEKS, days=1)
    print("conversations  baseline: threads  report figures  3 charts  peak MiB (figures)")
    for size in map(int, args.sizes.split(",")):
        events = history(size)
        threads = conversations(events)
        report = build(threads, now)
        base, _ = timed(partial(conversations, events), args.runs)
        figures, peak = timed(partial(build, threads, now), args.runs)
        drawn, _ = timed(partial(charts.render_charts, report), args.runs)
        columns = (f"{base * 1000:>14.0f} ms", f"{figures * 1000:>11.0f} ms", f"{drawn * 1000:>5.0f} ms")
        print(f"{size:>13}  {'  '.join(columns)}  {peak:>8.1f}")


if __name__ == "__main__":
    main()
