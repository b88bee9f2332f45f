"""One poll of one folder: the order of the steps. Adapters arrive as arguments.

Exactly once: every message is recorded as received before any work; its decision
and draft Message-ID (stable per message) are committed before the APPEND; it is
marked done, with the cursor, only after the mailbox accepted the draft and the
keywords. A crash between APPEND and the last commit leaves it `planned`: the next
poll finds its draft already in Drafts by Message-ID and does not append it again.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from imapclient.exceptions import IMAPClientError

from triage.domain import (
    Cursor,
    Outcome,
    PollSummary,
    RawMessage,
)
from triage.errors import MailboxError
from triage.metrics.conversations import conversations
from triage.pipeline.answers import learn_answers
from triage.pipeline.client_marks import (
    detect_corrections,
    detect_folder_corrections,
    note_answered,
    note_resolved,
)
from triage.pipeline.engine import Engine, MessagePlan, PollResult
from triage.pipeline.follow_up import follow_up
from triage.pipeline.holding import draft_holding_replies
from triage.pipeline.planning import plan_batch
from triage.pipeline.sent import sync_sent
from triage.pipeline.threads import conversation_events, record_snapshot
from triage.ports import Inbox
from triage.state.store import Store

logger = logging.getLogger(__name__)


def poll(
    inbox: Inbox,
    store: Store,
    engine: Engine,
    clock: Callable[[], datetime],
    batch_size: int = 200,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    keep_plans: bool = True,
    on_batch: Callable[[Sequence[MessagePlan]], None] | None = None,
) -> PollResult:
    """Process every message of the folder not yet done; return what happened.

    The daemon passes `keep_plans=False`: a first backlog of 50,000 messages then costs
    no memory per message; `counts` still says what happened to them.
    """
    cursor = store.cursor(inbox.name, inbox.folder)
    uidvalidity = inbox.uidvalidity()
    above = cursor.last_uid if cursor and cursor.uidvalidity == uidvalidity else 0
    if cursor and cursor.uidvalidity != uidvalidity:
        logger.warning(
            "%s %s: UIDVALIDITY changed %s -> %s; resyncing (no duplicate drafts: matched by Message-ID)",
            inbox.name,
            inbox.folder,
            cursor.uidvalidity,
            uidvalidity,
        )
    uidvalidity, uids = inbox.list_uids(above=above)
    finished = store.finished_uids(inbox.name, inbox.folder, uidvalidity, above)
    todo = [uid for uid in uids if uid not in finished]
    summary, pending = PollSummary(), 0
    plans: list[MessagePlan] = []
    counts: Counter[tuple[str, str]] = Counter()
    corrections = 0
    if inbox.sent_folder and not dry_run:
        sync_sent(inbox, store, engine.max_message_bytes)
        learn_answers(store, inbox.name, clock(), engine.answers.history_days, settle=False)
    if engine.correction_window is not None and not dry_run:
        now = clock()
        since = now - engine.correction_window
        unanswered = store.unanswered_in_folder(inbox.name, inbox.folder, uidvalidity, since)
        labeled = store.labeled_in_folder(inbox.name, inbox.folder, uidvalidity, since)
        watched = sorted(set(unanswered) | set(labeled))
        flags = inbox.keywords(watched) if watched else {}  # one FETCH FLAGS for the three checks
        note_answered(store, inbox.name, unanswered, flags, now)
        note_resolved(store, inbox.name, labeled, flags, now)
        corrections = detect_corrections(store, inbox.name, labeled, flags, now)
        corrections += detect_folder_corrections(inbox, store, now, engine.correction_folders or {})
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        raws = inbox.fetch(batch, engine.max_message_bytes)
        if not dry_run:
            store.record_received([raw.ref for raw in raws], clock())
        history, current = _history_first(raws, engine)
        for part in (history, current):
            if not part:
                continue
            batch_plans = plan_batch(part, engine, store, clock())
            if keep_plans:
                plans.extend(map(_slim, batch_plans))  # without the drafts' bytes
            if on_batch is not None:
                on_batch(batch_plans)
            counts.update((plan.outcome.value, plan.record.label or "none") for plan in batch_plans)
            summary += summarize(batch_plans)
            if dry_run:
                continue
            try:
                carry_out(inbox, store, batch_plans, clock)
            except (MailboxError, IMAPClientError, OSError) as exc:
                pending = len(todo) - start
                logger.error(
                    "%s: mailbox refused a write (%s); %d messages stay pending", inbox.name, exc, pending
                )
                # the rest of the poll writes too: leave it to the next poll, on a sound connection
                return PollResult(summary, tuple(plans), pending, corrections, counts=counts)
            whole_batch = part is current or not current
            done = (inbox.name, inbox.folder, Cursor(uidvalidity, max(batch))) if whole_batch else None
            store.record_done([plan.ref for plan in batch_plans], clock(), done)
            if part is history and inbox.sent_folder:  # the team's replies to it teach the rest
                learn_answers(store, inbox.name, clock(), engine.answers.history_days, settle=False)
        if progress is not None:
            progress(len(batch), len(todo))
    if not todo and not dry_run:
        last = max(uids, default=above)
        store.record_done([], clock(), (inbox.name, inbox.folder, Cursor(uidvalidity, last)))
    if dry_run:
        return PollResult(summary, tuple(plans), pending, corrections, counts=counts)
    if inbox.sent_folder:  # replies to questions this poll has just read
        learn_answers(store, inbox.name, clock(), engine.answers.history_days)
    # once, over the live window: months of history must not slow every poll
    threads = conversations(conversation_events(store, inbox.name, clock() - engine.live_window))
    if engine.sla is not None:
        draft_holding_replies(inbox, store, engine, clock(), threads)
    if engine.follow_up is not None:
        follow_up(inbox, store, engine.follow_up, clock(), threads)
    open_count, oldest = record_snapshot(store, inbox.name, clock(), threads)
    return PollResult(summary, tuple(plans), pending, corrections, open_count, oldest, counts)


def _slim(plan: MessagePlan) -> MessagePlan:
    """The plan as the poll's result keeps it: outcome, class and reason, without the draft's bytes."""
    record = replace(plan.record, model_text=None, draft_body=None, facts=None)
    return replace(plan, record=record, draft=None, decision=None)


def carry_out(
    inbox: Inbox, store: Store, plans: Sequence[MessagePlan], clock: Callable[[], datetime]
) -> None:
    """Act on a batch of plans: record, append drafts once, keyword, move."""
    with_drafts = [plan for plan in plans if plan.draft is not None]
    earlier = store.planned_drafts([plan.ref for plan in with_drafts])
    store.record_plans([plan.record for plan in plans], clock())
    already = inbox.drafts_present(list(earlier.values())) if earlier else set()
    inbox.save_drafts(
        [plan.draft.data for plan in with_drafts if plan.draft and plan.draft.message_id not in already]
    )
    by_keywords: dict[tuple[str, ...], list[int]] = defaultdict(list)
    by_folder: dict[str, list[int]] = defaultdict(list)
    for plan in plans:
        if plan.keywords:
            by_keywords[plan.keywords].append(plan.ref.uid)
        if plan.move_to:
            by_folder[plan.move_to].append(plan.ref.uid)
    for keywords, uids in by_keywords.items():
        inbox.add_keywords(uids, keywords)
    for folder, uids in by_folder.items():
        inbox.move(uids, folder)


def summarize(plans: Sequence[MessagePlan]) -> PollSummary:
    count = {outcome: 0 for outcome in Outcome}
    for plan in plans:
        count[plan.outcome] += 1
    return PollSummary(
        seen=len(plans),
        drafted=count[Outcome.DRAFTED],
        skipped=count[Outcome.SKIPPED],
        needs_review=count[Outcome.NEEDS_REVIEW],
        failed=count[Outcome.FAILED],
    )


def _history_first(raws: Sequence[RawMessage], engine: Engine) -> tuple[list[RawMessage], list[RawMessage]]:
    """(mail from before mailbox.only_since, the rest): the first is only recorded, then learned from."""
    if engine.only_since is None:
        return [], list(raws)
    since = engine.only_since
    return [r for r in raws if r.internaldate < since], [r for r in raws if r.internaldate >= since]
