"""Coverage-guided fuzzing (atheris) of parse -> screen/classify/decide -> draft. Not a test.

Usage: python bench/fuzz_parse.py [--findings DIR] [--stop] [libFuzzer flags, e.g. -max_total_time=120]

Needs `pip install atheris` (not a project dependency). Each input is one mail: the first
byte picks raw mode (the rest is the message as-is; the seeds, from the parsing corpus and
the demo mailbox, are raw) or structured mode (headers and MIME parts built from the bytes,
so the fuzzer reaches the draft with hostile Subject/From/Reply-To/Message-ID/References).

What counts as a finding, each reported once per (kind, exception type, line):
* `parse-unexpected`: `parse_one` hid an exception other than MalformedMessage (its reason says
  "unexpected"); the message is failed instead of parsed;
* `pipeline-crash`: `plan_batch` raised, which stops the whole batch;
* `draft-crash`: rendering a draft for a parsed message raised;
* `draft-header`: the draft's header block is not exactly the expected fields, or a header
  line holds a bare CR or LF (an injection);
* `draft-unreadable`: the stdlib parser cannot read a draft header back, or a decoded value
  holds CR or LF.
A finding's input is written to DIR (default: a temp dir). With --stop the first finding
raises, so libFuzzer saves and minimises it; without, the run goes on and counts them.
A summary goes to stderr and DIR/summary.txt every 15 s.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import hashlib
import logging
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import atheris

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

with atheris.instrument_imports(include=["triage", "mailparser", "mailparser_reply", "inscriptis", "email"]):
    from triage import app  # noqa: E402
    from triage import config as config_module  # noqa: E402
    from triage.domain import (  # noqa: E402
        Action,
        Classification,
        Decision,
        Label,
        MessageRef,
        ParsedMessage,
        RawMessage,
    )
    from triage.pipeline.engine import Engine  # noqa: E402
    from triage.pipeline.planning import parse_one, plan_batch  # noqa: E402
    from triage.state.store import Store  # noqa: E402

T = TypeVar("T")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LIMIT = 1_000_000
HEADER_LINE = re.compile(rb"^([!-9;-~]+): ")
DRAFT_HEADERS = ["From", "To", "Subject", "Date", "Message-ID"]
DRAFT_TRAILER = ["X-Triage", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"]
HEADER_NAMES = ["From", "Reply-To", "Subject", "Message-ID", "References", "In-Reply-To", "Date", "To", "Cc"]
CHARSETS = ["utf-8", "iso-8859-1", "x-bogus", "unknown-8bit", "utf-16", "iso-2022-jp", "cp1252", ""]
CONTENT_TYPES = [
    b"text/plain",
    b"text/html",
    b"multipart/mixed",
    b"multipart/alternative",
    b"message/rfc822",
    b"application/octet-stream",
]
ENCODINGS = [b"7bit", b"8bit", b"base64", b"quoted-printable", b"x-bogus"]
MAX_DEPTH = 8
SUMMARY_EVERY_SECONDS = 15.0


class Findings:
    def __init__(self, directory: Path, stop: bool) -> None:
        self.directory, self.stop = directory, stop
        self.counts: Counter[str] = Counter()
        self.runs = 0
        self.started = self.last_summary = time.monotonic()

    def report(self, kind: str, detail: str, data: bytes, exc: BaseException | None = None) -> None:
        where = ""
        if exc is not None:
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
        key = f"{kind}: {detail}{where}"
        self.counts[key] += 1
        if self.counts[key] == 1:
            path = self.directory / f"{kind}-{hashlib.sha1(data).hexdigest()[:12]}.eml"
            path.write_bytes(data)
            print(f"\n[finding] {key}\n          input: {path}", file=sys.stderr, flush=True)
        if self.stop:
            raise RuntimeError(key) from exc

    def summary(self) -> None:
        """To stderr and DIR/summary.txt: libFuzzer ends the process without Python's atexit."""
        elapsed = time.monotonic() - self.started
        lines = [f"[summary] {self.runs} inputs in {elapsed:.0f} s; findings (count, kind):"]
        lines += [f"  {count:7d}  {key}" for key, count in self.counts.most_common()]
        print("\n" + "\n".join(lines), file=sys.stderr, flush=True)
        (self.directory / "summary.txt").write_text("\n".join(lines) + "\n")
        self.last_summary = time.monotonic()


def build_engine(root: Path) -> Engine:
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
    return app.build_engine(config)


def pick(fdp: atheris.FuzzedDataProvider, options: Sequence[T]) -> T:
    return options[int(fdp.ConsumeIntInRange(0, len(options) - 1))]


def header_value(fdp: atheris.FuzzedDataProvider) -> bytes:
    raw = bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)))
    how = fdp.ConsumeIntInRange(0, 2)
    if how == 0:
        return raw
    charset = pick(fdp, CHARSETS).encode()
    if how == 1:
        return b"=?" + charset + b"?b?" + base64.b64encode(raw) + b"?="
    return b"=?" + charset + b"?q?" + b"".join(b"=%02X" % byte for byte in raw) + b"?="


def part(fdp: atheris.FuzzedDataProvider, depth: int) -> bytes:
    kind = pick(fdp, CONTENT_TYPES)
    charset = pick(fdp, CHARSETS).encode()
    encoding = pick(fdp, ENCODINGS)
    if kind.startswith(b"multipart/") and depth < MAX_DEPTH:
        boundary = b"b%d" % depth
        children = [part(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
        body = b"".join(b"--" + boundary + b"\r\n" + child + b"\r\n" for child in children)
        if fdp.ConsumeBool():
            body += b"--" + boundary + b"--\r\n"
        return b"Content-Type: " + kind + b'; boundary="' + boundary + b'"\r\n\r\n' + body
    if kind == b"message/rfc822" and depth < MAX_DEPTH:
        return b"Content-Type: message/rfc822\r\n\r\n" + structured(fdp, depth + 1)
    disposition = b"Content-Disposition: attachment; filename=" + header_value(fdp) + b"\r\n"
    head = b"Content-Type: %s; charset=%s\r\nContent-Transfer-Encoding: %s\r\n" % (kind, charset, encoding)
    if fdp.ConsumeBool():
        head += disposition
    return head + b"\r\n" + bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256)))


def structured(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> bytes:
    headers = [b"From: " + header_value(fdp) + b" <jane@example.org>"]
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        name = pick(fdp, HEADER_NAMES).encode()
        headers.append(name + b": " + header_value(fdp))
    return b"\r\n".join(headers) + b"\r\nMIME-Version: 1.0\r\n" + part(fdp, depth)


def expected_headers(message: ParsedMessage) -> list[str]:
    threaded = ["In-Reply-To"] if message.message_id else []
    if message.message_id or message.references:
        threaded.append("References")
    return DRAFT_HEADERS + threaded + DRAFT_TRAILER


def check_draft(data: bytes, draft_data: bytes, message: ParsedMessage, findings: Findings) -> None:
    head, _, _ = draft_data.partition(b"\r\n\r\n")
    names = []
    for line in head.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            findings.report("draft-header", "bare CR or LF in a header line", data)
            return
        if line[:1] in (b" ", b"\t"):
            continue
        match = HEADER_LINE.match(line)
        if not match:
            findings.report("draft-header", "a line that is no header", data)
            return
        names.append(match.group(1).decode())
    if names != expected_headers(message):
        findings.report("draft-header", f"fields {names}", data)
    try:
        read = email.message_from_bytes(draft_data, policy=email.policy.default)
        for name, value in read.items():
            if "\r" in str(value) or "\n" in str(value):
                findings.report("draft-unreadable", f"{name} decodes to CR/LF", data)
    except Exception as exc:  # the stdlib refusing a header is what a mail client may do too
        findings.report("draft-unreadable", f"{type(exc).__name__}: {str(exc)[:60]}", data, exc)


def one_input(data: bytes, engine: Engine, store: Store, findings: Findings) -> None:
    findings.runs += 1
    if time.monotonic() - findings.last_summary > SUMMARY_EVERY_SECONDS:
        findings.summary()
    if not data:
        return
    if data[0] % 2 == 0:
        mail = data[1:]
    else:
        mail = structured(atheris.FuzzedDataProvider(data[1:]))
    result = parse_one(mail, NOW)
    if isinstance(result, str):
        if "unexpected" in result:
            findings.report("parse-unexpected", result.split(":")[1].strip().split()[-1], mail)
        return
    raw = RawMessage(MessageRef("fuzz", "INBOX", 1, 1), mail, NOW, len(mail))
    try:
        plan_batch([raw], engine, store, NOW)
    except Exception as exc:
        findings.report("pipeline-crash", type(exc).__name__, mail, exc)
    decision = Decision(Action.DRAFT, "fuzz", Classification(Label.COMPLAINT, 0.9, "v"), "complaint")
    try:
        draft = engine.drafter.render(result, decision, "fuzz", NOW)
    except Exception as exc:
        findings.report("draft-crash", type(exc).__name__, mail, exc)
        return
    check_draft(mail, draft.data, result, findings)


def seed_corpus(directory: Path) -> None:
    """Raw-mode seeds (first byte 0) from the parsing corpus and the demo mailbox."""
    sources = [*(REPO / "tests" / "parsing_corpus").glob("*.eml")]
    sources += (REPO / "triage" / "demo_mailbox" / "INBOX").glob("*.eml")
    for source in sources:
        (directory / source.name).write_bytes(b"\x00" + source.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--findings", type=Path, default=None)
    parser.add_argument("--stop", action="store_true")
    args, libfuzzer_args = parser.parse_known_args()
    root = Path(tempfile.mkdtemp(prefix="triage-fuzz-"))
    findings_dir = args.findings or root / "findings"
    findings_dir.mkdir(parents=True, exist_ok=True)
    corpus = root / "corpus"  # libFuzzer adds inputs here: never the repository's own corpus
    corpus.mkdir()
    seed_corpus(corpus)
    engine = build_engine(root)
    store = Store(root / "state.sqlite3")
    findings = Findings(findings_dir, args.stop)
    print(f"[setup] corpus {corpus}, findings {findings_dir}", file=sys.stderr)
    logging.disable(logging.CRITICAL)  # mail-parser warns on every odd part; findings say what matters
    atheris.Setup(
        [sys.argv[0], *libfuzzer_args, str(corpus)], lambda data: one_input(data, engine, store, findings)
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
