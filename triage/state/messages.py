"""Every message seen, its decision and outcome, and how far each folder has been read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from triage.domain import Cursor, MessageRef
from triage.state.database import Tables, iso_or_start


@dataclass(frozen=True)
class PlannedRecord:
    """What is written when a message's decision is made, before the mailbox is touched."""

    ref: MessageRef
    message_key: str | None
    message_id: str | None
    thread_id: str | None
    sender: str
    subject: str
    received_at: datetime | None
    label: str | None
    confidence: float | None
    model_version: str | None
    rule: str | None
    outcome: str
    reason: str
    template: str | None
    draft_message_id: str | None
    model_text: str | None = None
    draft_body: str | None = None
    owner: str | None = None
    owner_address: str | None = None
    facts: str | None = None  # escalations: the brief's facts as JSON
    answer_kind: str | None = None  # small fixes: "learned answer", "curated answer" or "placeholders"
    answer_id: int | None = None  # the learned answer's id, or the curated entry's number
    answer_note: str | None = None  # where the answer came from, as the draft's X-Triage header says


@dataclass(frozen=True)
class StoredMessage:
    ref: MessageRef
    message_id: str | None
    sender: str
    subject: str
    label: str | None
    confidence: float | None
    model_version: str | None
    outcome: str | None
    reason: str | None
    draft_message_id: str | None
    status: str
    received_at: str | None
    done_at: str | None
    thread_id: str | None = None
    answer_note: str | None = None

    def folder_is(self, folder: str) -> bool:
        return self.ref.folder == folder


class MessageLog(Tables):
    """The messages table and the folders' cursors."""

    def cursor(self, mailbox: str, folder: str) -> Cursor | None:
        row = self.db.execute(
            "SELECT uidvalidity, last_uid FROM cursors WHERE mailbox = ? AND folder = ?",
            (mailbox, folder),
        ).fetchone()
        return Cursor(row[0], row[1]) if row else None

    def finished_uids(self, mailbox: str, folder: str, uidvalidity: int, above: int) -> set[int]:
        rows = self.db.execute(
            "SELECT uid FROM messages WHERE mailbox = ? AND folder = ? AND uidvalidity = ?"
            " AND uid > ? AND status = 'done'",
            (mailbox, folder, uidvalidity, above),
        )
        return {row[0] for row in rows}

    def planned_drafts(self, refs: Sequence[MessageRef]) -> dict[MessageRef, str]:
        """Draft Message-IDs already planned (a crash may have left them in Drafts)."""
        found: dict[MessageRef, str] = {}
        for ref in refs:
            row = self.db.execute(
                "SELECT draft_message_id FROM messages WHERE mailbox = ? AND folder = ?"
                " AND uidvalidity = ? AND uid = ? AND status = 'planned'"
                " AND draft_message_id IS NOT NULL",
                (ref.mailbox, ref.folder, ref.uidvalidity, ref.uid),
            ).fetchone()
            if row:
                found[ref] = row[0]
        return found

    def handled_keys(self, mailbox: str, keys: Iterable[str]) -> dict[str, MessageRef]:
        """Message keys (Message-ID or content hash) already done in this mailbox."""
        found: dict[str, MessageRef] = {}
        for key in set(keys):
            row = self.db.execute(
                "SELECT folder, uidvalidity, uid FROM messages WHERE mailbox = ?"
                " AND message_key = ? AND status = 'done' LIMIT 1",
                (mailbox, key),
            ).fetchone()
            if row:
                found[key] = MessageRef(mailbox, row[0], row[1], row[2])
        return found

    def record_received(self, refs: Sequence[MessageRef], now: datetime) -> None:
        """Note every message seen before any work on it, so nothing goes unaccounted."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO messages (mailbox, folder, uidvalidity, uid, first_seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(r.mailbox, r.folder, r.uidvalidity, r.uid, now.isoformat()) for r in refs],
            )

    def record_plans(self, records: Sequence[PlannedRecord], now: datetime) -> None:
        """Write the decisions of a batch in one transaction (status 'planned')."""
        rows = [
            (
                r.message_key,
                r.message_id,
                r.thread_id,
                r.sender,
                r.subject,
                r.received_at.isoformat() if r.received_at else None,
                r.label,
                r.confidence,
                r.model_version,
                r.rule,
                r.outcome,
                r.reason,
                r.template,
                r.draft_message_id,
                r.model_text,
                r.draft_body,
                r.owner,
                r.owner_address,
                r.facts,
                r.answer_kind,
                r.answer_id,
                r.answer_note,
                now.isoformat(),
                r.ref.mailbox,
                r.ref.folder,
                r.ref.uidvalidity,
                r.ref.uid,
            )
            for r in records
        ]
        with self.transaction():
            self.db.executemany(
                "UPDATE messages SET message_key = ?, message_id = ?, thread_id = ?, sender = ?,"
                " subject = ?, received_at = ?, label = ?, confidence = ?, model_version = ?,"
                " rule = ?, outcome = ?, reason = ?, template = ?, draft_message_id = ?,"
                " model_text = ?, draft_body = ?, owner = ?, owner_address = ?, facts = ?, answer_kind = ?,"
                " answer_id = ?, answer_note = ?, decided_at = ?,"
                " status = 'planned'"
                " WHERE mailbox = ? AND folder = ? AND uidvalidity = ? AND uid = ?",
                rows,
            )

    def record_done(
        self, refs: Sequence[MessageRef], now: datetime, cursor: tuple[str, str, Cursor] | None
    ) -> None:
        """Mark a batch done and advance the folder's cursor, in one transaction."""
        with self.transaction():
            self.db.executemany(
                "UPDATE messages SET status = 'done', done_at = ?"
                " WHERE mailbox = ? AND folder = ? AND uidvalidity = ? AND uid = ?",
                [(now.isoformat(), r.mailbox, r.folder, r.uidvalidity, r.uid) for r in refs],
            )
            if cursor is not None:
                mailbox, folder, position = cursor
                self.db.execute(
                    "INSERT INTO cursors VALUES (?, ?, ?, ?) ON CONFLICT (mailbox, folder)"
                    " DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
                    (mailbox, folder, position.uidvalidity, position.last_uid),
                )

    def unanswered_in_folder(
        self, mailbox: str, folder: str, uidvalidity: int, since: datetime
    ) -> dict[int, str]:
        """UID -> Message-ID of customer messages done since `since` with no \\Answered seen yet."""
        rows = self.db.execute(
            "SELECT uid, message_id FROM messages WHERE mailbox = ? AND folder = ? AND uidvalidity = ?"
            " AND outcome IN ('drafted', 'needs_review') AND answered_at IS NULL AND message_id IS NOT NULL"
            " AND status = 'done' AND done_at >= ?",
            (mailbox, folder, uidvalidity, since.isoformat()),
        )
        return {int(r[0]): str(r[1]) for r in rows}

    def mark_answered(self, mailbox: str, message_ids: Sequence[str], at: datetime) -> None:
        with self.transaction():
            self.db.executemany(
                "UPDATE messages SET answered_at = ?"
                " WHERE mailbox = ? AND message_id = ? AND answered_at IS NULL",
                [(at.isoformat(), mailbox, mid) for mid in message_ids],
            )

    def answered(self, mailbox: str, since: datetime | None = None) -> dict[str, datetime]:
        rows = self.db.execute(
            "SELECT message_id, answered_at FROM messages WHERE mailbox = ? AND answered_at IS NOT NULL"
            " AND answered_at >= ?",
            (mailbox, iso_or_start(since)),
        )
        return {str(r[0]): datetime.fromisoformat(r[1]) for r in rows}

    def labeled_in_folder(
        self, mailbox: str, folder: str, uidvalidity: int, since: datetime
    ) -> dict[int, tuple[str, str]]:
        """UID -> (Message-ID, label) for labeled messages done since `since` in a folder."""
        rows = self.db.execute(
            "SELECT uid, message_id, label FROM messages WHERE mailbox = ? AND folder = ?"
            " AND uidvalidity = ? AND label IS NOT NULL AND message_id IS NOT NULL"
            " AND status = 'done' AND done_at >= ?",
            (mailbox, folder, uidvalidity, since.isoformat()),
        )
        return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}

    def messages(self, mailbox: str | None = None, since: datetime | None = None) -> list[StoredMessage]:
        """Every message (of a mailbox), or those received since a moment (and those with no date)."""
        sql = (
            "SELECT mailbox, folder, uidvalidity, uid, message_id, sender, subject, label,"
            " confidence, model_version, outcome, reason, draft_message_id, status,"
            " received_at, done_at, thread_id FROM messages WHERE (received_at IS NULL OR received_at >= ?)"
        )
        params: tuple[str, ...] = (iso_or_start(since),)
        if mailbox is not None:
            sql += " AND mailbox = ?"
            params = (*params, mailbox)
        return [_stored(row) for row in self.db.execute(sql + " ORDER BY id", params)]

    def find(self, message_id: str) -> list[StoredMessage]:
        rows = self.db.execute(
            "SELECT mailbox, folder, uidvalidity, uid, message_id, sender, subject, label,"
            " confidence, model_version, outcome, reason, draft_message_id, status,"
            " received_at, done_at, thread_id, answer_note FROM messages WHERE message_id = ? ORDER BY id",
            (message_id,),
        )
        return [_stored(row) for row in rows]


def _stored(row: tuple[object, ...]) -> StoredMessage:
    (
        mailbox,
        folder,
        uidvalidity,
        uid,
        message_id,
        sender,
        subject,
        label,
        confidence,
        model_version,
        outcome,
        reason,
        draft_id,
        status,
        received_at,
        done_at,
        thread_id,
        *answer_note,
    ) = row
    return StoredMessage(
        ref=MessageRef(str(mailbox), str(folder), int(uidvalidity), int(uid)),  # type: ignore[call-overload]
        message_id=message_id,  # type: ignore[arg-type]
        sender=str(sender or ""),
        subject=str(subject or ""),
        label=label,  # type: ignore[arg-type]
        confidence=confidence,  # type: ignore[arg-type]
        model_version=model_version,  # type: ignore[arg-type]
        outcome=outcome,  # type: ignore[arg-type]
        reason=reason,  # type: ignore[arg-type]
        draft_message_id=draft_id,  # type: ignore[arg-type]
        status=str(status),
        received_at=received_at,  # type: ignore[arg-type]
        done_at=done_at,  # type: ignore[arg-type]
        thread_id=thread_id,  # type: ignore[arg-type]
        answer_note=answer_note[0] if answer_note else None,  # type: ignore[arg-type]
    )
