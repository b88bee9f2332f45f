"""The parser's specification: each .eml in tests/parsing_corpus with its expected .json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.errors import MalformedMessage
from triage.mail.parsing import parse
from triage.mail.screening import machine_reason

CORPUS = Path(__file__).parent / "parsing_corpus"
INTERNALDATE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TEAM = frozenset({"support@example.com", "agent@example.com"})
CASES = sorted(CORPUS.glob("*.eml"))


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("eml", CASES, ids=[p.stem for p in CASES])
def test_parses_as_specified(eml: Path) -> None:
    expected = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))
    data = eml.read_bytes()
    if expected.get("malformed"):
        with pytest.raises(MalformedMessage) as caught:
            parse(data, INTERNALDATE)
        assert expected["malformed_reason_contains"] in caught.value.reason.lower()
        return
    message = parse(data, INTERNALDATE)
    actual = {
        "message_id": message.message_id,
        "in_reply_to": message.in_reply_to,
        "references": list(message.references),
        "from_name": message.sender.name,
        "from_address": message.sender.address,
        "reply_to": message.reply_to,
        "to": list(message.to),
        "cc": list(message.cc),
        "subject": message.subject,
        "date": message.date.isoformat(),
        "date_from_header": message.date_from_header,
        "attachments": [{"filename": a.filename, "size": a.size} for a in message.attachments],
        "skip_reason": machine_reason(message, TEAM),
    }
    for key, value in expected.items():
        if key in actual:
            assert actual[key] == value, key
    for snippet in expected.get("text_contains", []):
        assert snippet in message.text
    for snippet in expected.get("text_excludes", []):
        assert snippet not in message.text
    for snippet in expected.get("new_text_contains", []):
        assert snippet in message.new_text
    for snippet in expected.get("new_text_excludes", []):
        assert snippet not in message.new_text
