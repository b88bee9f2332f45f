"""State in one SQLite file: every message seen, its decision and outcome, and cursors.

The schema changes only through the named, ordered migrations below, each applied
in a transaction and recorded in `migrations`. To change the schema, append a new
migration; never edit one that has shipped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from triage.domain import Cursor, MessageRef

logger = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_messages_and_cursors",
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            message_key TEXT,
            message_id TEXT,
            thread_id TEXT,
            sender TEXT,
            subject TEXT,
            received_at TEXT,
            label TEXT,
            confidence REAL,
            model_version TEXT,
            rule TEXT,
            outcome TEXT,
            reason TEXT,
            template TEXT,
            draft_message_id TEXT,
            status TEXT NOT NULL DEFAULT 'received',
            first_seen_at TEXT NOT NULL,
            decided_at TEXT,
            done_at TEXT,
            UNIQUE (mailbox, folder, uidvalidity, uid)
        );
        CREATE INDEX messages_key ON messages (mailbox, message_key);
        CREATE INDEX messages_message_id ON messages (message_id);
        CREATE TABLE cursors (
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            last_uid INTEGER NOT NULL,
            PRIMARY KEY (mailbox, folder)
        );
        """,
    ),
    (
        "0002_model_text_and_corrections",
        """
        ALTER TABLE messages ADD COLUMN model_text TEXT;
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            mailbox TEXT NOT NULL,
            message_id TEXT NOT NULL,
            label TEXT NOT NULL,
            previous_label TEXT,
            source TEXT NOT NULL,
            who TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX corrections_message ON corrections (mailbox, message_id)
        """,
    ),
    (
        "0003_replies",
        """
        CREATE TABLE replies (
            id INTEGER PRIMARY KEY,
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            message_id TEXT,
            in_reply_to TEXT,
            refs TEXT NOT NULL DEFAULT '',
            customer TEXT,
            subject TEXT,
            sent_at TEXT NOT NULL,
            UNIQUE (mailbox, folder, uidvalidity, uid)
        );
        CREATE INDEX replies_in_reply_to ON replies (in_reply_to)
        """,
    ),
    (
        "0004_inbox_snapshots",
        """
        CREATE TABLE snapshots (
            mailbox TEXT NOT NULL,
            at TEXT NOT NULL,
            open_count INTEGER NOT NULL,
            oldest_open_hours REAL
        );
        CREATE INDEX snapshots_at ON snapshots (mailbox, at)
        """,
    ),
    (
        "0005_reports_sent",
        """
        CREATE TABLE reports_sent (
            mailbox TEXT NOT NULL,
            week TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            recipients TEXT NOT NULL,
            PRIMARY KEY (mailbox, week)
        )
        """,
    ),
    ("0006_answered_flag", "ALTER TABLE messages ADD COLUMN answered_at TEXT"),
    (
        "0007_draft_and_reply_text",
        "ALTER TABLE messages ADD COLUMN draft_body TEXT; ALTER TABLE replies ADD COLUMN body TEXT",
    ),
    (
        "0008_holding_drafts",
        """
        CREATE TABLE holding_drafts (
            mailbox TEXT NOT NULL,
            message_id TEXT NOT NULL,
            draft_message_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (mailbox, message_id)
        )
        """,
    ),
    (
        "0009_resolution",
        "ALTER TABLE messages ADD COLUMN resolved_at TEXT; ALTER TABLE messages ADD COLUMN resolved_by TEXT",
    ),
    ("0010_owner", "ALTER TABLE messages ADD COLUMN owner TEXT"),
    (
        "0011_briefs_and_reminders",
        """
        ALTER TABLE messages ADD COLUMN owner_address TEXT;
        ALTER TABLE messages ADD COLUMN facts TEXT;
        CREATE TABLE notices (
            mailbox TEXT NOT NULL,
            message_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            number INTEGER NOT NULL,
            recipient TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (mailbox, message_id, kind, number)
        )
        """,
    ),
)


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

    def folder_is(self, folder: str) -> bool:
        return self.ref.folder == folder


class Store:
    """The state database. One instance per process; not shared across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # created owner-only: it holds customer addresses and subjects
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # one thread at a time: a daemon's worker thread uses the store it was given
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing. (`with connection:` does not BEGIN in autocommit mode, so it is not used.)"""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                for statement in filter(str.strip, sql.split(";")):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))
            logger.info("applied migration %s", name)
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT name FROM migrations ORDER BY name")]

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
                " model_text = ?, draft_body = ?, owner = ?, owner_address = ?, facts = ?, decided_at = ?,"
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
            "SELECT c.message_id, m.model_text, c.label FROM corrections c"
            " JOIN messages m ON m.mailbox = c.mailbox AND m.message_id = c.message_id"
            " WHERE c.id IN (SELECT MAX(id) FROM corrections GROUP BY mailbox, message_id)"
            " AND m.model_text IS NOT NULL GROUP BY c.id ORDER BY c.id"
        )
        return [LabeledText(r[0], r[1], r[2]) for r in rows]

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
            (mailbox, _iso(since)),
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

    def record_replies(self, replies: Sequence[Reply], cursor: tuple[str, str, Cursor]) -> None:
        """Store a batch of the team's replies and advance the Sent folder's cursor, atomically."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO replies (mailbox, folder, uidvalidity, uid, message_id, in_reply_to,"
                " refs, customer, subject, sent_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            (mailbox, _iso(since)),
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

    def report_sent(self, mailbox: str, week: str) -> bool:
        row = self.db.execute("SELECT 1 FROM reports_sent WHERE mailbox = ? AND week = ?", (mailbox, week))
        return row.fetchone() is not None

    def record_report_sent(self, mailbox: str, week: str, at: datetime, recipients: Sequence[str]) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO reports_sent VALUES (?, ?, ?, ?)",
                (mailbox, week, at.isoformat(), ", ".join(recipients)),
            )

    def drafts_and_replies(
        self, mailbox: str, since: datetime, until: datetime
    ) -> list[tuple[str, str, str]]:
        """(template, draft body, sent body) for team replies sent in a period to drafted messages."""
        rows = self.db.execute(
            "SELECT m.template, m.draft_body, r.body FROM replies r JOIN messages m"
            " ON m.mailbox = r.mailbox AND m.message_id = r.in_reply_to"
            " WHERE r.mailbox = ? AND r.sent_at >= ? AND r.sent_at < ? AND m.draft_body IS NOT NULL"
            " GROUP BY r.id",
            (mailbox, since.isoformat(), until.isoformat()),
        )
        return [(str(r[0]), str(r[1]), str(r[2] or "")) for r in rows]

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

    def problems_between(
        self, mailbox: str, since: datetime, until: datetime
    ) -> list[tuple[str, str, str, datetime]]:
        """(Message-ID, subject, text the model read, received) of classified mail in a period."""
        rows = self.db.execute(
            "SELECT message_id, subject, model_text, received_at FROM messages WHERE mailbox = ?"
            " AND model_text IS NOT NULL AND message_id IS NOT NULL AND received_at >= ? AND received_at < ?"
            " ORDER BY received_at",
            (mailbox, since.astimezone(UTC).isoformat(), until.astimezone(UTC).isoformat()),
        )
        return [(str(r[0]), str(r[1] or ""), str(r[2]), datetime.fromisoformat(r[3])) for r in rows]

    def first_reply_to(self, mailbox: str, message_ids: Sequence[str]) -> str | None:
        """The body of the earliest team reply to any of these messages (what solved it)."""
        marks = ",".join("?" * len(message_ids))
        row = self.db.execute(
            f"SELECT body FROM replies WHERE mailbox = ? AND in_reply_to IN ({marks}) AND body IS NOT NULL"
            " ORDER BY sent_at LIMIT 1",
            (mailbox, *message_ids),
        ).fetchone()
        return str(row[0]) if row else None

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

    def messages(self, mailbox: str | None = None, since: datetime | None = None) -> list[StoredMessage]:
        """Every message (of a mailbox), or those received since a moment (and those with no date)."""
        sql = (
            "SELECT mailbox, folder, uidvalidity, uid, message_id, sender, subject, label,"
            " confidence, model_version, outcome, reason, draft_message_id, status,"
            " received_at, done_at, thread_id FROM messages WHERE (received_at IS NULL OR received_at >= ?)"
        )
        params: tuple[str, ...] = (_iso(since),)
        if mailbox is not None:
            sql += " AND mailbox = ?"
            params = (*params, mailbox)
        return [_stored(row) for row in self.db.execute(sql + " ORDER BY id", params)]

    def find(self, message_id: str) -> list[StoredMessage]:
        rows = self.db.execute(
            "SELECT mailbox, folder, uidvalidity, uid, message_id, sender, subject, label,"
            " confidence, model_version, outcome, reason, draft_message_id, status,"
            " received_at, done_at, thread_id FROM messages WHERE message_id = ? ORDER BY id",
            (message_id,),
        )
        return [_stored(row) for row in rows]


def _iso(moment: datetime | None) -> str:
    """A lower bound for ISO-8601 UTC text columns; "" (before everything) for none."""
    return moment.astimezone(UTC).isoformat() if moment is not None else ""


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
    )
