"""The team's answer with one customer's details taken out, so it can serve the next customer. Pure.

Names, company names, order numbers, amounts, dates, email addresses and phone numbers become marked
places for the reviewer, in the templates' own style ("[reviewer: the order number]").
Copies of the same answer sent to different customers have the same *shape* (the text
with its marks); a detail every copy states alike ("free over £60") is the team's, not
a customer's, and is given back; one that differs between copies, or is known from one
copy only, stays marked. A customer's name always stays marked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from triage.judgement.classifier import model_text

MARKS = {
    "name": "[reviewer: the customer's name]",
    "email": "[reviewer: their email address]",
    "amount": "[reviewer: the amount]",
    "date": "[reviewer: the date]",
    "number": "[reviewer: the order or reference number]",
    "phone": "[reviewer: their phone number]",
    "company": "[reviewer: the company name]",
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t|tember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# one pattern, first alternative wins: an email before its digits, an amount before a bare number
_DETAIL = re.compile(
    r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<amount>[£$€]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{2})?\s?(?:EUR|USD|GBP|euros?)\b)"
    rf"|(?P<date>\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}\b(?:,?\s+\d{{4}})?"
    rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b)"
    r"|(?P<phone>(?<![\w+])\+?\(?\d[\d ()-]{6,}\d(?![\w.]))"
    r"|(?P<company>(?-i:\b[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,3} (?:& Co|& Sons|Ltd|Limited|LLP|PLC|Inc|GmbH)\b))"
    r"|(?P<number>\b(?=[A-Z0-9-]*\d)[A-Z]{1,5}-?\d{3,}[A-Z0-9-]*\b|#\d{3,}\b|\b\d{5,}\b)",
    re.IGNORECASE,
)
_MARK = re.compile("|".join(re.escape(mark) for mark in MARKS.values()))


@dataclass(frozen=True)
class Detail:
    kind: str  # a key of MARKS
    value: str


@dataclass(frozen=True)
class Masked:
    """An answer as one copy said it: the text with marks, and what stood at each mark."""

    shape: str
    details: tuple[Detail, ...]

    @property
    def fingerprint(self) -> str:
        """Equal for copies of the same answer, whoever they were sent to."""
        return hashlib.sha256(" ".join(self.shape.lower().split()).encode()).hexdigest()[:32]


def mask(text: str, names: Iterable[str] = ()) -> Masked:
    """Every customer detail in `text` replaced by its mark; `names` are the customer's names."""
    words = sorted({n for n in names if len(n) > 1 and n[:1].isalpha()}, key=len, reverse=True)
    name_pattern = rf"|(?P<name>\b(?:{'|'.join(map(re.escape, words))})\b)" if words else ""
    pattern = re.compile(_DETAIL.pattern + name_pattern, re.IGNORECASE)
    details: list[Detail] = []

    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup or "number"
        value = match.group(0)
        if kind == "phone" and not 7 <= sum(c.isdigit() for c in value) <= 15:
            return value
        details.append(Detail(kind, value))
        return MARKS[kind]

    return Masked(pattern.sub(replace, text), tuple(details))


def present(shape: str, copies: Sequence[tuple[str, Sequence[Detail]]]) -> str:
    """The answer as a draft shows it, from its copies as (customer, details): a detail that
    every copy to two or more customers states alike is given back, every other one stays marked."""
    customers = {customer for customer, _ in copies}
    marks, parts = _MARK.findall(shape), _MARK.split(shape)
    out = [parts[0]]
    for index, (mark, tail) in enumerate(zip(marks, parts[1:])):
        said = {details[index] for _, details in copies if index < len(details)}
        only = next(iter(said)) if len(said) == 1 else None
        out += [only.value if only and only.kind != "name" and len(customers) >= 2 else mark, tail]
    return "".join(out)


def without_frame(body: str, draft: str, answer: str = "") -> str:
    """What the team wrote themselves in a reply sent from triage's draft: the draft's lines that
    were not the answer it carried (the template's greeting, promise, feedback question and marked
    places) are dropped, so the bank learns the answer, never the frame around it."""
    own = {" ".join(line.split()) for line in answer.splitlines()}
    frame = {" ".join(line.split()) for line in draft.splitlines()} - own - {""}
    kept = [line for line in body.splitlines() if " ".join(line.split()) not in frame]
    return "\n".join(kept).strip()


def question_text(subject: str, new_text: str, names: Iterable[str] = ()) -> str:
    """What a question is compared by: subject and new text, the customer's details left out."""
    left_out = {name.lower() for name in names}
    words = _DETAIL.sub(" ", model_text(subject, new_text)).split()
    return " ".join(w for w in words if w.strip(",.!?:;\"'()").lower() not in left_out)


def names_of(display_name: str) -> tuple[str, ...]:
    """ "Doe, Jane" or "Jane Doe" -> ("Jane", "Doe"): the words of a display name."""
    return tuple(w for w in re.split(r"[\s,\"']+", display_name) if w and "@" not in w)
