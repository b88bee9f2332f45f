"""What the weekly report reads besides messages: inbox snapshots, reports sent, problems of a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from triage.state.database import Tables


class InboxHistory(Tables):
    """Snapshots, reports sent, and the problems of a period."""

    def record_snapshot(
        self, mailbox: str, at: datetime, open_count: int, oldest_hours: float | None
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?)",
                (mailbox, at.isoformat(), open_count, oldest_hours),
            )

    def snapshots(
        self, mailbox: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, int, float | None]]:
        rows = self.db.execute(
            "SELECT at, open_count, oldest_open_hours FROM snapshots WHERE mailbox = ? AND at >= ? AND at < ?"
            " ORDER BY at",
            (mailbox, since.isoformat(), until.isoformat()),
        )
        return [(datetime.fromisoformat(r[0]), int(r[1]), r[2]) for r in rows]

    def first_snapshot(self, mailbox: str) -> datetime | None:
        """When triage first recorded the inbox of this mailbox (its first poll)."""
        row = self.db.execute("SELECT MIN(at) FROM snapshots WHERE mailbox = ?", (mailbox,)).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def report_sent(self, mailbox: str, week: str) -> bool:
        row = self.db.execute("SELECT 1 FROM reports_sent WHERE mailbox = ? AND week = ?", (mailbox, week))
        return row.fetchone() is not None

    def record_report_sent(self, mailbox: str, week: str, at: datetime, recipients: Sequence[str]) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO reports_sent VALUES (?, ?, ?, ?) ON CONFLICT (mailbox, week)"
                " DO UPDATE SET sent_at = excluded.sent_at, recipients = excluded.recipients",
                (mailbox, week, at.isoformat(), ", ".join(recipients)),
            )

    def problems_between(
        self, mailbox: str, since: datetime, until: datetime
    ) -> list[tuple[str, str, str, datetime]]:
        """(Message-ID, subject, text the model read, received) of classified mail in a period."""
        rows = self.db.execute(
            "SELECT message_id, subject, model_text, received_at FROM messages WHERE mailbox = ?"
            " AND model_text IS NOT NULL AND message_id IS NOT NULL AND outcome <> 'skipped'"
            " AND received_at >= ? AND received_at < ?"
            " ORDER BY received_at",
            (mailbox, since.astimezone(UTC).isoformat(), until.astimezone(UTC).isoformat()),
        )
        return [(str(r[0]), str(r[1] or ""), str(r[2]), datetime.fromisoformat(r[3])) for r in rows]
