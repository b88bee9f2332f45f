"""Holding drafts: an at-risk conversation is told, once, that the answer will take longer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from triage.domain import (
    Action,
    Decision,
)
from triage.metrics.conversations import Conversation, sla_state
from triage.metrics.response import how_long
from triage.pipeline.engine import Engine
from triage.pipeline.planning import parse_one
from triage.ports import Inbox
from triage.state.store import Store

logger = logging.getLogger(__name__)


def draft_holding_replies(
    inbox: Inbox, store: Store, engine: Engine, now: datetime, threads: Sequence[Conversation]
) -> int:
    """An at-risk conversation with no reply gets a holding draft once, and the triage_at_risk keyword.

    The seeds' rule: when an answer will take longer, the customer is told.
    """
    assert engine.sla is not None
    targets, share = engine.sla
    done = store.holding_drafted(inbox.name)
    uidvalidity = inbox.uidvalidity()  # once: it is a round trip to the server
    by_message_id = {
        m.message_id: m
        for m in store.messages(inbox.name, now - engine.live_window)
        if m.message_id and m.folder_is(inbox.folder) and m.ref.uidvalidity == uidvalidity
    }
    drafted = 0
    for thread in threads:
        if sla_state(thread, now, targets, 24.0, share) is None:
            continue
        waiting = [e for e in thread.events if not e.from_team and e.at >= (thread.waiting_since() or now)]
        latest = waiting[-1] if waiting else None
        if latest is None or latest.message_id in done or latest.message_id not in by_message_id:
            continue
        stored = by_message_id[latest.message_id]
        target = targets.get(stored.label or "", 24.0)
        # the clock runs from when triage drafted it too: a first run on old mail waits its turn
        if not stored.done_at or datetime.fromisoformat(stored.done_at) > now - timedelta(
            hours=share * target
        ):
            continue
        raws = inbox.fetch([stored.ref.uid], engine.max_message_bytes)
        parsed = parse_one(raws[0].data, raws[0].internaldate) if raws and raws[0].data else "gone"
        if isinstance(parsed, str):
            continue
        decision = Decision(Action.DRAFT, "at risk: holding reply", None, template="holding")
        draft = engine.drafter.render(parsed, decision, f"holding:{latest.message_id}", now)
        if not inbox.drafts_present([draft.message_id]):
            inbox.save_drafts([draft.data])
        inbox.add_keywords([stored.ref.uid], ["triage_at_risk"])
        store.record_holding_draft(inbox.name, latest.message_id, draft.message_id, now)
        if engine.notify_team is not None:
            waited = (now - (thread.waiting_since() or now)).total_seconds() / 3600
            try:
                engine.notify_team(
                    f"At risk: {thread.subject}",
                    f'{thread.customer} has waited {how_long(waited)} for an answer to "{thread.subject}"'
                    f" ({latest.message_id}). A holding reply waits in Drafts; the customer still needs"
                    " the real answer.\n",
                )
            except Exception:  # the team email is a courtesy; triage goes on without it
                logger.exception("could not email the team about %s", latest.message_id)
        logger.warning(
            "at risk: %s from %s waits since %s; holding draft saved",
            latest.message_id,
            thread.customer,
            thread.waiting_since(),
        )
        drafted += 1
    return drafted
