"""One poll of one folder: the order of the steps. Adapters arrive as arguments.

Exactly once: every message is recorded as received before any work; its decision
and draft Message-ID (stable per message) are committed before the APPEND; it is
marked done, with the cursor, only after the mailbox accepted the draft and the
keywords. A crash between APPEND and the last commit leaves it `planned`: the next
poll finds its draft already in Drafts by Message-ID and does not append it again.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from imapclient.exceptions import IMAPClientError

from triage import parsing
from triage.briefs import (
    Case,
    Facts,
    FollowUpPolicy,
    Notice,
    TimelineEntry,
    compose_brief,
    due_reminder,
    gather_facts,
)
from triage.classifier import Classifier, model_text
from triage.decisions import Policy, decide, is_machine
from triage.domain import (
    LABELS,
    Action,
    Classification,
    Cursor,
    Decision,
    Draft,
    Label,
    MessageRef,
    Outcome,
    Owner,
    ParsedMessage,
    PollSummary,
    RawMessage,
)
from triage.drafting import Drafter
from triage.errors import MailboxError, MalformedMessage
from triage.metrics import Conversation, MailEvent, conversations, sla_state
from triage.ports import Inbox
from triage.store import Correction, PlannedRecord, Reply, Store

logger = logging.getLogger(__name__)

KEYWORD_PREFIX = "triage_"
PARALLEL_MIN = 64  # below this a batch is parsed in-process: workers cost more than they save
PARALLEL_CHUNK = 16
NOTICE_BATCH = 200  # notices per APPEND


@dataclass(frozen=True)
class Engine:
    """Everything needed to decide and draft, built once from config."""

    classifier: Classifier
    drafter: Drafter
    policy: Policy
    max_message_bytes: int
    keywords: bool
    class_folders: dict[str, str] | None  # label -> folder, when moving is on
    executor: Executor | None = None  # parses big batches on several cores
    correction_window: timedelta | None = None  # watch keywords this far back; None: off
    correction_folders: dict[str, str] | None = None  # label -> folder a reviewer may file into
    # (target hours per class, at-risk share): holding drafts for conversations at risk
    sla: tuple[dict[str, float], float] | None = None
    notify_team: Callable[[str, str], None] | None = None  # (subject, text) to the team, e.g. by SMTP
    follow_up: FollowUp | None = None  # escalation briefs and reminders; None: off
    only_since: datetime | None = None  # mail that arrived earlier is recorded as skipped, not drafted
    live_window: timedelta = timedelta(days=90)  # per-poll bookkeeping looks at this much history


@dataclass(frozen=True)
class FollowUp:
    """How owners hear about their problems: briefs for escalations, reminders until solved."""

    policy: FollowUpPolicy
    team: Owner  # the sender, and the recipient when an owner has no address
    zone: str
    send_email: Callable[[EmailMessage], None] | None  # None: notices are saved to Drafts for review


@dataclass(frozen=True)
class MessagePlan:
    """What will happen to one message, decided before anything is written."""

    ref: MessageRef
    outcome: Outcome
    reason: str
    record: PlannedRecord
    draft: Draft | None = None
    keywords: tuple[str, ...] = ()
    move_to: str | None = None
    decision: Decision | None = None


@dataclass(frozen=True)
class PollResult:
    summary: PollSummary
    plans: tuple[MessagePlan, ...]
    pending: int  # left planned for the next poll (the mailbox refused a write)
    corrections: int = 0  # keyword changes by reviewers noticed in this poll
    open_count: int = 0  # conversations waiting for the team after this poll
    oldest_open_hours: float | None = None
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (outcome, label) -> messages


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
        batch_plans = plan_batch(raws, engine, store, clock())
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
        store.record_done(
            [plan.ref for plan in batch_plans],
            clock(),
            (inbox.name, inbox.folder, Cursor(uidvalidity, max(batch))),
        )
        if progress is not None:
            progress(len(batch), len(todo))
    if not todo and not dry_run:
        last = max(uids, default=above)
        store.record_done([], clock(), (inbox.name, inbox.folder, Cursor(uidvalidity, last)))
    if dry_run:
        return PollResult(summary, tuple(plans), pending, corrections, counts=counts)
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


def plan_batch(raws: Sequence[RawMessage], engine: Engine, store: Store, now: datetime) -> list[MessagePlan]:
    """Parse, screen, classify (one model call per batch), decide and draft."""
    parsed: dict[MessageRef, ParsedMessage] = {}
    failures: dict[MessageRef, str] = {}
    old = {raw.ref for raw in raws if engine.only_since is not None and raw.internaldate < engine.only_since}
    small = [raw for raw in raws if raw.size <= engine.max_message_bytes and raw.ref not in old]
    for raw in raws:
        if raw.size > engine.max_message_bytes and raw.ref not in old:
            failures[raw.ref] = f"too large: {raw.size} bytes > limit {engine.max_message_bytes}"
    datas, dates = [raw.data for raw in small], [raw.internaldate for raw in small]
    if engine.executor is not None and len(small) >= PARALLEL_MIN:
        results = list(engine.executor.map(parse_one, datas, dates, chunksize=PARALLEL_CHUNK))
    else:
        results = list(map(parse_one, datas, dates))
    for raw, result in zip(small, results):
        if isinstance(result, str):
            failures[raw.ref] = result
        else:
            parsed[raw.ref] = result
    keys = {raw.ref: message_key(parsed[raw.ref], raw.data) for raw in raws if raw.ref in parsed}
    handled = store.handled_keys(raws[0].ref.mailbox, keys.values()) if raws else {}
    to_classify = [ref for ref, message in parsed.items() if not is_machine(message, engine.policy)]
    predictions = dict(
        zip(
            to_classify,
            engine.classifier.classify(
                [model_text(parsed[ref].subject, parsed[ref].new_text) for ref in to_classify]
            ),
        )
    )
    plans: list[MessagePlan] = []
    seen_keys: dict[str, MessageRef] = {}
    for raw in raws:
        ref = raw.ref
        if ref in old:
            assert engine.only_since is not None
            reason = (
                f"arrived {raw.internaldate:%Y-%m-%d}, before mailbox.only_since {engine.only_since:%Y-%m-%d}"
            )
            plans.append(
                MessagePlan(ref, Outcome.SKIPPED, reason, _record(ref, None, None, Outcome.SKIPPED, reason))
            )
            continue
        if ref in failures:
            plans.append(_failed(ref, failures[ref], raw))
            continue
        message, key = parsed[ref], keys[ref]
        earlier = handled.get(key) or seen_keys.get(key)
        seen_keys.setdefault(key, ref)
        if earlier is not None and earlier != ref:
            plans.append(_duplicate(ref, message, key, earlier))
            continue
        plans.append(_plan(ref, message, key, predictions.get(ref), engine, now))
    return plans


def parse_one(data: bytes, internaldate: datetime) -> ParsedMessage | str:
    """The parsed message, or why it could not be parsed; never raises (runs in workers)."""
    try:
        return parsing.parse(data, internaldate)
    except MalformedMessage as exc:
        return f"malformed: {exc.reason}"
    except Exception as exc:  # one bad message never stops the loop
        logger.exception("parsing failed unexpectedly")
        return f"malformed: unexpected {type(exc).__name__}: {exc}"


def _plan(
    ref: MessageRef,
    message: ParsedMessage,
    key: str,
    predicted: Classification | None,
    engine: Engine,
    now: datetime,
) -> MessagePlan:
    decision = decide(message, predicted, engine.policy)
    draft = engine.drafter.render(message, decision, key, now) if decision.template else None
    facts = None
    if (
        engine.follow_up is not None
        and decision.action is Action.DRAFT
        and decision.label is Label.ESCALATION
    ):
        reply_by = now + timedelta(hours=engine.drafter.reply_within(decision))
        facts = gather_facts(message, decision, reply_by).to_json()
    label = decision.label.value if decision.label else None
    keywords: tuple[str, ...] = ()
    if decision.action is Action.SKIP:
        outcome = Outcome.SKIPPED
    elif decision.action is Action.REVIEW:
        outcome = Outcome.NEEDS_REVIEW
        keywords = ("triage_needs_review", *(("triage_drafted",) if draft else ()))
    else:
        outcome, keywords = Outcome.DRAFTED, (f"{KEYWORD_PREFIX}{label}", "triage_drafted")
    move_to = None
    if engine.class_folders and decision.action is Action.DRAFT and label:
        move_to = engine.class_folders.get(label)
    classification = decision.classification
    return MessagePlan(
        ref=ref,
        outcome=outcome,
        reason=decision.reason,
        record=_record(
            ref,
            message,
            key,
            outcome,
            decision.reason,
            classification,
            decision.template,
            draft,
            decision.owner,
            facts,
        ),
        draft=draft,
        keywords=keywords if engine.keywords else (),
        move_to=move_to,
        decision=decision,
    )


def _record(
    ref: MessageRef,
    message: ParsedMessage | None,
    key: str | None,
    outcome: Outcome,
    reason: str,
    classification: Classification | None = None,
    template: str | None = None,
    draft: Draft | None = None,
    owner: Owner | None = None,
    facts: str | None = None,
) -> PlannedRecord:
    return PlannedRecord(
        ref=ref,
        message_key=key,
        message_id=message.message_id if message else None,
        thread_id=thread_id(message) if message else None,
        sender=message.sender.address if message else "",
        subject=message.subject if message else "",
        received_at=message.date if message else None,
        label=classification.label.value if classification else None,
        confidence=classification.probability if classification else None,
        model_version=classification.model_version if classification else None,
        rule=classification.by_rule if classification else None,
        outcome=outcome.value,
        reason=reason,
        template=template,
        draft_message_id=draft.message_id if draft else None,
        model_text=model_text(message.subject, message.new_text) if classification and message else None,
        draft_body=draft.body if draft else None,
        owner=owner.name if owner else None,
        owner_address=owner.address if owner else None,
        facts=facts,
    )


def _failed(ref: MessageRef, reason: str, raw: RawMessage) -> MessagePlan:
    key = "sha256:" + hashlib.sha256(raw.data).hexdigest() if raw.data else None
    return MessagePlan(ref, Outcome.FAILED, reason, _record(ref, None, key, Outcome.FAILED, reason))


def _duplicate(ref: MessageRef, message: ParsedMessage, key: str, earlier: MessageRef) -> MessagePlan:
    reason = f"duplicate: already handled as UID {earlier.uid} (UIDVALIDITY {earlier.uidvalidity})"
    return MessagePlan(ref, Outcome.SKIPPED, reason, _record(ref, message, key, Outcome.SKIPPED, reason))


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
                    f'{thread.customer} has waited {waited:.1f} h for an answer to "{thread.subject}"'
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
            )
        )
    last = max(
        (raw.ref.uid for raw in raws), default=above if cursor and cursor.uidvalidity == uidvalidity else 0
    )
    store.record_replies(replies, (inbox.name, inbox.sent_folder, Cursor(uidvalidity, last)))
    return len(replies)


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


def message_key(message: ParsedMessage, data: bytes) -> str:
    """Identity across UIDVALIDITY changes and copies: Message-ID, else a content hash."""
    return message.message_id or "sha256:" + hashlib.sha256(data).hexdigest()


def thread_id(message: ParsedMessage) -> str | None:
    """The conversation's root: first Reference, else In-Reply-To, else itself."""
    if message.references:
        return message.references[0]
    return message.in_reply_to or message.message_id
