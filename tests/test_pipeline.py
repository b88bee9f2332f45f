"""The poll on a Maildir: parsing on worker processes decides exactly as parsing in-process."""

from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from tests.conftest import REPO
from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.pipeline.planning import PARALLEL_MIN
from triage.pipeline.poll import poll
from triage.state.store import Store

DEMO = sorted((REPO / "triage" / "demo_mailbox" / "INBOX").glob("*.eml"))


def maildir_with(tmp_path: Path, name: str, count: int) -> Path:
    root = tmp_path / name
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for i in range(count):
        data = DEMO[i % len(DEMO)].read_bytes()
        data = re.sub(rb"(?im)^Message-ID:.*$", f"Message-ID: <copy-{i}@test>".encode(), data, count=1)
        (root / "new" / f"{1000 + i}.m{i}.host").write_bytes(data)
    return root


def test_parallel_parsing_gives_the_same_decisions(tmp_path: Path) -> None:
    count = PARALLEL_MIN + 6
    results = []
    for name, parallel in (("serial", False), ("parallel", True)):
        maildir = maildir_with(tmp_path, name, count)
        config = config_module.from_mapping(
            {
                "mailbox": {"url": f"maildir://{maildir}"},
                "team": {"address": "support@northwind.example"},
                "classifier": {"model_dir": str(REPO / "models")},
                "drafting": {"templates_dir": str(REPO / "templates")},
            },
            {},
            tmp_path,
        )
        engine = app.build_engine(config)
        pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) if parallel else None
        try:
            inbox = app.open_inbox(config, {}, RedactSecrets())
            result = poll(
                inbox, Store(tmp_path / f"{name}.sqlite3"), replace(engine, executor=pool), app.utc_now
            )
        finally:
            if pool:
                pool.shutdown()
        results.append([(p.outcome, p.record.label, p.reason) for p in result.plans])
    assert len(results[0]) == count
    assert results[0] == results[1]


def test_each_poll_looks_at_the_live_window_and_reports_at_everything(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from triage.metrics.conversations import conversations
    from triage.pipeline.threads import conversation_events

    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    root = tmp_path / "box"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for i, when in enumerate((now - timedelta(days=120), now - timedelta(hours=2))):
        (root / "new" / f"{1000 + i}.m{i}.host").write_bytes(
            f"From: C{i} <c{i}@x.example>\nTo: support@northwind.example\nSubject: Tent {i} broken\n"
            f"Message-ID: <w{i}@x.example>\nDate: {when:%a, %d %b %Y %H:%M:%S +0000}\n\n"
            "The tent pole snapped on the first night. I want a replacement.\n".encode()
        )
    config = config_module.from_mapping(
        {
            "mailbox": {"url": f"maildir://{root}"},
            "team": {"address": "support@northwind.example"},
            "classifier": {"model_dir": str(REPO / "models")},
            "drafting": {"templates_dir": str(REPO / "templates")},
            "metrics": {"live_window_days": 90},
        },
        {},
        tmp_path,
    )
    store = Store(tmp_path / "s.sqlite3")
    inbox = app.open_inbox(config, {}, RedactSecrets())
    result = poll(inbox, store, app.build_engine(config), lambda: now)
    assert result.summary.seen == 2
    assert result.open_count == 1, "the 120-day-old conversation is outside the live window"
    waiting = [t for t in conversations(conversation_events(store, inbox.name)) if t.waiting_since()]
    assert len(waiting) == 2, "reports still see everything"
