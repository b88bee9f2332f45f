"""What people did in their mail client: answered (\\Answered), resolved, relabeled or filed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from triage.domain import (
    LABELS,
)
from triage.pipeline.engine import KEYWORD_PREFIX
from triage.ports import Inbox
from triage.state.corrections import Correction
from triage.state.store import Store

logger = logging.getLogger(__name__)


Flags = Mapping[int, frozenset[str]]


def note_answered(store: Store, mailbox: str, waiting: Mapping[int, str], flags: Flags, now: datetime) -> int:
    """Honour \\Answered: a message a person answered from any client counts as answered now."""
    answered = [mid for uid, mid in waiting.items() if "\\Answered" in flags.get(uid, ())]
    if answered:
        store.mark_answered(mailbox, answered, now)
    return len(answered)


def note_resolved(
    store: Store, mailbox: str, labeled: Mapping[int, tuple[str, str]], flags: Flags, now: datetime
) -> int:
    """A `triage_resolved` keyword set in a mail client marks the problem solved."""
    resolved = 0
    for uid, (message_id, _) in labeled.items():
        if "triage_resolved" in flags.get(uid, ()) and store.resolve(mailbox, message_id, now, None):
            logger.info("resolved in a mail client: %s", message_id)
            resolved += 1
    return resolved


def detect_corrections(
    store: Store, mailbox: str, labeled: Mapping[int, tuple[str, str]], flags: Flags, now: datetime
) -> int:
    """Record a correction wherever a person swapped our triage_<class> keyword for another.

    Only an unambiguous change counts: our class keyword removed and exactly one other
    class keyword present. Returns how many corrections were recorded.
    """
    recorded = 0
    for uid, (message_id, _) in labeled.items():
        classes = {k.removeprefix(KEYWORD_PREFIX) for k in flags.get(uid, ())} & set(LABELS)
        current = store.current_label(mailbox, message_id)
        if len(classes) != 1 or current in classes:
            continue
        (label,) = classes
        store.record_correction(Correction(mailbox, message_id, label, current, "keyword", None, now))
        logger.info("correction from a mail client: %s %s -> %s", message_id, current, label)
        recorded += 1
    return recorded


def detect_folder_corrections(inbox: Inbox, store: Store, now: datetime, folders: dict[str, str]) -> int:
    """Record a correction for every triaged message a person filed into another class's folder."""
    recorded = 0
    for label, folder in folders.items():
        for message_id in inbox.folder_message_ids(folder):
            current = store.current_label(inbox.name, message_id)
            if current is None or current == label:
                continue
            store.record_correction(Correction(inbox.name, message_id, label, current, "folder", None, now))
            logger.info("correction by folder %s: %s %s -> %s", folder, message_id, current, label)
            recorded += 1
    return recorded
