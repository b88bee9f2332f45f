"""What a poll works with and what it returns: the engine built from config, plans, results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from triage.domain import (
    Decision,
    Draft,
    MessageRef,
    Outcome,
    Owner,
    PollSummary,
)
from triage.judgement.classifier import Classifier
from triage.judgement.decisions import Policy
from triage.pipeline.answers import AnswerBook
from triage.replies.briefs import FollowUpPolicy
from triage.replies.drafting import Drafter
from triage.state.messages import PlannedRecord

KEYWORD_PREFIX = "triage_"


@dataclass(frozen=True)
class Engine:
    """Everything needed to decide and draft, built once from config."""

    classifier: Classifier
    drafter: Drafter
    policy: Policy
    max_message_bytes: int
    keywords: bool
    class_folders: dict[str, str] | None  # label -> folder, when moving is on
    answers: AnswerBook  # the team's answers for small fixes
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
