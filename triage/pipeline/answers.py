"""The team's answers, learned from its replies in Sent, and the index that proposes them for small fixes.

A reply teaches an answer when the question it answered is known: the customer's message
as triage read it (linked by In-Reply-To or References), else the customer's words the
reply quotes (the history already in Sent when triage starts). What is kept is the
reply's body, greeting and sign-off apart and every customer detail marked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from triage.mail.quoting import split_reply
from triage.replies.answer_text import Detail, mask, names_of, present, question_text, without_frame
from triage.replies.calibration import Threshold
from triage.replies.retrieval import FALLBACK, PRECISION, AnswerIndex, Fix, PastQuestion, Representation
from triage.state.answers import Asked, LearnedCopy, SentReply
from triage.state.store import Store

logger = logging.getLogger(__name__)

_FORWARD = re.compile(r"^\s*(fwd?|wg|tr)\s*:", re.IGNORECASE)


def learn_answers(store: Store, mailbox: str, now: datetime, history_days: float, settle: bool = True) -> int:
    """Learn from the team's replies not yet looked at, sent in the last `history_days`; how many taught.

    With `settle` false (before a poll's batches) a reply that has no question yet stays pending:
    its question may be in the backlog this poll is about to read; the call after the batches
    settles every reply."""
    pending = store.unlearned_replies(mailbox)
    if not pending:
        return 0
    since = now - timedelta(days=history_days)
    asked = store.questions_asked(
        mailbox, {mid for r in pending for mid in (*r.references, r.in_reply_to) if mid}
    )
    copies = [copy for r in pending if r.sent_at >= since and (copy := learned_copy(r, asked))]
    earlier = store.answer_copies(mailbox, {c.fingerprint for c in copies})
    bodies = {}
    for copy in copies:
        all_copies = [
            *earlier.get(copy.fingerprint, []),
            *((c.customer, c.details) for c in copies if c.fingerprint == copy.fingerprint),
        ]
        bodies[copy.fingerprint] = present(
            copy.shape, [(customer, [Detail(*d) for d in details]) for customer, details in all_copies]
        )
    looked_at = [r.id for r in pending] if settle else [c.reply_id for c in copies]
    store.record_answers(mailbox, copies, bodies, looked_at, now)
    if copies:
        logger.info("%s: learned from %d of the team's replies", mailbox, len(copies))
    return len(copies)


def learned_copy(reply: SentReply, asked: Mapping[str, Asked]) -> LearnedCopy | None:
    """What one reply teaches, or None: a forward, an empty reply, or no question to pair it with."""
    if _FORWARD.match(reply.subject):
        return None
    linked = [mid for mid in (reply.in_reply_to, *reversed(reply.references)) if mid and mid in asked]
    text = reply.body
    if linked and asked[linked[0]].draft:  # sent from triage's draft: its frame is not the answer
        text = without_frame(text, asked[linked[0]].draft, asked[linked[0]].answer)
    parts = split_reply(text)
    if not parts.body:
        return None
    names = (*names_of(reply.customer_name), *parts.greeted_names)
    if linked:
        question, question_id = question_text("", asked[linked[0]].text, names), linked[0]
    else:
        question = question_text(reply.subject, reply.quoted, names) if reply.quoted else ""
        question_id = reply.in_reply_to or reply.message_id or f"<reply-{reply.id}>"
    if not question:
        return None
    masked = mask(parts.body, names)
    return LearnedCopy(
        reply_id=reply.id,
        fingerprint=masked.fingerprint,
        shape=masked.shape,
        question_id=question_id,
        question=question,
        customer=reply.customer,
        greeting=parts.greeting,
        sign_off=parts.sign_off,
        details=tuple((d.kind, d.value) for d in masked.details),
        sent_at=reply.sent_at,
    )


@dataclass
class AnswerBook:
    """The curated fixes and the learned answers of a mailbox as one index, rebuilt when the bank grew.

    `representation` makes a fresh text representation for each build (the composition layer
    passes the classifier's word vectors); `precision` is what the threshold is chosen for and
    `fallback` the threshold while the bank is too small to choose one."""

    representation: Callable[[], Representation]
    fixes: Sequence[Fix] = ()
    precision: float = PRECISION
    fallback: Threshold = FALLBACK
    history_days: float = 180.0
    _built: dict[str, tuple[int, AnswerIndex]] = field(default_factory=dict, repr=False)

    def index(self, store: Store | None, mailbox: str) -> AnswerIndex:
        """The index for a mailbox (curated fixes only without a store)."""
        size = store.bank_size(mailbox) if store is not None else -1
        built = self._built.get(mailbox)
        if built is None or built[0] != size:
            questions, bodies = store.past_questions(mailbox) if store is not None else ([], {})
            index = AnswerIndex(
                [PastQuestion(*q) for q in questions],
                bodies,
                self.representation(),
                self.fixes,
                self.precision,
                self.fallback,
            )
            logger.info(
                "%s: %d learned answers from %d questions; proposing at %s",
                mailbox,
                len(index.answer_ids),
                len(index),
                index.threshold.describe(),
            )
            self._built[mailbox] = built = (size, index)
        return built[1]
