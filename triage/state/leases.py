"""Mailbox leases shared by daemons over one database: who works which mailbox, until when.

A lease is a row: holder, generation, expiry. Taking one (free, released or expired)
raises its generation; renewing or releasing it succeeds only for the holder of that
generation. Every write a holder makes for the mailbox checks the generation in the same
transaction (`Fence`), so a holder that lost its lease during a pause or a network cut
cannot commit after another took over. Live daemons beat in `daemons`, which is how each
knows its fair share. Times are the database's clock, as ISO-8601 UTC text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from triage.errors import LeaseLost
from triage.state.database import Database, Tables


@dataclass(frozen=True)
class LeaseRow:
    """One mailbox's lease as the database has it."""

    mailbox: str
    holder: str | None  # None: released, or never taken
    generation: int
    expires_at: datetime | None

    def free_at(self, now: datetime) -> bool:
        return self.holder is None or self.expires_at is None or self.expires_at <= now


@dataclass(frozen=True)
class Fence:
    """The lease a daemon's writes for one mailbox are made under."""

    mailbox: str
    holder: str
    generation: int

    def check(self, db: Database) -> None:
        """Inside the write's transaction: still ours? The row stays locked until the commit, so a
        takeover waits for this write and every later write of ours sees the new generation."""
        held = db.execute(
            "UPDATE leases SET generation = generation WHERE mailbox = ? AND holder = ? AND generation = ?",
            (self.mailbox, self.holder, self.generation),
        ).rowcount
        if held != 1:
            raise LeaseLost(self.mailbox, f"generation {self.generation} is no longer held by {self.holder}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class LeaseTable(Tables):
    """The leases and daemons tables."""

    def beat(self, holder: str, now: datetime, expires: datetime) -> None:
        """This daemon is alive until `expires`; daemons whose beat expired are forgotten."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO daemons VALUES (?, ?, ?)"
                " ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at",
                (holder, _iso(now), _iso(expires)),
            )
            self.db.execute("DELETE FROM daemons WHERE expires_at < ?", (_iso(now),))

    def live_daemons(self, now: datetime) -> set[str]:
        rows = self.db.execute("SELECT holder FROM daemons WHERE expires_at >= ?", (_iso(now),))
        return {str(r[0]) for r in rows}

    def leave(self, holder: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM daemons WHERE holder = ?", (holder,))

    def add_leases(self, mailboxes: Sequence[str]) -> None:
        """A free lease for each mailbox that has none yet."""
        with self.transaction():
            self.db.executemany(
                "INSERT INTO leases (mailbox) VALUES (?) ON CONFLICT DO NOTHING", [(m,) for m in mailboxes]
            )

    def leases(self) -> dict[str, LeaseRow]:
        """Every mailbox's lease, by mailbox."""
        rows = self.db.execute("SELECT mailbox, holder, generation, expires_at FROM leases ORDER BY mailbox")
        return {
            str(r[0]): LeaseRow(str(r[0]), r[1], int(r[2]), datetime.fromisoformat(r[3]) if r[3] else None)
            for r in rows
        }

    def acquire(self, mailbox: str, holder: str, now: datetime, expires: datetime) -> int | None:
        """Take a free, released or expired lease; its new generation, or None when another holds it."""
        with self.transaction():
            row = self.db.execute(
                "UPDATE leases SET holder = ?, generation = generation + 1, expires_at = ?, acquired_at = ?"
                " WHERE mailbox = ? AND (holder IS NULL OR expires_at <= ?) RETURNING generation",
                (holder, _iso(expires), _iso(now), mailbox, _iso(now)),
            ).fetchone()
        return int(row[0]) if row else None

    def renew(self, mailbox: str, holder: str, generation: int, expires: datetime) -> bool:
        """Extend our lease; False when it passed to another (then stop writing at once)."""
        with self.transaction():
            return (
                self.db.execute(
                    "UPDATE leases SET expires_at = ? WHERE mailbox = ? AND holder = ? AND generation = ?",
                    (_iso(expires), mailbox, holder, generation),
                ).rowcount
                == 1
            )

    def release(self, mailbox: str, holder: str, generation: int) -> bool:
        """Give the lease up now (SIGTERM, or rebalancing): another daemon may take it at once."""
        with self.transaction():
            return (
                self.db.execute(
                    "UPDATE leases SET holder = NULL, expires_at = '' WHERE mailbox = ? AND holder = ?"
                    " AND generation = ?",
                    (mailbox, holder, generation),
                ).rowcount
                == 1
            )
