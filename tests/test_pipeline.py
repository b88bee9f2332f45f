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
from triage.logs import RedactSecrets
from triage.pipeline import PARALLEL_MIN, poll
from triage.store import Store

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
