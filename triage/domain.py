"""The vocabulary every layer shares: frozen values that cross module boundaries."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime


class Label(enum.StrEnum):
    """The three classes a support message falls into."""

    COMPLAINT = "complaint"
    SMALL_FIX = "small_fix"
    ESCALATION = "escalation"


LABELS: tuple[str, ...] = tuple(label.value for label in Label)


class Outcome(enum.StrEnum):
    """What happened to one message; stored per message."""

    DRAFTED = "drafted"  # a class-specific draft waits in Drafts
    NEEDS_REVIEW = "needs_review"  # the model was not sure: neutral draft or none
    SKIPPED = "skipped"  # machine mail, duplicate, or draft not wanted; reason says which
    FAILED = "failed"  # malformed or over the size limit; reason says why


@dataclass(frozen=True)
class MessageRef:
    """Where a message lives: unique per mailbox, folder and UIDVALIDITY epoch."""

    mailbox: str
    folder: str
    uidvalidity: int
    uid: int


@dataclass(frozen=True)
class Cursor:
    """How far a folder has been read: the last UID handled in a UIDVALIDITY epoch."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class RawMessage:
    """A message as the inbox hands it over, before any parsing."""

    ref: MessageRef
    data: bytes
    internaldate: datetime
    size: int


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    @property
    def first_name(self) -> str:
        """The first word of the display name when it looks like a given name."""
        name = re.sub(r"\s*\(@\w+\)", "", self.name).strip().strip("\"'")  # "Jess (@jessontour)"
        if not name or "@" in name:
            return ""
        if "," in name:  # "Doe, Jane"
            name = name.split(",", 1)[1].strip()
        first = name.split()[0] if name.split() else ""
        return first if first[:1].isalpha() else ""


@dataclass(frozen=True)
class ParsedMessage:
    """One support message reduced to what triage needs. Built by `parsing.parse`."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: Address
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime
    date_from_header: bool
    subject: str
    text: str
    new_text: str
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    content_type: str = "text/plain"

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive, or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


@dataclass(frozen=True)
class Owner:
    """Who owns a problem until it is solved: named in the customer's draft, sent the brief."""

    name: str
    address: str = ""
    role: str = ""

    def describe(self) -> str:
        """How the customer's draft names them: "Priya Shah, our payments lead"."""
        return f"{self.name}, our {self.role}" if self.role else self.name


@dataclass(frozen=True)
class Classification:
    """What the model (or a rule) said about a message."""

    label: Label
    probability: float
    model_version: str
    reasons: tuple[str, ...] = ()
    by_rule: str | None = None
    escalation_probability: float = 0.0  # kept apart: an escalation floor may act on it


class Action(enum.StrEnum):
    SKIP = "skip"
    DRAFT = "draft"
    REVIEW = "review"  # needs_review: neutral draft or none


@dataclass(frozen=True)
class Decision:
    """The plan for one message, made before anything is written."""

    action: Action
    reason: str
    classification: Classification | None = None
    template: str | None = None  # template name when a draft is planned
    owner: Owner | None = None  # for complaints and escalations: who owns it until it is solved
    reply_within_hours: float | None = None  # the route's promise for an escalation, else the class's
    first_steps: tuple[str, ...] = ()  # what the customer must do at once, whatever the class

    @property
    def label(self) -> Label | None:
        return self.classification.label if self.classification else None


@dataclass(frozen=True)
class Draft:
    """A reply ready to be saved to Drafts; `data` is the full RFC 5322 message."""

    message_id: str
    in_reply_to: str | None
    to: str
    subject: str
    body: str
    data: bytes


@dataclass(frozen=True)
class PollSummary:
    seen: int = 0
    drafted: int = 0
    skipped: int = 0
    needs_review: int = 0
    failed: int = 0

    def __add__(self, other: PollSummary) -> PollSummary:
        return PollSummary(
            self.seen + other.seen,
            self.drafted + other.drafted,
            self.skipped + other.skipped,
            self.needs_review + other.needs_review,
            self.failed + other.failed,
        )
