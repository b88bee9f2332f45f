"""The conversations as the state database knows them, and the inbox-zero snapshot of each poll."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from triage.metrics.conversations import Conversation, MailEvent, conversations
from triage.state.store import Store


def conversation_events(store: Store, mailbox: str, since: datetime | None = None) -> list[MailEvent]:
    """Customer messages triage answered or queued for review, and the team's replies: from the
    Sent folder, \\Answered flags, and team mail that arrived in the watched folder (a reply
    with the support address in Cc). With `since`: only what happened from then on."""
    events = []
    for m in store.messages(mailbox, since):
        if not m.message_id or not m.received_at:
            continue
        root = (m.thread_id,) if m.thread_id and m.thread_id != m.message_id else ()
        at = datetime.fromisoformat(m.received_at)
        if m.outcome in ("drafted", "needs_review"):
            events.append(MailEvent(m.message_id, None, root, m.subject, m.sender, at, False, m.label))
        elif m.reason == "own_address" and root:
            events.append(MailEvent(m.message_id, None, root, m.subject, "", at, True))
    for message_id, at in store.answered(mailbox, since).items():  # \\Answered seen; the time is when noticed
        events.append(MailEvent(f"<answered-{message_id}>", message_id, (message_id,), "", "", at, True))
    seen = {e.message_id for e in events}
    for r in store.replies(mailbox, since):
        mid = r.message_id or f"<reply-{r.ref.uidvalidity}-{r.ref.uid}>"
        if mid not in seen:
            events.append(
                MailEvent(mid, r.in_reply_to, r.references, r.subject, r.customer, r.sent_at, from_team=True)
            )
    return events


def record_snapshot(
    store: Store, mailbox: str, now: datetime, threads: Sequence[Conversation] | None = None
) -> tuple[int, float | None]:
    """Inbox zero bookkeeping: how many conversations wait for the team now, and the oldest's age."""
    if threads is None:
        threads = conversations(conversation_events(store, mailbox))
    waiting = [since for t in threads if (since := t.waiting_since())]
    oldest = round((now - min(waiting)).total_seconds() / 3600, 2) if waiting else None
    store.record_snapshot(mailbox, now, len(waiting), oldest)
    return len(waiting), oldest
