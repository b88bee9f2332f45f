"""Raw RFC 5322 bytes -> `ParsedMessage`. Pure: no network, disk or clock.

mail-parser does the MIME walk (text parts, attachments). Three of its known traps
are handled here, each with a test in the parsing corpus:

* raw 8-bit header bytes are dropped by it ("Grüße" in latin-1 becomes "Gre"), so
  headers are read with the stdlib parser and undecodable bytes tried as UTF-8 and
  then as Windows-1252 (the usual superset of latin-1 in the wild);
* ISO-2022-JP bodies come back undecoded (escape sequences intact), so they are
  decoded here;
* a Date without a time zone becomes None, so Date is parsed here: a naive date is
  taken as UTC (RFC 5322 "-0000": zone unknown) and a missing or unparseable one
  falls back to the server's INTERNALDATE.
"""

from __future__ import annotations

import email.errors
import email.header
import email.parser
import email.policy
import email.utils
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import mailparser
from inscriptis import get_text
from mailparser_reply import EmailReplyParser

from triage.domain import Address, Attachment, ParsedMessage
from triage.errors import MalformedMessage

logger = logging.getLogger(__name__)

REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
_HEADER_END = re.compile(rb"\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n")
_MSGID = re.compile(r"<[^<>\s]+>")
_ISO2022_ESCAPE = re.compile(r"\x1b[\$\(][@BJ]")
_SIGNATURE = re.compile(r"(?m)^-- ?$")
_WS = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# addresses are read before RFC 2047 is decoded, so a display name can never change them
ADDRESS_HEADERS = frozenset({"from", "reply-to", "to", "cc", "sender"})


def parse(data: bytes, internaldate: datetime) -> ParsedMessage:
    """Parse one message.

    `internaldate` is the server's arrival time, used when Date is missing or bad.
    Raises `MalformedMessage` when there is nothing to parse or no sender address.
    """
    if not data.strip():
        raise MalformedMessage("empty message")
    headers = _read_headers(data)
    if not headers.get("from"):
        raise MalformedMessage("no From header")
    sender = _sender(headers["from"])
    try:
        mail = mailparser.parse_from_bytes(data)
        text, attachments = _plain_text(mail), _attachments(mail)
        content_type = _content_type(mail)
    except Exception:  # mail-parser fails on some broken MIME; the stdlib still reads it
        logger.debug("mail-parser failed; falling back to the stdlib walk", exc_info=True)
        text, attachments, content_type = _stdlib_text(data), (), "text/plain"
    date, date_from_header = _date(_one(headers, "date"), internaldate)
    references = tuple(_MSGID.findall(" ".join(headers.get("references", []))))
    in_reply_to_ids = _MSGID.findall(_one(headers, "in-reply-to") or "")
    return ParsedMessage(
        message_id=_message_id(_one(headers, "message-id")),
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        sender=sender,
        reply_to=_first_email(headers.get("reply-to", [])),
        to=_emails(headers.get("to", [])),
        cc=_emails(headers.get("cc", [])),
        date=date,
        date_from_header=date_from_header,
        subject=_unfold(_one(headers, "subject") or ""),
        text=text,
        new_text=new_text(text),
        attachments=attachments,
        headers=tuple((k, v) for k, values in headers.items() for v in values),
        content_type=content_type,
    )


def new_text(text: str) -> str:
    """The part the customer just wrote: quoted history and signature removed."""
    try:
        reply = _reply_parser().parse_reply(text)
    except Exception:  # the reply parser is regex-heavy; never lose the text over it
        logger.debug("reply parser failed; keeping full text", exc_info=True)
        reply = text
    reply = reply if reply and reply.strip() else text
    signature = _SIGNATURE.search(reply)
    if signature and signature.start() > 0:
        reply = reply[: signature.start()]
    return reply.strip()


@lru_cache(maxsize=1)
def _reply_parser() -> EmailReplyParser:
    return EmailReplyParser(languages=REPLY_LANGUAGES)


def _read_headers(data: bytes) -> dict[str, list[str]]:
    """Header fields, names lower-cased, values decoded (RFC 2047 and raw 8-bit)."""
    match = _HEADER_END.search(data)
    block = data[: match.end()] if match else data
    # raw 8-bit bytes: each line as UTF-8 if it is, else Windows-1252
    text = "\n".join(_decode_8bit(line) for line in block.splitlines()) + "\n\n"
    message = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
    headers: dict[str, list[str]] = {}
    for name, value in message.items():
        key = name.lower()
        raw = str(value).replace("\r", " ").replace("\n", " ")
        headers.setdefault(key, []).append(raw if key in ADDRESS_HEADERS else _decode_header_value(value))
    return headers


def _decode_header_value(value: Any) -> str:
    """RFC 2047 decoded, on one line. A word in an unknown charset is read as UTF-8 with
    replacement rather than kept encoded: a reader would decode it again, line breaks and all."""
    raw = str(value)
    try:
        decoded = str(email.header.make_header(email.header.decode_header(raw)))
    except (UnicodeError, LookupError, ValueError, email.errors.MessageError):
        try:
            decoded = "".join(
                part if isinstance(part, str) else _decode_part(part, charset)
                for part, charset in email.header.decode_header(raw)
            )
        except (UnicodeError, LookupError, ValueError, email.errors.MessageError):
            decoded = raw.replace("=?", "= ?")
    return decoded.replace("\r", " ").replace("\n", " ")


def _decode_part(part: bytes, charset: str | None) -> str:
    try:
        return part.decode(charset or "ascii")
    except (LookupError, UnicodeError, ValueError):
        return part.decode("utf-8", errors="replace")


def _decode_8bit(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _one(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _unfold(value: str) -> str:
    return _WS.sub(" ", value.replace("\r", " ").replace("\n", " ")).strip()


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    return found.group(0) if found else None


def _parse_addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs: parsed from the raw header, then each name decoded."""
    return [
        (_unfold(_decode_header_value(name)), address.strip().lower())
        for name, address in email.utils.getaddresses(values)
        if "@" in address
    ]


def _sender(values: list[str]) -> Address:
    """The sender as written; bounces say `MAILER-DAEMON <>`: kept, address empty."""
    pairs = email.utils.getaddresses(values)
    for name, address in pairs:
        if address.strip():
            return Address(name=_unfold(_decode_header_value(name)), address=address.strip().lower())
    name = pairs[0][0] if pairs and pairs[0][0] else values[0]
    return Address(name=_unfold(_decode_header_value(name)), address="")


def _first_email(values: list[str]) -> str | None:
    found = _parse_addresses(values)
    return found[0][1] if found else None


def _emails(values: list[str]) -> tuple[str, ...]:
    return tuple(address for _, address in _parse_addresses(values))


def _date(value: str | None, internaldate: datetime) -> tuple[datetime, bool]:
    fallback = internaldate if internaldate.tzinfo else internaldate.replace(tzinfo=UTC)
    if not value:
        return fallback.astimezone(UTC), False
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC), True
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: year 9999 and a zone
        return fallback.astimezone(UTC), False


def _plain_text(mail: Any) -> str:
    parts = [_fix_iso2022(part) for part in mail.text_plain]
    text = "\n".join(part for part in parts if part.strip())
    if not text.strip() and mail.text_html:
        text = "\n".join(_html_to_text(_fix_iso2022(html)) for html in mail.text_html)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BLANK_LINES.sub("\n\n", text).strip()


def _stdlib_text(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    texts = []
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_attachment():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, errors="replace")
        except (LookupError, ValueError):  # unknown charset, or a NUL in its name
            content = _decode_8bit(payload)
        is_html = part.get_content_subtype() == "html"
        texts.append(_html_to_text(content) if is_html else content)
    return "\n".join(texts).strip()


def _html_to_text(html: str) -> str:
    try:
        return str(get_text(html))
    except Exception:  # inscriptis may choke on pathological markup; keep the words
        logger.debug("html to text failed", exc_info=True)
        return re.sub(r"<[^>]+>", " ", html)


def _fix_iso2022(text: str) -> str:
    """Decode ISO-2022-JP text that mail-parser handed back still encoded."""
    if not _ISO2022_ESCAPE.search(text):
        return text
    try:
        return text.encode("latin-1").decode("iso2022_jp")
    except (UnicodeError, LookupError):
        return text


def _attachments(mail: Any) -> tuple[Attachment, ...]:
    found = []
    for item in mail.attachments:
        payload = item.get("payload") or ""
        if item.get("binary"):
            size = _base64_size(payload)
        else:
            size = len(payload.encode("utf-8", "surrogateescape"))
        found.append(
            Attachment(
                filename=str(item.get("filename") or ""),
                content_type=str(item.get("mail_content_type") or "application/octet-stream"),
                size=size,
            )
        )
    return tuple(found)


def _base64_size(payload: str) -> int:
    stripped = "".join(payload.split())
    padding = stripped.count("=", len(stripped) - 2) if stripped else 0
    return len(stripped) * 3 // 4 - padding


def _content_type(mail: Any) -> str:
    message = mail.message
    return str(message.get_content_type()) if message is not None else "text/plain"
