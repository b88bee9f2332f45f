"""Response-time metrics: conversations, first responses, business hours. Pure: "now" is a parameter.

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

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

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

    @property
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


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when end <= start)."""
        if end <= start:
            return timedelta(0)
        zone = ZoneInfo(self.timezone)
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        total = timedelta(0)
        day = local_start.date()
        while day <= local_end.date():
            if day.weekday() in self.working_days and day not in self.holidays:
                open_at = datetime.combine(day, self.start, zone)
                close_at = datetime.combine(day, self.end, zone)
                lower, upper = max(open_at, local_start), min(close_at, local_end)
                if upper > lower:
                    total += upper - lower
            day += timedelta(days=1)
        return total


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


@dataclass(frozen=True)
class ResponseFigures:
    conversations: int
    answered: int
    median_hours: float | None
    p90_hours: float | None
    median_business_hours: float | None
    within_target: float | None  # share of answered conversations answered within the target


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `share` of values at or below."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil(share * n) without float error
    return ordered[rank - 1]


def first_response_figures(
    threads: Sequence[Conversation], hours: BusinessHours, target_hours: float
) -> ResponseFigures:
    wall: list[float] = []
    business: list[float] = []
    for thread in threads:
        first, reply = thread.first_customer_message, thread.first_response
        if first is None or reply is None:
            continue
        wall.append((reply.at - first.at).total_seconds() / 3600)
        business.append(hours.between(first.at, reply.at).total_seconds() / 3600)
    customer_threads = sum(1 for t in threads if t.first_customer_message is not None)
    return ResponseFigures(
        conversations=customer_threads,
        answered=len(wall),
        median_hours=round(median(wall), 2) if wall else None,
        p90_hours=round(percentile(wall, 0.9), 2) if wall else None,
        median_business_hours=round(median(business), 2) if business else None,
        within_target=round(sum(h <= target_hours for h in wall) / len(wall), 4) if wall else None,
    )


def conversation_rows(
    threads: Sequence[Conversation],
    hours: BusinessHours,
    now: datetime,
    targets: dict[str, float],
    default_hours: float,
    at_risk_share: float,
) -> list[dict[str, object]]:
    """One row per conversation, as `triage export` writes it."""
    rows: list[dict[str, object]] = []
    for thread in sorted(threads, key=lambda t: t.events[0].at):
        first, reply = thread.first_customer_message, thread.first_response
        if first is None:
            continue
        rows.append(
            {
                "conversation": thread.key,
                "customer": thread.customer,
                "subject": thread.subject,
                "label": first.label or "",
                "messages": sum(1 for e in thread.events if not e.from_team),
                "replies": sum(1 for e in thread.events if e.from_team),
                "first_message_at": first.at.isoformat(),
                "first_response_at": reply.at.isoformat() if reply else "",
                "first_response_hours": round((reply.at - first.at).total_seconds() / 3600, 2)
                if reply
                else "",
                "first_response_business_hours": (
                    round(hours.between(first.at, reply.at).total_seconds() / 3600, 2) if reply else ""
                ),
                "open": thread.waiting_since() is not None,
                "sla": sla_state(thread, now, targets, default_hours, at_risk_share) or "",
            }
        )
    return rows


ACCEPTANCE = ("sent as is", "lightly edited", "rewritten", "not used")


def acceptance(draft: str, sent: str) -> str:
    """How much of triage's draft survived into what the team sent (difflib similarity).

    >= 0.95 sent as is; >= 0.7 lightly edited; >= 0.3 rewritten; below, not used.
    """
    ratio = difflib.SequenceMatcher(None, " ".join(draft.split()), " ".join(sent.split())).ratio()
    if ratio >= 0.95:
        return ACCEPTANCE[0]
    if ratio >= 0.7:
        return ACCEPTANCE[1]
    if ratio >= 0.3:
        return ACCEPTANCE[2]
    return ACCEPTANCE[3]


def acceptance_by_template(pairs: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    """template -> acceptance -> count, from (template, draft, sent) triples."""
    table: dict[str, dict[str, int]] = {}
    for template, draft, sent in pairs:
        row = table.setdefault(template, dict.fromkeys(ACCEPTANCE, 0))
        row[acceptance(draft, sent)] += 1
    return table
