"""Decide a batch: parse, screen, classify (one model call), decide and draft; nothing is written."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from triage.domain import (
    Action,
    Classification,
    Draft,
    Label,
    MessageRef,
    Outcome,
    Owner,
    ParsedMessage,
    RawMessage,
)
from triage.errors import MalformedMessage
from triage.judgement.classifier import model_text
from triage.judgement.decisions import decide, is_machine
from triage.mail import parsing
from triage.pipeline.engine import KEYWORD_PREFIX, Engine, MessagePlan
from triage.replies.facts import gather_facts
from triage.replies.retrieval import Proposal
from triage.state.messages import PlannedRecord
from triage.state.store import Store

logger = logging.getLogger(__name__)


PARALLEL_MIN = 64  # below this a batch is parsed in-process: workers cost more than they save


PARALLEL_CHUNK = 16


def plan_batch(raws: Sequence[RawMessage], engine: Engine, store: Store, now: datetime) -> list[MessagePlan]:
    """Parse, screen, classify (one model call per batch), decide and draft."""
    parsed: dict[MessageRef, ParsedMessage] = {}
    failures: dict[MessageRef, str] = {}
    old = {raw.ref for raw in raws if engine.only_since is not None and raw.internaldate < engine.only_since}
    # mail before only_since is not drafted, but what it asked is kept: the team's replies to it
    # in Sent teach the answer bank even when they do not quote it
    learnable = now - timedelta(days=engine.answers.history_days)
    small = [
        raw
        for raw in raws
        if raw.size <= engine.max_message_bytes and (raw.ref not in old or raw.internaldate >= learnable)
    ]
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
    to_classify = [
        ref for ref, message in parsed.items() if ref not in old and not is_machine(message, engine.policy)
    ]
    predictions = dict(
        zip(
            to_classify,
            engine.classifier.classify(
                [model_text(parsed[ref].subject, parsed[ref].new_text) for ref in to_classify]
            ),
        )
    )
    fixing = [ref for ref in to_classify if predictions[ref].label is Label.SMALL_FIX]
    answers: dict[MessageRef, Proposal | None] = {}
    if fixing:
        index = engine.answers.index(store, raws[0].ref.mailbox)
        answers = dict(zip(fixing, index.propose([parsed[ref] for ref in fixing])))
    plans: list[MessagePlan] = []
    seen_keys: dict[str, MessageRef] = {}
    for raw in raws:
        ref = raw.ref
        if ref in old:
            assert engine.only_since is not None
            reason = (
                f"arrived {raw.internaldate:%Y-%m-%d}, before mailbox.only_since {engine.only_since:%Y-%m-%d}"
            )
            question = parsed.get(ref)
            if question is not None and is_machine(question, engine.policy):
                question = None
            record = _record(ref, question, None, Outcome.SKIPPED, reason, asked=question is not None)
            plans.append(MessagePlan(ref, Outcome.SKIPPED, reason, record))
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
        plans.append(_plan(ref, message, key, predictions.get(ref), engine, now, answers.get(ref)))
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
    answer: Proposal | None = None,
) -> MessagePlan:
    decision = decide(message, predicted, engine.policy)
    if decision.template not in (Label.SMALL_FIX.value, "needs_review"):
        answer = None
    draft = engine.drafter.render(message, decision, key, now, answer) if decision.template else None
    facts = None
    if (
        engine.follow_up is not None
        and decision.action is Action.DRAFT
        and decision.label is Label.ESCALATION
    ):
        facts = gather_facts(message, decision, engine.drafter.reply_by(decision, now)).to_json()
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
            answer,
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
    answer: Proposal | None = None,
    asked: bool = False,
) -> PlannedRecord:
    """The row to write; `asked` keeps the text of a message not classified (mail before only_since)."""
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
        model_text=model_text(message.subject, message.new_text)
        if message and (classification or asked)
        else None,
        draft_body=draft.body if draft else None,
        owner=owner.name if owner else None,
        owner_address=owner.address if owner else None,
        facts=facts,
        answer_kind=(f"{answer.kind} answer" if answer else "placeholders")
        if template == Label.SMALL_FIX.value and draft
        else None,
        answer_id=answer.answer_id if answer else None,
        answer_note=answer.note() if answer else None,
    )


def _failed(ref: MessageRef, reason: str, raw: RawMessage) -> MessagePlan:
    key = "sha256:" + hashlib.sha256(raw.data).hexdigest() if raw.data else None
    return MessagePlan(ref, Outcome.FAILED, reason, _record(ref, None, key, Outcome.FAILED, reason))


def _duplicate(ref: MessageRef, message: ParsedMessage, key: str, earlier: MessageRef) -> MessagePlan:
    reason = f"duplicate: already handled as UID {earlier.uid} (UIDVALIDITY {earlier.uidvalidity})"
    return MessagePlan(ref, Outcome.SKIPPED, reason, _record(ref, message, key, Outcome.SKIPPED, reason))


def message_key(message: ParsedMessage, data: bytes) -> str:
    """Identity across UIDVALIDITY changes and copies: Message-ID, else a content hash."""
    return message.message_id or "sha256:" + hashlib.sha256(data).hexdigest()


def thread_id(message: ParsedMessage) -> str | None:
    """The conversation's root: first Reference, else In-Reply-To, else itself."""
    if message.references:
        return message.references[0]
    return message.in_reply_to or message.message_id
