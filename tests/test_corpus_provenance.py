"""The training corpus never holds a row of the gold set the classifier is judged on."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import REPO

GOLD = REPO.parent / "shared" / "data" / "dev_gold.csv"


def texts(path: Path) -> set[str]:
    """Subject and body of every row, in one case and spacing."""
    with path.open(encoding="utf-8", newline="") as file:
        return {" ".join(f"{row['subject']} {row['body']}".lower().split()) for row in csv.DictReader(file)}


@pytest.mark.skipif(not GOLD.is_file(), reason="shared/data/dev_gold.csv is not beside this checkout")
def test_no_gold_row_is_trained_on() -> None:
    gold = texts(GOLD)
    trained = set().union(*(texts(path) for path in sorted((REPO / "models" / "corpus").glob("*.csv"))))
    assert len(gold) > 400 and len(trained) > 5000
    assert not gold & trained
