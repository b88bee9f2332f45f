"""Complaints and escalations until solved: resolutions, briefs, reminders, holding drafts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from triage.state.database import Tables


@dataclass(frozen=True)
class OpenCase:
    """An unresolved complaint or escalation with what follow-up has done about it."""

    message_id: str
    label: str
    sender: str
    subject: str
    received_at: datetime
    handled_at: datetime
    owner: str
    owner_address: str
    thread_id: str | None
    reminders_sent: int
    last_reminder_at: datetime | None


@dataclass(frozen=True)
class PendingBrief:
    message_id: str
    facts: str
    owner: str
    owner_address: str
    draft_body: str | None


class CaseLog(Tables):
    """Resolutions (on messages), notices and holding drafts."""

    def resolve(self, mailbox: str, message_id: str, at: datetime, who: str | None) -> bool:
        """Mark a triaged message's problem solved; False when it is unknown or already resolved."""
        with self.transaction():
            done = self.db.execute(
                "UPDATE messages SET resolved_at = ?, resolved_by = ? WHERE mailbox = ? AND message_id = ?"
                " AND resolved_at IS NULL AND label IS NOT NULL",
                (at.isoformat(), who, mailbox, message_id),
            )
        return done.rowcount > 0

    def open_cases(self, mailbox: str) -> list[OpenCase]:
        """Unresolved complaints and escalations, oldest first, with the reminders sent so far."""
        rows = self.db.execute(
            "SELECT m.message_id, m.label, m.sender, m.subject, m.received_at, m.done_at, m.owner,"
            " m.owner_address, m.thread_id, COUNT(n.number), MAX(n.at) FROM messages m"
            " LEFT JOIN notices n ON n.mailbox = m.mailbox AND n.message_id = m.message_id"
            " AND n.kind = 'reminder'"
            " WHERE m.mailbox = ? AND m.label IN ('complaint', 'escalation') AND m.resolved_at IS NULL"
            " AND m.message_id IS NOT NULL AND m.outcome IN ('drafted', 'needs_review') AND m.status = 'done'"
            " GROUP BY m.id ORDER BY m.received_at",
            (mailbox,),
        )
        return [
            OpenCase(
                message_id=str(r[0]),
                label=str(r[1]),
                sender=str(r[2] or ""),
                subject=str(r[3] or ""),
                received_at=datetime.fromisoformat(r[4]),
                handled_at=datetime.fromisoformat(r[5]),
                owner=str(r[6] or "the team"),
                owner_address=str(r[7] or ""),
                thread_id=r[8],
                reminders_sent=int(r[9]),
                last_reminder_at=datetime.fromisoformat(r[10]) if r[10] else None,
            )
            for r in rows
            if r[4] and r[5]
        ]

    def pending_briefs(self, mailbox: str) -> list[PendingBrief]:
        """Escalations whose brief has not reached the owner yet (delivery failed or not tried)."""
        rows = self.db.execute(
            "SELECT message_id, facts, owner, owner_address, draft_body FROM messages m WHERE mailbox = ?"
            " AND facts IS NOT NULL AND status = 'done' AND resolved_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM notices n WHERE n.mailbox = m.mailbox AND n.message_id = m.message_id"
            " AND n.kind = 'brief') ORDER BY id",
            (mailbox,),
        )
        return [PendingBrief(str(r[0]), str(r[1]), str(r[2] or ""), str(r[3] or ""), r[4]) for r in rows]

    def record_notice(
        self, mailbox: str, message_id: str, kind: str, number: int, recipient: str, at: datetime
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO notices VALUES (?, ?, ?, ?, ?, ?)",
                (mailbox, message_id, kind, number, recipient, at.isoformat()),
            )

    def notices(self, mailbox: str, message_id: str) -> list[tuple[str, int, str, datetime]]:
        """(kind, number, recipient, at) of what follow-up sent about one message."""
        rows = self.db.execute(
            "SELECT kind, number, recipient, at FROM notices WHERE mailbox = ? AND message_id = ?"
            " ORDER BY at, number",
            (mailbox, message_id),
        )
        return [(str(r[0]), int(r[1]), str(r[2]), datetime.fromisoformat(r[3])) for r in rows]

    def escalations_between(self, mailbox: str, since: datetime, until: datetime) -> tuple[int, int]:
        """(escalations received, escalations resolved) in a period."""
        lo, hi = since.astimezone(UTC).isoformat(), until.astimezone(UTC).isoformat()
        opened = self.db.execute(
            "SELECT COUNT(*) FROM messages WHERE mailbox = ? AND label = 'escalation'"
            " AND outcome IN ('drafted', 'needs_review') AND received_at >= ? AND received_at < ?",
            (mailbox, lo, hi),
        ).fetchone()[0]
        resolved = self.db.execute(
            "SELECT COUNT(*) FROM messages WHERE mailbox = ? AND label = 'escalation'"
            " AND resolved_at >= ? AND resolved_at < ?",
            (mailbox, lo, hi),
        ).fetchone()[0]
        return int(opened), int(resolved)

    def holding_drafted(self, mailbox: str) -> set[str]:
        rows = self.db.execute("SELECT message_id FROM holding_drafts WHERE mailbox = ?", (mailbox,))
        return {str(r[0]) for r in rows}

    def record_holding_draft(
        self, mailbox: str, message_id: str, draft_message_id: str, at: datetime
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO holding_drafts VALUES (?, ?, ?, ?)",
                (mailbox, message_id, draft_message_id, at.isoformat()),
            )
