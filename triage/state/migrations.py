"""The schema, as named, ordered migrations; each applied in a transaction and recorded.

To change the schema, append a new migration; never edit one that has shipped. Write it
for both backends (SQLite and PostgreSQL, see `state/dialect.py`): types in upper case
(INTEGER, REAL, TEXT, BLOB; `id INTEGER PRIMARY KEY` for a generated id, read back with
`RETURNING id`), times as ISO-8601 UTC text, `INSERT ... ON CONFLICT DO NOTHING`, and
no SQLite-only functions.
"""

from __future__ import annotations

import logging

from triage.state.database import Database

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
    (
        "0014_mailbox_leases",
        """
        CREATE TABLE leases (
            mailbox TEXT PRIMARY KEY,
            holder TEXT,
            generation INTEGER NOT NULL DEFAULT 0,
            expires_at TEXT NOT NULL DEFAULT '',
            acquired_at TEXT
        );
        CREATE TABLE daemons (
            holder TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )
        """,
    ),
    (
        "0015_answer_bank",
        """
        ALTER TABLE replies ADD COLUMN quoted TEXT;
        ALTER TABLE replies ADD COLUMN customer_name TEXT;
        ALTER TABLE replies ADD COLUMN learned_at TEXT;
        ALTER TABLE messages ADD COLUMN answer_kind TEXT;
        ALTER TABLE messages ADD COLUMN answer_id INTEGER;
        ALTER TABLE messages ADD COLUMN answer_note TEXT;
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            mailbox TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            shape TEXT NOT NULL,
            body TEXT NOT NULL,
            times_sent INTEGER NOT NULL DEFAULT 0,
            first_sent_at TEXT NOT NULL,
            last_sent_at TEXT NOT NULL,
            UNIQUE (mailbox, fingerprint)
        );
        CREATE TABLE answer_sources (
            mailbox TEXT NOT NULL,
            reply_id INTEGER NOT NULL,
            answer_id INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            question TEXT NOT NULL,
            customer TEXT NOT NULL,
            greeting TEXT NOT NULL,
            sign_off TEXT NOT NULL,
            details TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (mailbox, reply_id)
        );
        CREATE INDEX answer_sources_answer ON answer_sources (answer_id)
        """,
    ),
)


def migrate(db: Database) -> list[str]:
    """Apply the migrations not yet applied, in order; return their names.

    Safe when several daemons start together on one database: each migration runs under
    the schema lock and is skipped when another process applied it meanwhile.
    """
    done = set(applied_migrations(db))
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with db.transaction():
            db.lock_schema()
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                continue
            for statement in filter(str.strip, sql.split(";")):
                db.execute(statement)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (name, db.now().isoformat()))
        logger.info("applied migration %s", name)
        applied.append(name)
    return applied


def applied_migrations(db: Database) -> list[str]:
    """The names of the migrations this database has had, in name order (the table made if missing)."""
    with db.transaction():
        db.lock_schema()
        db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return [row[0] for row in db.execute("SELECT name FROM migrations ORDER BY name")]
