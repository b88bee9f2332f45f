"""Reply drafts from Jinja2 templates, sandboxed. Pure: templates arrive as strings.

Customer text is only ever a template *variable*: it is never compiled, so `{{ }}`
or `{% %}` written by a customer prints as text. Header values are single-line by
construction (CR/LF folded to spaces) so nothing can be injected into a draft.
"""

from __future__ import annotations

import hashlib
import quopri
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from triage.domain import Action, Decision, Draft, ParsedMessage
from triage.metrics.business_hours import BusinessHours
from triage.replies.retrieval import Proposal

TEMPLATE_SUFFIX = ".txt.j2"
TEMPLATE_NAMES = ("complaint", "small_fix", "escalation", "needs_review", "holding")
FORBIDDEN_PHRASES = (
    "i can't help you",
    "i cannot help you",
    "i can not help you",
    "we can't help you",
    "we cannot help you",
    "unable to help you",
    "not able to help you",
    "there is nothing we can do",
    "there's nothing we can do",
    "that's not our problem",
    "you should have",
)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|to whom it may concern)\b[^\n]*$",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv)\s*:\s*)+", re.IGNORECASE)
MAX_RESTATED = 240
MAX_REFERENCES = 20


@dataclass(frozen=True)
class DraftSettings:
    team_name: str
    team_address: str
    signature: str
    working_hours: BusinessHours  # promises fall inside them, in their time zone
    reply_within_hours: Mapping[str, float]
    escalation_owner: str


class Drafter:
    """Renders drafts; build once (templates compile once), use for every message."""

    def __init__(self, templates: Mapping[str, str], settings: DraftSettings) -> None:
        missing = [name for name in TEMPLATE_NAMES if name not in templates]
        if missing:
            raise ValueError(f"missing templates: {', '.join(missing)}")
        self.settings = settings
        environment = ImmutableSandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        self.templates = {name: environment.from_string(source) for name, source in templates.items()}

    def render(
        self,
        message: ParsedMessage,
        decision: Decision,
        key: str,
        now: datetime,
        answer: Proposal | None = None,
    ) -> Draft:
        """The draft reply for `decision.template`; `key` makes its Message-ID stable. `answer`, for a
        small fix, is the team's answer to put in it (the draft's X-Triage header says where it came from)."""
        assert decision.action in (Action.DRAFT, Action.REVIEW) and decision.template
        body = self.templates[decision.template].render(**self.context(message, decision, now, answer))
        message_id = draft_message_id(key, self.settings.team_address)
        return build_reply(message, body, self.settings, message_id, now, answer.note() if answer else "")

    def reply_within(self, decision: Decision) -> float:
        """Hours until the customer hears back: the route's promise, else the class's."""
        return decision.reply_within_hours or self.settings.reply_within_hours.get(
            decision.template or "", 24.0
        )

    def reply_by(self, decision: Decision, now: datetime) -> datetime:
        """What the draft promises: the reply target, moved to fall within the team's working hours."""
        return self.settings.working_hours.promise(now, self.reply_within(decision))

    def context(
        self, message: ParsedMessage, decision: Decision, now: datetime, answer: Proposal | None = None
    ) -> dict[str, object]:
        s = self.settings
        hours = self.reply_within(decision)
        zone = s.working_hours.timezone
        reply_by = self.reply_by(decision, now).astimezone(ZoneInfo(zone))
        return {
            "first_name": message.sender.first_name,
            "subject": clean_subject(message.subject),
            "problem": restate(message.new_text),
            "answer": answer.text if answer else "",
            "fix_steps": list(answer.steps) if answer else [],
            "reply_by": f"{reply_by:%H:%M} ({zone}) on {reply_by:%A %-d %B}",
            "reply_within_hours": int(hours) if float(hours).is_integer() else hours,
            "owner": decision.owner.describe() if decision.owner else s.escalation_owner,
            "team_name": s.team_name,
            "signature": s.signature.strip() or s.team_name,
            "label": decision.label.value if decision.label else "needs_review",
        }


def restate(new_text: str) -> str:
    """The customer's problem in their own words: the opening sentences, greeting dropped."""
    lines = [line for line in new_text.splitlines() if line.strip()]
    while len(lines) > 1 and _GREETING.match(lines[0]) and len(lines[0]) < 60:
        lines = lines[1:]  # a greeting line with nothing after it is all they wrote: it stays
    text = " ".join(" ".join(lines).split())
    sentences = _SENTENCE.split(text)
    restated = ""
    for sentence in sentences:
        if restated and len(restated) + len(sentence) > MAX_RESTATED:
            break
        restated = f"{restated} {sentence}".strip()
    if len(restated) > MAX_RESTATED:
        restated = restated[:MAX_RESTATED].rsplit(" ", 1)[0] + " ..."
    return restated


def clean_subject(subject: str) -> str:
    return _REPLY_PREFIX.sub("", _single_line(subject)).strip()


def draft_message_id(key: str, team_address: str) -> str:
    """Stable per original message: the same message always gets the same draft id."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"<triage-{digest}@{team_address.rpartition('@')[2] or 'triage.invalid'}>"


def build_reply(
    message: ParsedMessage,
    body: str,
    settings: DraftSettings,
    message_id: str,
    now: datetime,
    note: str = "",
) -> Draft:
    """A real reply: Re: once, In-Reply-To, References, To = Reply-To or From.

    Written directly rather than with EmailMessage: its header registry costs ~1.5 ms
    a draft, more than parsing the original. Every value passes `_single_line`.
    """
    subject = f"Re: {clean_subject(message.subject) or 'your message'}"
    to_address = _single_line(message.reply_to or message.sender.address)
    to_name = "" if message.reply_to else _single_line(message.sender.name)
    references = [*message.references]
    if message.message_id and message.message_id not in references:
        references.append(message.message_id)
    headers = [
        ("From", _address(_single_line(settings.team_name), settings.team_address)),
        ("To", _address(to_name, to_address)),
        ("Subject", _encode(subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
    ]
    if message.message_id:
        headers.append(("In-Reply-To", _single_line(message.message_id)))
    if references:
        headers.append(("References", _fold(" ".join(_single_line(r) for r in references[-MAX_REFERENCES:]))))
    headers += [
        ("X-Triage", _fold(_single_line(f"draft; review before sending{'; ' + note if note else ''}"))),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    encoded_body = quopri.encodestring(body.replace("\r\n", "\n").encode("utf-8"))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("utf-8")
    data = head + b"\r\n" + encoded_body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return Draft(
        message_id=message_id,
        in_reply_to=message.message_id,
        to=to_address,
        subject=subject,
        body=body,
        data=data,
    )


def _address(name: str, address: str) -> str:
    """Name <address>; an internationalized address (RFC 6532) is kept as UTF-8, never a crash."""
    try:
        return formataddr((name, address), "utf-8")
    except UnicodeEncodeError:
        named = formataddr((name, "x@x.invalid"), "utf-8").rsplit(" <", 1)[0] if name else ""
        return f"{named} <{address}>" if named else address


def _encode(value: str) -> str:
    """RFC 2047 for non-ASCII (and for text that merely looks encoded), folded with CRLF."""
    value = _single_line(value)
    if value.isascii() and "=?" not in value:
        return _fold(value)
    return Header(value, "utf-8", maxlinelen=76, header_name="Subject").encode(linesep="\r\n")


def _fold(value: str, width: int = 76) -> str:
    lines, line = [], ""
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def _single_line(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())
