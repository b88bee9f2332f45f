"""Follow-up until solved: briefs to owners of escalations, reminders to owners and the lead."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from email.policy import SMTP
from email.utils import formataddr

from imapclient.exceptions import IMAPClientError

from triage.domain import (
    Owner,
)
from triage.errors import MailboxError
from triage.metrics.conversations import Conversation, conversations
from triage.pipeline.engine import FollowUp
from triage.pipeline.threads import conversation_events
from triage.ports import Inbox
from triage.replies.briefs import Case, Notice, TimelineEntry, compose_brief, due_reminder
from triage.replies.facts import Facts
from triage.state.store import Store

logger = logging.getLogger(__name__)


NOTICE_BATCH = 200  # notices per APPEND


def follow_up(
    inbox: Inbox, store: Store, how: FollowUp, now: datetime, threads: Sequence[Conversation]
) -> tuple[int, int]:
    """Brief the owner of every new escalation; remind owners, then the lead, until it is solved.

    A notice that cannot be delivered (SMTP down) is retried on the next poll: it is
    recorded only once delivered. Returns (briefs, reminders) delivered.
    """
    by_message = {e.message_id: t for t in threads for e in t.events}
    notices: list[Notice] = []
    for pending in store.pending_briefs(inbox.name):
        facts = Facts.from_json(pending.facts)
        owner = Owner(pending.owner or how.team.name, pending.owner_address)
        timeline = _timeline(by_message.get(pending.message_id), facts, owner)
        notices.append(compose_brief(facts, owner, how.team, timeline, pending.draft_body, how.zone))
    for case in open_cases(store, inbox.name, by_message):
        reminder = due_reminder(case, now, how.policy, how.team)
        if reminder is not None:
            notices.append(reminder)
    delivered = _deliver(inbox, how, notices, now)
    for notice in delivered:
        store.record_notice(inbox.name, notice.case, notice.kind, notice.number, notice.to, now)
        log = logger.info if notice.kind == "brief" else logger.warning
        log("%s %d about %s delivered to %s", notice.kind, notice.number, notice.case, notice.to)
    briefs = sum(1 for notice in delivered if notice.kind == "brief")
    return briefs, len(delivered) - briefs


def open_cases(store: Store, mailbox: str, threads: dict[str, Conversation] | None = None) -> list[Case]:
    """Unresolved complaints and escalations with owner and state, oldest first."""
    if threads is None:
        threads = {
            e.message_id: t for t in conversations(conversation_events(store, mailbox)) for e in t.events
        }
    cases = []
    for stored in store.open_cases(mailbox):
        thread = threads.get(stored.message_id)
        state = case_state(thread)
        if thread is None:
            since = stored.received_at
        elif state == "open":
            since = thread.waiting_since() or stored.received_at
        else:
            since = max(e.at for e in thread.events if e.from_team)
        cases.append(
            Case(
                message_id=stored.message_id,
                label=stored.label,
                subject=stored.subject,
                customer=stored.sender,
                owner=Owner(stored.owner, stored.owner_address),
                received_at=stored.received_at,
                handled_at=stored.handled_at,
                state=state,
                state_since=since,
                reminders_sent=stored.reminders_sent,
                last_reminder_at=stored.last_reminder_at,
            )
        )
    return cases


def case_state(thread: Conversation | None) -> str:
    """open while the customer waits for the team; waiting_on_customer once the team answered last."""
    if thread is None or thread.waiting_since() is not None:
        return "open"
    return "waiting_on_customer" if any(e.from_team for e in thread.events) else "open"


def _timeline(thread: Conversation | None, facts: Facts, owner: Owner) -> list[TimelineEntry]:
    customer = formataddr((facts.customer_name, facts.customer_address))
    entries = [
        TimelineEntry(e.at, "the team replied" if e.from_team else f"{customer} wrote: {e.subject}")
        for e in (thread.events if thread else ())
    ]
    if not entries:
        entries.append(TimelineEntry(facts.received_at, f"{customer} wrote: {facts.subject}"))
    entries.append(
        TimelineEntry(entries[-1].at, f"triage drafted the reply for review and passed it to {owner.name}")
    )
    return entries


def _deliver(inbox: Inbox, how: FollowUp, notices: Sequence[Notice], now: datetime) -> list[Notice]:
    """Send the notices, or save them to Drafts in one APPEND; returns those delivered. Only
    those are recorded, so a failure (logged) is retried on the next poll."""
    if how.send_email is not None:
        sent = []
        for notice in notices:
            try:
                how.send_email(notice.email(how.team, now))
                sent.append(notice)
            except Exception as exc:  # SMTP down or refused
                logger.error(
                    "could not send the %s about %s to %s: %s", notice.kind, notice.case, notice.to, exc
                )
        return sent
    if not notices:
        return []
    saved: list[Notice] = []
    try:
        present = inbox.drafts_present([notice.message_id(how.team) for notice in notices])
        for start in range(0, len(notices), NOTICE_BATCH):
            batch = notices[start : start + NOTICE_BATCH]
            # bytes made one at a time: an EmailMessage object costs ~100 KB while it lives
            inbox.save_drafts(
                [
                    n.email(how.team, now).as_bytes(policy=SMTP)
                    for n in batch
                    if n.message_id(how.team) not in present
                ]
            )
            saved.extend(batch)
    except (MailboxError, IMAPClientError, OSError) as exc:  # quota, connection: the rest is retried
        logger.error("could not save %d notices to Drafts: %s", len(notices) - len(saved), exc)
    return saved
