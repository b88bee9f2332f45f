"""Draft acceptance: how much of triage's draft the team's sent reply kept. Pure."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

ACCEPTANCE = ("sent as is", "lightly edited", "rewritten", "not used")


def acceptance(draft: str, sent: str) -> str:
    """How much of triage's draft survived into what the team sent (difflib similarity).

    >= 0.95 sent as is; >= 0.7 lightly edited; >= 0.3 rewritten; below, not used.
    """
    ratio = difflib.SequenceMatcher(None, " ".join(draft.split()), " ".join(sent.split())).ratio()
    if ratio >= 0.95:
        return ACCEPTANCE[0]
    if ratio >= 0.7:
        return ACCEPTANCE[1]
    if ratio >= 0.3:
        return ACCEPTANCE[2]
    return ACCEPTANCE[3]


def acceptance_by_template(pairs: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    """template -> acceptance -> count, from (template, draft, sent) triples."""
    table: dict[str, dict[str, int]] = {}
    for template, draft, sent in pairs:
        row = table.setdefault(template, dict.fromkeys(ACCEPTANCE, 0))
        row[acceptance(draft, sent)] += 1
    return table
