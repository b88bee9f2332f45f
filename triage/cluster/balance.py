"""Which mailboxes a daemon takes and which it gives up: a fair share of them, decided from the leases.

Pure: the leases, the live daemons and "now" come in, a plan goes out. Each daemon ranks
the mailboxes by a hash of its name and the mailbox's (rendezvous hashing), so daemons
that look at the same free mailboxes at the same moment mostly reach for different ones,
and a mailbox tends to go back to the same daemon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from triage.state.leases import LeaseRow


@dataclass(frozen=True)
class LeasePlan:
    acquire: tuple[str, ...] = ()
    release: tuple[str, ...] = ()


def preference(holder: str, mailbox: str) -> bytes:
    return hashlib.sha256(f"{holder}\0{mailbox}".encode()).digest()


def fair_share(mailboxes: int, daemons: int) -> int:
    """At most this many mailboxes per daemon: every mailbox is held, none by more than one."""
    return -(-mailboxes // max(daemons, 1))


def plan_leases(
    holder: str,
    mailboxes: Sequence[str],
    leases: Mapping[str, LeaseRow],
    live: Collection[str],
    held: Collection[str],
    now: datetime,
) -> LeasePlan:
    """Take free or expired mailboxes up to the fair share among live daemons; give up the least
    preferred ones above it (a daemon joined), for the newcomer to take."""
    share = fair_share(len(mailboxes), len({*live, holder}))
    ranked = sorted(mailboxes, key=lambda mailbox: preference(holder, mailbox))
    mine = [mailbox for mailbox in ranked if mailbox in held]
    if len(mine) > share:
        return LeasePlan(release=tuple(mine[share:]))
    return LeasePlan(acquire=_free(ranked, leases, held, now)[: share - len(mine)])


def plan_all(
    holder: str,
    mailboxes: Sequence[str],
    leases: Mapping[str, LeaseRow],
    live: Collection[str],
    held: Collection[str],
    now: datetime,
) -> LeasePlan:
    """`triage run --once`: every configured mailbox that is free, none given up."""
    return LeasePlan(acquire=_free(mailboxes, leases, held, now))


def _free(
    mailboxes: Sequence[str], leases: Mapping[str, LeaseRow], held: Collection[str], now: datetime
) -> tuple[str, ...]:
    """Not ours, and nobody's now (never taken, released, or expired)."""
    return tuple(m for m in mailboxes if m not in held and (m not in leases or leases[m].free_at(now)))
