"""Reply drafts from Jinja2 templates, sandboxed. Pure: templates arrive as strings.

Customer text is only ever a template *variable*: it is never compiled, so `{{ }}`
or `{% %}` written by a customer prints as text. Header values are single-line by
construction (CR/LF folded to spaces) so nothing can be injected into a draft.
"""

from __future__ import annotations

import hashlib
import quopri
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from triage.domain import Action, Decision, Draft, Label, ParsedMessage
from triage.metrics.business_hours import BusinessHours
from triage.replies.facts import find_numbers, find_phones
from triage.replies.restating import clean_subject, in_our_words, restate, signed_name, topic
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
MAX_REFERENCES = 20
MAX_NAMED_NUMBERS = 2  # "with the details you sent (order HH-450877)": no more than two
_ABOUT_AN_ORDER = re.compile(r"\b(?:order(?:ed)?|deliver\w*|parcel|item|purchase|bought)\b", re.IGNORECASE)
_ABOUT_A_PAYMENT = re.compile(
    r"\b(?:payment|paid|charged?|transaction|transfer|debit|refund)\b", re.IGNORECASE
)
_AMOUNT = re.compile(r"[£$€]\s?\d|\b\d+[.,]\d\d\b|\b\d+ ?(?:eur|usd|gbp|pounds|euros|dollars)\b", re.I)
_ASKS = re.compile(
    r"\?|\b(?:please|can you|could you|let me know|i want|i need|i would like|i'd like|grateful|wondering)\b",
    re.IGNORECASE,
)


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
        """What a template may use; customer text only ever arrives here as values."""
        s = self.settings
        hours = self.reply_within(decision)
        zone = s.working_hours.timezone
        reply_by = self.reply_by(decision, now).astimezone(ZoneInfo(zone))
        restated = restate(message.new_text, message.sender.name)
        ours = in_our_words(restated)
        numbers = find_numbers(f"{message.subject}\n{message.new_text}")
        phones = find_phones(message.new_text)
        escalation = decision.label is Label.ESCALATION
        return {
            "first_name": signed_name(message.new_text, message.sender.name) or message.sender.first_name,
            "subject": clean_subject(message.subject),
            "topic": topic(message.subject, message.new_text, message.sender.name),
            "problem": ours or restated,  # in our words when a rule can say it so, else theirs
            "problem_quoted": ours is None,
            "first_steps": list(decision.first_steps),
            "phone": phones[0] if phones else "",
            "references": " and ".join(numbers[:MAX_NAMED_NUMBERS]),
            "question": clarifying_question(message, numbers),
            "apology": decision.label in (Label.COMPLAINT, Label.ESCALATION) or bool(decision.first_steps),
            # an escalation guessed is never answered with a how-to, even when a known answer matches
            "answer": answer.text if answer and not escalation else "",
            "fix_steps": list(answer.steps) if answer and not escalation else [],
            "reply_by": f"{reply_by:%H:%M} ({zone}) on {reply_by:%A %-d %B}",
            "reply_within_hours": int(hours) if float(hours).is_integer() else hours,
            "owner": decision.owner.describe() if decision.owner else s.escalation_owner,
            "team_name": s.team_name,
            "signature": s.signature.strip() or s.team_name,
            "label": decision.label.value if decision.label else "needs_review",
        }


def clarifying_question(message: ParsedMessage, numbers: Sequence[str]) -> str:
    """The one question a reviewer would ask before answering, or "" when nothing is missing.

    Never one the message already answers: an order number or an amount it gives is not asked for.
    """
    text = f"{message.subject}\n{message.new_text}"
    if _ABOUT_AN_ORDER.search(text) and not any(n.startswith(("order", "#")) for n in numbers):
        return "Could you send me the order number, so that I can find it straight away?"
    if _ABOUT_A_PAYMENT.search(text) and not _AMOUNT.search(text):
        return "Could you tell me the date and the amount of the payment, as your statement shows them?"
    if not _ASKS.search(text):
        return "So that I get this right first time: what would you like us to do about it?"
    return ""


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
