"""First-response figures: median, p90, share within the target; one row per conversation. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from triage.metrics.business_hours import BusinessHours
from triage.metrics.conversations import Conversation, sla_state


def how_long(hours: float) -> str:
    """A wait as a person says it: "5.2 h" under two days, "6 d 13 h" from then on."""
    if hours < 48:
        return f"{hours:.1f} h"
    days, rest = divmod(round(hours), 24)
    return f"{days} d {rest} h"


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


def first_responses(threads: Sequence[Conversation]) -> list[tuple[datetime, datetime]]:
    """(first customer message, first team reply after it) of each answered conversation."""
    return [
        (first.at, reply.at)
        for thread in threads
        if (first := thread.first_customer_message) and (reply := thread.first_response)
    ]


def first_response_figures(
    threads: Sequence[Conversation], hours: BusinessHours, target_hours: float
) -> ResponseFigures:
    answered = first_responses(threads)
    wall = [(reply - first).total_seconds() / 3600 for first, reply in answered]
    business = [hours.between(first, reply).total_seconds() / 3600 for first, reply in answered]
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
