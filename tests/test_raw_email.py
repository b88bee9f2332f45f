"""Every real message under shared/data/raw_email goes through the parser and screening."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.errors import MalformedMessage
from triage.mail.parsing import parse
from triage.mail.screening import machine_reason

RAW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "raw_email"
NOT_MAIL = (".jsonl", ".md", ".json")


@pytest.mark.skipif(not RAW.is_dir(), reason="shared/data/raw_email is not beside this checkout")
def test_every_raw_message_parses_or_is_refused_with_a_reason() -> None:
    files = [p for p in sorted(RAW.rglob("*")) if p.is_file() and p.suffix not in NOT_MAIL]
    assert len(files) > 1000
    parsed = refused = 0
    bounces = 0
    for path in files:
        try:
            message = parse(path.read_bytes(), datetime(2026, 11, 20, tzinfo=UTC))
        except MalformedMessage as exc:
            assert exc.reason
            refused += 1
            continue
        parsed += 1
        reason = machine_reason(message, frozenset({"support@example.com"}))
        bounces += reason == "bounce"
    assert refused < 20  # licence files, empty files, a header-only stub
    assert bounces > 700  # the sisimai DSN set is recognised as bounces
