"""A daemon's hold on one mailbox: what its worker checks before every write, and the writes it guards.

The coordinator grants, extends and revokes the hold; the mailbox's worker asks `held()`
before a poll and `check()` before each write to the mailbox or to the owner's inbox. The
hold runs out by this host's monotonic clock *before* the lease expires in the database
(the deadline is counted from before the renewal was asked for, less a margin), so a
daemon that was paused or cut off stops writing before another may start. Writes to the
state database are fenced on top of this by the lease's generation (`state/leases.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from triage.domain import RawMessage
from triage.errors import LeaseLost
from triage.pipeline.engine import Engine
from triage.ports import Inbox
from triage.state.leases import Fence

logger = logging.getLogger(__name__)


class MailboxLease:
    """Shared by the coordinator's thread and the mailbox's worker thread."""

    def __init__(self, mailbox: str, holder: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.mailbox = mailbox
        self.holder = holder
        self.clock = clock
        self.generation: int | None = None  # None: not ours
        self.deadline = 0.0  # by `clock`: no write after this
        self.giving_up = False  # asked to hand it over: the worker stops, then it is released
        self.busy = threading.Lock()  # held by the worker while it polls: no release meanwhile
        self._lock = threading.Lock()

    def grant(self, generation: int, deadline: float) -> None:
        with self._lock:
            self.generation, self.deadline, self.giving_up = generation, deadline, False

    def extend(self, deadline: float) -> None:
        with self._lock:
            self.deadline = max(self.deadline, deadline)

    def give_up(self) -> None:
        with self._lock:
            self.giving_up = True

    def revoke(self) -> None:
        with self._lock:
            self.generation, self.deadline, self.giving_up = None, 0.0, False

    def held(self) -> bool:
        with self._lock:
            return self.generation is not None and not self.giving_up and self.clock() < self.deadline

    def check(self) -> None:
        """Before a write: raise LeaseLost unless the lease is ours for a while yet."""
        with self._lock:
            generation, giving_up, left = self.generation, self.giving_up, self.deadline - self.clock()
        if generation is None:
            raise LeaseLost(self.mailbox, "another daemon holds it")
        if giving_up:
            raise LeaseLost(self.mailbox, "handed over to another daemon")
        if left <= 0:
            raise LeaseLost(self.mailbox, f"not renewed in time ({-left:.1f} s past its deadline)")

    def fence(self) -> Fence | None:
        with self._lock:
            generation = self.generation
        return Fence(self.mailbox, self.holder, generation) if generation is not None else None


class LeasedInbox:
    """An Inbox whose writes (drafts, keywords, moves) happen only while the lease is held."""

    def __init__(self, inbox: Inbox, lease: MailboxLease) -> None:
        self.inner = inbox
        self.lease = lease
        self.name = inbox.name
        self.folder = inbox.folder
        self.sent_folder = inbox.sent_folder

    def save_drafts(self, drafts: Sequence[bytes]) -> None:
        """Checked before; and after, since a pause inside the APPEND may outlast the lease: then the
        copies that landed after the new holder's own are removed again before LeaseLost is raised."""
        if not drafts:
            return
        self.lease.check()
        self.inner.save_drafts(drafts)
        if not self.lease.held():
            removed = self.inner.remove_duplicate_drafts([_message_id(data) for data in drafts])
            if removed:
                logger.warning(
                    "%s: lease ran out during an APPEND: %d late drafts removed", self.name, removed
                )
            self.lease.check()

    def remove_duplicate_drafts(self, message_ids: Sequence[str]) -> int:
        return self.inner.remove_duplicate_drafts(message_ids)

    def add_keywords(self, uids: Sequence[int], keywords: Sequence[str]) -> None:
        self.lease.check()
        self.inner.add_keywords(uids, keywords)

    def move(self, uids: Sequence[int], folder: str) -> None:
        self.lease.check()
        self.inner.move(uids, folder)

    # reading is free
    def uidvalidity(self) -> int:
        return self.inner.uidvalidity()

    def list_uids(self, above: int) -> tuple[int, list[int]]:
        return self.inner.list_uids(above)

    def fetch(self, uids: Sequence[int], max_bytes: int) -> list[RawMessage]:
        return self.inner.fetch(uids, max_bytes)

    def drafts_present(self, message_ids: Sequence[str]) -> set[str]:
        return self.inner.drafts_present(message_ids)

    def folder_message_ids(self, folder: str) -> list[str]:
        return self.inner.folder_message_ids(folder)

    def read_folder(self, folder: str, max_bytes: int) -> list[RawMessage]:
        return self.inner.read_folder(folder, max_bytes)

    def fetch_folder_since(self, folder: str, above: int, max_bytes: int) -> tuple[int, list[RawMessage]]:
        return self.inner.fetch_folder_since(folder, above, max_bytes)

    def keywords(self, uids: Sequence[int]) -> dict[int, frozenset[str]]:
        return self.inner.keywords(uids)

    def wait_for_new_mail(self, timeout: float, stopping: threading.Event) -> bool:
        return self.inner.wait_for_new_mail(timeout, stopping)

    def close(self) -> None:
        self.inner.close()


def _message_id(draft: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(draft).get("Message-ID", "")).strip()


def leased_engine(engine: Engine, lease: MailboxLease) -> Engine:
    """The engine with its emails (briefs and reminders by SMTP, at-risk notes) sent only under the lease."""
    follow_up = engine.follow_up
    if follow_up is not None and follow_up.send_email is not None:
        send = follow_up.send_email

        def send_email(message: EmailMessage) -> None:
            lease.check()
            send(message)

        follow_up = replace(follow_up, send_email=send_email)
    notify = engine.notify_team
    if notify is not None:
        team_notifier = notify

        def notify_team(subject: str, text: str) -> None:
            lease.check()
            team_notifier(subject, text)

        notify = notify_team
    return replace(engine, follow_up=follow_up, notify_team=notify)
