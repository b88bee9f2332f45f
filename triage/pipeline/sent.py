"""The team's replies, read from the Sent folder into the state database."""

from __future__ import annotations

import logging

from triage.domain import (
    Cursor,
)
from triage.mail.quoting import quoted_question, recipient_name
from triage.pipeline.planning import parse_one
from triage.ports import Inbox
from triage.state.replies import Reply
from triage.state.store import Store

logger = logging.getLogger(__name__)


def sync_sent(inbox: Inbox, store: Store, max_bytes: int) -> int:
    """Read the team's new replies from the Sent folder into the store; how many were new."""
    assert inbox.sent_folder is not None
    cursor = store.cursor(inbox.name, inbox.sent_folder)
    above = cursor.last_uid if cursor else 0
    uidvalidity, raws = inbox.fetch_folder_since(inbox.sent_folder, above, max_bytes)
    if cursor and cursor.uidvalidity != uidvalidity:
        uidvalidity, raws = inbox.fetch_folder_since(inbox.sent_folder, 0, max_bytes)
    replies = []
    for raw in raws:
        result = parse_one(raw.data, raw.internaldate) if raw.data else "too large"
        if isinstance(result, str):
            logger.info("sent message %s not read: %s", raw.ref, result)
            continue
        replies.append(
            Reply(
                raw.ref,
                result.message_id,
                result.in_reply_to,
                result.references,
                result.to[0] if result.to else "",
                result.subject,
                result.date,
                result.new_text,
                quoted_question(result.text),
                recipient_name(result),
            )
        )
    last = max(
        (raw.ref.uid for raw in raws), default=above if cursor and cursor.uidvalidity == uidvalidity else 0
    )
    store.record_replies(replies, (inbox.name, inbox.sent_folder, Cursor(uidvalidity, last)))
    return len(replies)
