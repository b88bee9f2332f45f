"""Corrections: a person's label for a message triage labeled, and the texts to learn from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triage.state.database import Tables


@dataclass(frozen=True)
class Correction:
    """A person's label for a message triage labeled: from `triage relabel` or a keyword change."""

    mailbox: str
    message_id: str
    label: str
    previous_label: str | None
    source: str  # relabel | keyword
    who: str | None
    at: datetime


@dataclass(frozen=True)
class LabeledText:
    message_id: str
    text: str
    label: str


class CorrectionLog(Tables):
    """The corrections table."""

    def current_label(self, mailbox: str, message_id: str) -> str | None:
        """The latest correction's label, else the label triage gave."""
        row = self.db.execute(
            "SELECT label FROM corrections WHERE mailbox = ? AND message_id = ? ORDER BY id DESC LIMIT 1",
            (mailbox, message_id),
        ).fetchone()
        if row:
            return str(row[0])
        row = self.db.execute(
            "SELECT label FROM messages WHERE mailbox = ? AND message_id = ? AND label IS NOT NULL"
            " ORDER BY id LIMIT 1",
            (mailbox, message_id),
        ).fetchone()
        return str(row[0]) if row else None

    def record_correction(self, correction: Correction) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO corrections (mailbox, message_id, label, previous_label, source, who, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    correction.mailbox,
                    correction.message_id,
                    correction.label,
                    correction.previous_label,
                    correction.source,
                    correction.who,
                    correction.at.isoformat(),
                ),
            )

    def corrections(self) -> list[Correction]:
        rows = self.db.execute(
            "SELECT mailbox, message_id, label, previous_label, source, who, at FROM corrections ORDER BY id"
        )
        return [Correction(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6])) for r in rows]

    def corrected_texts(self) -> list[LabeledText]:
        """The text the model read for every corrected message, with its latest label."""
        rows = self.db.execute(
            "SELECT c.message_id, m.model_text, c.label FROM corrections c JOIN messages m ON m.id ="
            " (SELECT MIN(id) FROM messages WHERE mailbox = c.mailbox AND message_id = c.message_id"
            " AND model_text IS NOT NULL)"
            " WHERE c.id IN (SELECT MAX(id) FROM corrections GROUP BY mailbox, message_id) ORDER BY c.id"
        )
        return [LabeledText(r[0], r[1], r[2]) for r in rows]
