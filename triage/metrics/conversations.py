"""Conversations from mail events: who waits for whom, and since when. Pure: "now" is a parameter.

Definitions (also in the README):
* A conversation is a thread: messages linked by References/In-Reply-To share the root
  Message-ID; a message with neither is matched to an open thread with the same normalized
  subject from the same customer address, else it starts its own.
* A conversation waits from its earliest unanswered customer message until the team's next
  reply in it; the first-response time is from the first customer message to the first
  team reply after it.
* Business hours count only the time inside the working hours of working days, in the
  team's time zone, minus holidays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class MailEvent:
    """One message in a thread: from a customer (inbound) or from the team (a reply)."""

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    customer: str  # the customer's address (sender inbound, recipient of a reply)
    at: datetime
    from_team: bool
    label: str | None = None  # triage's class, for customer messages


@dataclass(frozen=True)
class Conversation:
    key: str
    customer: str
    subject: str
    events: tuple[MailEvent, ...]

    @cached_property  # asked for every conversation of every period a report compares
    def first_customer_message(self) -> MailEvent | None:
        return next((e for e in self.events if not e.from_team), None)

    @property
    def first_response(self) -> MailEvent | None:
        first = self.first_customer_message
        if first is None:
            return None
        return next((e for e in self.events if e.from_team and e.at >= first.at), None)

    def waiting_since(self) -> datetime | None:
        """When the oldest unanswered customer message arrived, or None when answered."""
        waiting: datetime | None = None
        for event in self.events:
            if event.from_team:
                waiting = None
            elif waiting is None:
                waiting = event.at
        return waiting


def sla_state(
    thread: Conversation, now: datetime, targets: dict[str, float], default_hours: float, at_risk_share: float
) -> str | None:
    """'breached' or 'at_risk' for a waiting conversation past its share of the target, else None."""
    since = thread.waiting_since()
    if since is None:
        return None
    first = thread.first_customer_message
    target = targets.get(first.label or "", default_hours) if first else default_hours
    waited = (now - since).total_seconds() / 3600
    if waited >= target:
        return "breached"
    if waited >= at_risk_share * target:
        return "at_risk"
    return None


def started_between(threads: Iterable[Conversation], start: datetime, end: datetime) -> list[Conversation]:
    """The conversations whose first customer message arrived in [start, end)."""
    return [t for t in threads if (first := t.first_customer_message) and start <= first.at < end]


def normalized_subject(subject: str) -> str:
    return " ".join(_SUBJECT_PREFIX.sub("", subject).lower().split())


def conversations(events: Iterable[MailEvent]) -> list[Conversation]:
    """Group messages into threads, by references first, then subject and customer."""
    ordered = sorted(events, key=lambda e: e.at)
    root_of: dict[str, str] = {}
    by_subject: dict[tuple[str, str], str] = {}
    threads: dict[str, list[MailEvent]] = {}
    for event in ordered:
        linked = [*event.references, *([event.in_reply_to] if event.in_reply_to else [])]
        root = next((root_of[m] for m in linked if m in root_of), None)
        if root is None and not linked:
            root = by_subject.get((normalized_subject(event.subject), event.customer))
        if root is None:
            root = linked[0] if linked else event.message_id
        root_of[event.message_id] = root
        for m in linked:
            root_of.setdefault(m, root)
        by_subject.setdefault((normalized_subject(event.subject), event.customer), root)
        threads.setdefault(root, []).append(event)
    result = []
    for key, items in threads.items():
        first = next((e for e in items if not e.from_team), items[0])
        result.append(Conversation(key, first.customer, first.subject, tuple(items)))
    return result
