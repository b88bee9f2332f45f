"""The facts of a problem, gathered from the message when it arrives: who, how to reach them, what. Pure.

They are gathered once, when the message is decided (the parsed message is at hand then),
and stored; the brief is composed when it is delivered.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from triage.domain import Decision, ParsedMessage

MAX_TEXT = 2000  # the brief quotes the customer's new text up to this many characters


# +44 20 7946 0958, (555) 123-4567, 555.123.4567, +1-555-123-4567: 7 to 15 digits
_PHONE = re.compile(r"(?<![\w+])(\+?\(?\d[\d ()./-]{5,}\d)(?!\w)")


# "order #A-1234", "account no. 99812", "invoice: INV-2231", "ticket 5531": a word, then an id with a digit
_NUMBER = re.compile(
    r"\b(order|account|invoice|ticket|case|reference|ref|booking|customer|subscription|contract|po|"
    r"tracking|serial|membership|policy)\b(?:\s+(?:no\.?|number|num|id))?\s*[:#]?\s*"
    r"((?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{2,})",
    re.IGNORECASE,
)


_HASH_NUMBER = re.compile(r"(?<![\w&])#(\d{3,})\b")


@dataclass(frozen=True)
class Facts:
    """What the owner of an escalation needs, gathered from the message when it arrived."""

    message_id: str
    received_at: datetime
    customer_name: str
    customer_address: str
    reply_to: str | None
    phones: tuple[str, ...]
    numbers: tuple[str, ...]  # order, account, invoice ... references found in the text
    subject: str
    text: str  # the customer's new text, quoted history removed
    why: str  # the rule or the model and its confidence
    reply_by: datetime | None = None  # what the customer's draft promises
    attachments: tuple[str, ...] = ()

    def to_json(self) -> str:
        values = asdict(self)
        values["received_at"] = self.received_at.isoformat()
        values["reply_by"] = self.reply_by.isoformat() if self.reply_by else None
        return json.dumps(values, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Facts:
        values = json.loads(text)
        values["received_at"] = datetime.fromisoformat(values["received_at"])
        values["reply_by"] = datetime.fromisoformat(values["reply_by"]) if values.get("reply_by") else None
        for key in ("phones", "numbers", "attachments"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


def gather_facts(message: ParsedMessage, decision: Decision, reply_by: datetime | None) -> Facts:
    """The facts customer-service practice asks for: when, who and how to reach them, what, why."""
    text = message.new_text.strip()
    return Facts(
        message_id=message.message_id or "",
        received_at=message.date,
        customer_name=message.sender.name.strip(),
        customer_address=message.sender.address,
        reply_to=message.reply_to if message.reply_to != message.sender.address else None,
        phones=find_phones(text),
        numbers=find_numbers(f"{message.subject}\n{text}"),
        subject=message.subject,
        text=text[:MAX_TEXT] + (" [...]" if len(text) > MAX_TEXT else ""),
        why=decision.reason,
        reply_by=reply_by,
        attachments=tuple(a.filename or a.content_type for a in message.attachments),
    )


def find_phones(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for match in _PHONE.finditer(text):
        candidate = " ".join(match.group(1).split())
        if candidate.startswith("(") and ")" not in candidate:
            candidate = candidate[1:]  # "(31847260 instead of ...)": the bracket is the sentence's
        digits = re.sub(r"\D", "", candidate)
        # a bare run of digits is an account or order number unless it is dialled like a phone number
        bare = candidate.isdigit() and not candidate.startswith("0") and len(digits) < 10
        if (
            7 <= len(digits) <= 15
            and not bare
            and not _looks_like_a_date(candidate)
            and candidate not in found
        ):
            found.append(candidate)
    return tuple(found)


def find_numbers(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for match in _NUMBER.finditer(text):
        entry = f"{match.group(1).lower()} {match.group(2)}"
        if entry not in found:
            found.append(entry)
    for match in _HASH_NUMBER.finditer(text):
        if not any(match.group(1) in entry for entry in found):
            found.append(f"#{match.group(1)}")
    return tuple(found)


def _looks_like_a_date(candidate: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}", candidate))
