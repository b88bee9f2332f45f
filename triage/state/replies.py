"""The team's replies, as read from the Sent folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from triage.domain import Cursor, MessageRef
from triage.state.database import Tables, iso_or_start


@dataclass(frozen=True)
class Reply:
    """A message the team sent, as read from the Sent folder."""

    ref: MessageRef
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    customer: str
    subject: str
    sent_at: datetime
    body: str = ""  # the new text of the reply, quoted history removed
    quoted: str = ""  # the customer's words the reply quotes, for the answer bank
    customer_name: str = ""  # the display name the reply was addressed to


class ReplyLog(Tables):
    """The replies table."""

    def record_replies(self, replies: Sequence[Reply], cursor: tuple[str, str, Cursor]) -> None:
        """Store a batch of the team's replies and advance the Sent folder's cursor, atomically."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO replies (mailbox, folder, uidvalidity, uid, message_id, in_reply_to,"
                " refs, customer, subject, sent_at, body, quoted, customer_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.ref.mailbox,
                        r.ref.folder,
                        r.ref.uidvalidity,
                        r.ref.uid,
                        r.message_id,
                        r.in_reply_to,
                        " ".join(r.references),
                        r.customer,
                        r.subject,
                        r.sent_at.isoformat(),
                        r.body,
                        r.quoted,
                        r.customer_name,
                    )
                    for r in replies
                ],
            )
            mailbox, folder, position = cursor
            self.db.execute(
                "INSERT INTO cursors VALUES (?, ?, ?, ?) ON CONFLICT (mailbox, folder)"
                " DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
                (mailbox, folder, position.uidvalidity, position.last_uid),
            )

    def replies(self, mailbox: str, since: datetime | None = None) -> list[Reply]:
        rows = self.db.execute(
            "SELECT folder, uidvalidity, uid, message_id, in_reply_to, refs, customer, subject, sent_at"
            " FROM replies WHERE mailbox = ? AND sent_at >= ? ORDER BY sent_at",
            (mailbox, iso_or_start(since)),
        )
        return [
            Reply(
                MessageRef(mailbox, r[0], r[1], r[2]),
                r[3],
                r[4],
                tuple(r[5].split()),
                r[6] or "",
                r[7] or "",
                datetime.fromisoformat(r[8]),
            )
            for r in rows
        ]

    def drafts_and_replies(
        self, mailbox: str, since: datetime, until: datetime
    ) -> list[tuple[str, str, str]]:
        """(kind of draft, draft body, sent body) for team replies sent in a period to drafted messages;
        the kind is the template, with where a small fix's answer came from: "small_fix (learned answer)",
        "small_fix (curated answer)" or "small_fix (placeholders)"."""
        rows = self.db.execute(
            "SELECT m.template || COALESCE(' (' || m.answer_kind || ')', ''), m.draft_body, r.body"
            " FROM replies r JOIN messages m ON m.id ="
            " (SELECT MIN(id) FROM messages WHERE mailbox = r.mailbox AND message_id = r.in_reply_to"
            " AND draft_body IS NOT NULL)"
            " WHERE r.mailbox = ? AND r.sent_at >= ? AND r.sent_at < ?",
            (mailbox, since.isoformat(), until.isoformat()),
        )
        return [(str(r[0]), str(r[1]), str(r[2] or "")) for r in rows]

    def first_reply_to(self, mailbox: str, message_ids: Sequence[str]) -> str | None:
        """The body of the earliest team reply to any of these messages (what solved it)."""
        marks = ",".join("?" * len(message_ids))
        row = self.db.execute(
            f"SELECT body FROM replies WHERE mailbox = ? AND in_reply_to IN ({marks}) AND body IS NOT NULL"
            " ORDER BY sent_at LIMIT 1",
            (mailbox, *message_ids),
        ).fetchone()
        return str(row[0]) if row else None
