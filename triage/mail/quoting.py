"""A team reply taken apart: its greeting, body and sign-off, and the customer's words it quotes. Pure.

mail-parser-reply finds where the quoted history starts ("On ... wrote:", Outlook's
From:/Sent: block, "----- Original Message -----"); the first quoted part is the
message the reply answers. Greeting and sign-off are found here, on whole lines only,
so a body line that starts with "Thanks," is never taken for a signature.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import logging
import re
from dataclasses import dataclass

from mailparser_reply.parser import EmailMessage

from triage.domain import ParsedMessage
from triage.mail.parsing import REPLY_LANGUAGES, new_text

logger = logging.getLogger(__name__)

_QUOTE_MARK = re.compile(r"^(?:> ?)+", re.MULTILINE)
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings)\b"
    r"(?P<names>[^,!:\n]{0,40})[,!:]?[ \t]*(?:\n|$)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:kind|best|warm|warmest|many|with)?\s*(?:regards|wishes|thanks)|thank you|cheers|sincerely"
    r"|all the best|best|take care|speak soon|yours(?: sincerely| truly| faithfully)?)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
# "Thanks for getting in touch, and sorry you're stuck!": the frame of a reply, not its answer
_OPENER = re.compile(
    r"^\s*(?:many )?(?:thanks|thank you)(?: so much| very much)? for (?:getting in touch|reaching out"
    r"|contacting us|asking|your (?:message|email|e-mail|question|enquiry|inquiry|patience))\b.{0,80}$"
    r"|^\s*(?:glad (?:that|it) (?:worked|helped)|great to hear)\b.{0,80}$",
    re.IGNORECASE,
)
_NAME_LINE = re.compile(r"^\s*[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}\s*$")
SIGN_OFF_LINES = 6  # a sign-off starts within the last few lines: name, role, team, phone


@dataclass(frozen=True)
class ReplyParts:
    """A reply's own text in three parts: "Hi Jane," / what the team said / "Kind regards, Alice"."""

    greeting: str
    body: str
    sign_off: str

    @property
    def greeted_names(self) -> tuple[str, ...]:
        """The names in the greeting ("Hi Jane Doe," -> Jane, Doe): the customer's, to be kept out."""
        match = _GREETING.match(self.greeting)
        words = match.group("names").split() if match else []
        return tuple(w for w in words if w[:1].isupper() and w.lower() not in ("there", "team", "all"))


def split_reply(text: str) -> ReplyParts:
    """Greeting (the opening line when it is one), sign-off (from a closing line such as "Kind
    regards," near the end) and the body between. `text` is a reply's new text, quotes removed."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    greeting = ""
    match = _GREETING.match(lines[0]) if lines else None
    if match:
        greeting = lines[0].strip()
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    if len(lines) > 2 and _OPENER.match(lines[0]) and not lines[1].strip():  # a line of its own
        greeting = f"{greeting}\n\n{lines[0].strip()}".strip()
        lines = lines[1:]
    sign_off = ""
    for index in range(len(lines) - 1, max(len(lines) - 1 - SIGN_OFF_LINES, -1), -1):
        if _SIGN_OFF.match(lines[index]):
            sign_off = "\n".join(lines[index:]).strip()
            lines = lines[:index]
            break
    else:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        if lines and len(lines) > 1 and _NAME_LINE.match(lines[-1]):  # signed with a name alone: "Ben"
            sign_off, lines = lines[-1].strip(), lines[:-1]
    return ReplyParts(greeting, "\n".join(lines).strip(), sign_off)


def quoted_question(text: str) -> str:
    """The words of the message a reply answers, as the reply quotes it: the first quoted
    part, quote marks and its own older history removed; "" when the reply quotes nothing."""
    try:
        replies = (
            EmailMessage(text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True).read().replies
        )
    except Exception:  # the reply parser is regex-heavy; a reply it cannot read teaches nothing
        logger.debug("reply parser failed on a sent message", exc_info=True)
        return ""
    if len(replies) < 2:
        return ""
    quoted = _QUOTE_MARK.sub("", replies[1].full_body)
    return new_text(quoted) if quoted.strip() else ""


def recipient_name(message: ParsedMessage) -> str:
    """The display name of a reply's first addressee ("Jane Doe"), RFC 2047 decoded; "" when none."""
    for name, _ in email.utils.getaddresses([message.header("to") or ""]):
        if name:
            try:
                return str(email.header.make_header(email.header.decode_header(name)))
            except (UnicodeError, LookupError, ValueError, email.errors.MessageError):
                return name
    return ""
