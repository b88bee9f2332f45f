"""The heartbeat of a daemon that shares mailboxes with others over one PostgreSQL database.

Every third of the lease time (and at the moment another daemon's lease runs out) it
beats in `daemons`, renews the leases it holds (a failed renewal revokes the hold at
once), hands over what is above its fair share, takes free or expired mailboxes up to
it, and tells each mailbox's worker. On SIGTERM, once the workers have stopped, it
releases every lease, so others take them over without waiting for expiry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from triage.cluster.balance import LeasePlan, plan_leases
from triage.cluster.lease import MailboxLease
from triage.errors import DatabaseUnavailable
from triage.state.leases import LeaseRow
from triage.state.store import Store

logger = logging.getLogger(__name__)

Planner = Callable[
    [str, Sequence[str], Mapping[str, LeaseRow], set[str], set[str], datetime],
    LeasePlan,
]
SETTLE_SECONDS = 2.0  # at start-up, how long peers starting together get to show up before taking


class Coordinator:
    """Leases for this daemon's mailboxes, kept over its own connection to the state database."""

    def __init__(
        self,
        store: Store,
        holder: str,
        leases: Mapping[str, MailboxLease],
        lease_seconds: float,
        on_change: Callable[[str], None] = lambda mailbox: None,
        publish: Callable[[Mapping[str, str]], None] | None = None,
        planner: Planner = plan_leases,
        clock: Callable[[], float] = time.monotonic,
        settle: float = SETTLE_SECONDS,
        on_failure: Callable[[], None] = lambda: None,
        register: bool = True,
    ) -> None:
        self.store = store
        self.holder = holder
        self.leases = dict(leases)
        self.ttl = lease_seconds
        self.margin = min(5.0, lease_seconds / 6)  # a write begun just before the deadline has landed
        self.on_change = on_change
        self.on_failure = on_failure
        self.register = register  # a daemon counts in the fair share; `run --once` does not
        self.failed = False
        self.publish = publish
        self.planner = planner
        self.clock = clock
        self.settle = min(settle, lease_seconds / 3)
        self.stopping = threading.Event()
        self.ready = threading.Event()  # set after the first heartbeat that took leases
        self.next_expiry: float | None = None  # by `clock`: when another daemon's lease runs out

    def run(self) -> None:
        """Beat until stopped; then release every lease (the workers have stopped by then)."""
        try:
            self.store.add_leases(sorted(self.leases))
            if self.settle:
                self.tick(take=False)
                self.stopping.wait(self.settle)
            while not self.stopping.is_set():
                self.tick()
                self.ready.set()
                self.stopping.wait(self._until_next_tick())
        except Exception:  # the holds would run out unseen: better a loud stop that systemd restarts
            logger.exception("the leases can no longer be kept; stopping")
            self.failed = True
            self.on_failure()
        finally:
            self.ready.set()
            self.release_all()

    def stop(self) -> None:
        self.stopping.set()

    def tick(self, take: bool = True) -> None:
        """One heartbeat; a database that cannot be reached is logged and tried again next time."""
        started = self.clock()  # before the database's clock is read: our deadline falls before its expiry
        try:
            now = self.store.db.now()
            expires = now + timedelta(seconds=self.ttl)
            if self.register:
                self.store.beat(self.holder, now, expires)
            self._renew(expires, started)
            rows = self.store.leases()
            live = self.store.live_daemons(now)
            if take:
                held = {m for m, lease in self.leases.items() if lease.generation is not None}
                plan = self.planner(self.holder, sorted(self.leases), rows, live, held, now)
                for mailbox in plan.release:
                    logger.info("%s: handing over to balance %d daemons", mailbox, len(live))
                    self.leases[mailbox].give_up()
                    self.on_change(mailbox)
                rows = self._take(plan.acquire, now, expires, started, rows)
            self._note_expiries(rows, now, started)
            if self.publish is not None:
                self.publish(
                    {m: row.holder for m, row in rows.items() if row.holder and not row.free_at(now)}
                )
        except DatabaseUnavailable as exc:
            logger.warning("leases not renewed: %s; writes stop when they run out", exc)
            self.store.close()

    def _renew(self, expires: datetime, started: float) -> None:
        for mailbox, lease in self.leases.items():
            generation = lease.generation
            if generation is None:
                continue
            if not self.store.renew(mailbox, self.holder, generation, expires):
                logger.warning("%s: lease lost to another daemon; stopped writing", mailbox)
                lease.revoke()
                self.on_change(mailbox)
            elif lease.giving_up and lease.busy.acquire(blocking=False):
                try:  # the worker is between polls: nothing of ours is in flight
                    self.store.release(mailbox, self.holder, generation)
                    lease.revoke()
                    logger.info("%s: lease released (generation %d)", mailbox, generation)
                    self.on_change(mailbox)
                finally:
                    lease.busy.release()
            else:
                lease.extend(started + self.ttl - self.margin)

    def _take(
        self,
        mailboxes: Sequence[str],
        now: datetime,
        expires: datetime,
        started: float,
        rows: dict[str, LeaseRow],
    ) -> dict[str, LeaseRow]:
        for mailbox in mailboxes:
            generation = self.store.acquire(mailbox, self.holder, now, expires)
            if generation is None:
                continue  # another daemon was quicker
            self.leases[mailbox].grant(generation, started + self.ttl - self.margin)
            rows = {**rows, mailbox: LeaseRow(mailbox, self.holder, generation, expires)}
            logger.info("%s: lease taken (generation %d)", mailbox, generation)
            self.on_change(mailbox)
        return rows

    def _note_expiries(self, rows: Mapping[str, LeaseRow], now: datetime, started: float) -> None:
        """When the next lease held by another daemon runs out: the takeover should not wait a whole
        heartbeat after that."""
        ahead = [
            seconds
            for mailbox, row in rows.items()
            if mailbox in self.leases
            and row.holder not in (None, self.holder)
            and row.expires_at
            and (seconds := (row.expires_at - now).total_seconds()) > 0
        ]
        self.next_expiry = started + min(ahead) + 0.05 if ahead else None

    def _until_next_tick(self) -> float:
        wait = self.ttl / 3
        if self.next_expiry is not None:
            wait = min(wait, self.next_expiry - self.clock())
        return max(wait, 0.05)

    def release_all(self) -> None:
        """SIGTERM: every lease back to the pool at once, and this daemon off the list of the living."""
        try:
            for mailbox, lease in self.leases.items():
                if lease.generation is not None:
                    self.store.release(mailbox, self.holder, lease.generation)
                    logger.info("%s: lease released (generation %d)", mailbox, lease.generation)
                lease.revoke()
            self.store.leave(self.holder)
        except DatabaseUnavailable as exc:
            logger.warning("leases not released (%s): others take them over when they expire", exc)
        finally:
            self.store.close()
