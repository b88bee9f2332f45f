"""Labeled CSV files (columns subject, body, label) -> examples, counting what is unusable."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from triage.domain import LABELS


@dataclass(frozen=True)
class Example:
    subject: str
    body: str
    label: str
    group: str = ""  # rows sharing a group (variants of one message) stay in one CV fold
    source: str = ""  # where the row comes from, for figures per source
    weight: float = 1.0  # how much the row counts in training: a team's own mail counts more


@dataclass(frozen=True)
class Dataset:
    examples: tuple[Example, ...]
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> count


def read_csv(path: Path) -> Dataset:
    """Read one labeled CSV; rows with an unknown label, empty body or broken line are counted."""
    csv.field_size_limit(sys.maxsize)
    examples: list[Example] = []
    rejected: dict[str, int] = {}

    def reject(reason: str) -> None:
        rejected[reason] = rejected.get(reason, 0) + 1

    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"body", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                reject("broken CSV line")
                continue
            if None in row or any(value is None for value in row.values()):
                reject("broken CSV line")
                continue
            label = (row.get("label") or "").strip()
            body = (row.get("body") or "").replace("\\n", "\n").strip()
            if label not in LABELS:
                reject("label outside the three classes")
            elif not body:
                reject("empty body")
            else:
                subject = (row.get("subject") or "").strip()
                group, source = (row.get("group") or "").strip(), (row.get("source") or "").strip()
                examples.append(Example(subject, body, label, group, source))
    return Dataset(tuple(examples), rejected)


def read_corpus(directory: Path) -> Dataset:
    """The project's own training corpus: every CSV in the folder, in name order."""
    examples: list[Example] = []
    rejected: dict[str, int] = {}
    for path in sorted(directory.glob("*.csv")):
        part = read_csv(path)
        examples.extend(replace(e, source=e.source or path.stem) for e in part.examples)
        for reason, count in part.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
    return Dataset(tuple(examples), rejected)
