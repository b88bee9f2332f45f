"""`triage run` against a real Dovecot: a realistic mix in, threaded drafts out, exactly once."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, Dovecot
from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.cli import main
from triage.pipeline.engine import Engine
from triage.pipeline.poll import poll
from triage.state.store import Store

DEMO = REPO / "triage" / "demo_mailbox" / "INBOX"
CORPUS = REPO / "tests" / "parsing_corpus"
MALFORMED = (CORPUS / "missing_from.eml").read_bytes()


def write_config(tmp_path: Path, dovecot: Dovecot, user: str, **overrides: object) -> Path:
    settings: dict[str, object] = {
        "mailbox": {"url": dovecot.url(user), "ca_file": str(dovecot.ca_file)},
        "team": {
            "name": "Northwind Support",
            "address": "support@northwind.example",
            "own_addresses": ["alice@northwind.example", "ben@northwind.example"],
        },
        "classifier": {"model_dir": str(REPO / "models")},
        "drafting": {"templates_dir": str(REPO / "templates")},
        "state": {"database": str(tmp_path / "state.sqlite3")},
    }
    for section, values in overrides.items():
        settings.setdefault(section, {})
        settings[section].update(values)  # type: ignore[attr-defined]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def append_mix(dovecot: Dovecot, user: str) -> int:
    """The demo mailbox (complaints, fixes, escalations, auto-reply, bounce, newsletter) + a malformed one."""
    client = dovecot.client(user)
    messages = [p.read_bytes() for p in sorted(DEMO.glob("*.eml"))] + [MALFORMED]
    for data in messages:
        client.append("INBOX", data)
    client.logout()
    return len(messages)


@pytest.fixture
def mix(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, int]:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    monkeypatch.delenv("TRIAGE_MAILBOX", raising=False)
    count = append_mix(dovecot, imap_user)
    return write_config(tmp_path, dovecot, imap_user), count


def drafts(dovecot: Dovecot, user: str, kind: str = "draft") -> list[email.message.EmailMessage]:
    """Drafts of one kind, by their X-Triage header: replies to customers ("draft"), "brief" or
    "reminder" (notices to owners), or "" for everything in the folder."""
    client = dovecot.client(user)
    client.select_folder("Drafts", readonly=True)
    uids = client.search(["ALL"])
    found = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
    client.logout()
    result = []
    for data in found.values():
        message = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
        assert b"\\Draft" in data[b"FLAGS"]
        if str(message.get("X-Triage", "")).startswith(kind):
            result.append(message)
    return result


def poller(config: config_module.Config, engine: Engine) -> Callable[[datetime], None]:
    """One poll at a moment of the test's choosing: a controlled clock, a real mailbox."""
    store = Store(config.database)

    def poll_at(moment: datetime) -> None:
        inbox = app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets())
        try:
            poll(inbox, store, engine, lambda: moment)
        finally:
            inbox.close()

    return poll_at


def inbox_flags(dovecot: Dovecot, user: str) -> dict[int, tuple[bytes, ...]]:
    client = dovecot.client(user)
    client.select_folder("INBOX", readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    return flags


def test_run_once_drafts_threaded_replies_and_leaves_originals_unseen(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    config_path, count = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0

    store = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    rows = store.messages()
    assert len(rows) == count and all(row.status == "done" for row in rows)
    by_outcome: dict[str, int] = {}
    for row in rows:
        by_outcome[row.outcome or ""] = by_outcome.get(row.outcome or "", 0) + 1
    skipped = {row.reason for row in rows if row.outcome == "skipped"}
    assert {"auto_submitted", "bounce", "noreply_sender"} <= skipped
    assert skipped & {"precedence", "mailing_list"}
    assert [row.reason for row in rows if row.outcome == "failed"] == ["malformed: no From header"]

    saved = drafts(dovecot, imap_user)
    originals = {row.message_id: row for row in rows}
    expected_drafts = [row for row in rows if row.draft_message_id]
    assert len(saved) == len(expected_drafts) >= 20
    for draft in saved:
        original = originals[draft["In-Reply-To"]]
        assert draft["Subject"].startswith("Re: ") and not draft["Subject"].startswith("Re: Re:")
        assert original.message_id in draft["References"]
        assert draft["Message-ID"] == original.draft_message_id
        assert "support@northwind.example" in draft["From"]

    flags = inbox_flags(dovecot, imap_user)
    assert all(b"\\Seen" not in f for f in flags.values()), "originals must stay unread"
    drafted_flags = [f for f in flags.values() if b"triage_drafted" in f]
    assert len(drafted_flags) == len(expected_drafts)
    assert any(b"triage_escalation" in f for f in flags.values())
    assert "seen" in capsys.readouterr().out


def test_a_second_run_adds_nothing(dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]) -> None:
    config_path, _ = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    first = len(drafts(dovecot, imap_user))
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    assert len(drafts(dovecot, imap_user)) == first


def test_messages_already_read_by_an_agent_are_triaged_too(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]
) -> None:
    config_path, count = mix
    client = dovecot.client(imap_user)
    client.select_folder("INBOX")
    client.add_flags(client.search(["ALL"]), [b"\\Seen"])
    client.logout()
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    db = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    assert len(db.messages()) == count


def test_dry_run_writes_nothing_to_the_mailbox_or_the_state(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    config_path, count = mix
    assert main(["--config", str(config_path), "run", "--dry-run"]) == 0
    assert "dry run, nothing written" in capsys.readouterr().out
    assert drafts(dovecot, imap_user) == []
    assert all(not any(k.startswith(b"triage_") for k in f) for f in inbox_flags(dovecot, imap_user).values())
    db = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    assert db.messages() == []


def test_a_crash_between_append_and_commit_makes_no_second_draft(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path, _ = mix

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed after APPEND, before the commit")

    with monkeypatch.context() as patched:
        patched.setattr(Store, "record_done", crash)
        with pytest.raises(SystemExit):
            main(["--config", str(config_path), "run", "--once"])
    after_crash = drafts(dovecot, imap_user)
    assert after_crash, "the crash came after the APPEND"
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    ids = [d["Message-ID"] for d in drafts(dovecot, imap_user)]
    assert len(ids) == len(set(ids)) == len(after_crash)


def test_a_uidvalidity_change_resyncs_without_duplicate_drafts(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]
) -> None:
    config_path, count = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    before = len(drafts(dovecot, imap_user))
    maildir = dovecot.root / "home" / imap_user / "Maildir"
    # Dovecot assigns a new UIDVALIDITY when its uid list and indexes are gone
    for name in ("dovecot-uidlist", "dovecot.index", "dovecot.index.cache", "dovecot.index.log"):
        (maildir / name).unlink(missing_ok=True)
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    assert len(drafts(dovecot, imap_user)) == before
    db = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    resynced = [row for row in db.messages() if row.reason and row.reason.startswith("duplicate")]
    assert len({row.ref.uidvalidity for row in db.messages()}) == 2
    assert resynced, "the second epoch's messages were matched by Message-ID"


def test_drafts_folder_is_created_when_missing_and_found_by_special_use(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]
) -> None:
    config_path, _ = mix
    client = dovecot.client(imap_user)
    assert not client.folder_exists("Drafts")
    client.logout()
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    assert drafts(dovecot, imap_user)


def test_imaps_checks_the_certificate(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    url = f"imaps://{imap_user}@127.0.0.1:{dovecot.tls_port}/INBOX"
    trusted = write_config(
        tmp_path, dovecot, imap_user, mailbox={"url": url, "ca_file": str(dovecot.ca_file)}
    )
    assert main(["--config", str(trusted), "run", "--once"]) == 0
    untrusted = write_config(tmp_path, dovecot, imap_user, mailbox={"url": url, "ca_file": None})
    assert main(["--config", str(untrusted), "run", "--once"]) == 4  # the trustme CA is not trusted


def test_starttls_is_used_on_imap_urls(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    # the server offers STARTTLS, so even loopback upgrades: without our CA it must fail
    config_path = write_config(tmp_path, dovecot, imap_user, mailbox={"ca_file": None})
    assert main(["--config", str(config_path), "run", "--once"]) == 4


def test_a_wrong_password_is_a_clear_error(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "not-the-password")
    config_path = write_config(tmp_path, dovecot, imap_user)
    assert main(["--config", str(config_path), "run", "--once"]) == 3
    assert "login refused" in capsys.readouterr().err


def test_xoauth2_login_with_a_token_file(
    dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ya29.test-token-value"
    user = dovecot.add_user(password=token)  # Dovecot takes a bearer token equal to the password
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    monkeypatch.delenv("TRIAGE_PASSWORD", raising=False)
    config_path = write_config(
        tmp_path, dovecot, user, mailbox={"auth": "xoauth2", "oauth_token_file": str(token_file)}
    )
    assert main(["--config", str(config_path), "run", "--once"]) == 0


def test_the_password_never_reaches_the_log(
    dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    password = "Pa55-word-that-must-not-leak"
    user = dovecot.add_user(password=password)
    client = dovecot.client(user, password)
    client.append("INBOX", sorted(DEMO.glob("*.eml"))[0].read_bytes())
    client.logout()
    monkeypatch.setenv("TRIAGE_PASSWORD", password)
    config_path = write_config(tmp_path, dovecot, user)
    assert main(["--log-level", "DEBUG", "--config", str(config_path), "run", "--once"]) == 0
    out, err = capfd.readouterr()
    assert "LOGIN" in err or "login" in err.lower()  # the protocol was logged at DEBUG ...
    assert password not in out + err  # ... but never the password


def test_the_maildir_and_imap_inboxes_agree(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int], tmp_path: Path
) -> None:
    """The same mail through both adapters gives the same decisions."""
    config_path, _ = mix
    config = config_module.load(config_path, {"TRIAGE_PASSWORD": "secret"})
    engine = app.build_engine(config)
    imap = app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets())
    imap_result = poll(imap, Store(tmp_path / "a.sqlite3"), engine, app.utc_now, dry_run=True)
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for index, eml in enumerate(sorted(DEMO.glob("*.eml"))):
        shutil.copyfile(eml, maildir / "new" / f"{1000 + index}.m{index}.host")
    (maildir / "new" / "2000.malformed.host").write_bytes(MALFORMED)
    maildir_config = write_config(tmp_path, dovecot, imap_user, mailbox={"url": f"maildir://{maildir}"})
    inbox = app.open_inbox(config_module.load(maildir_config, {}), {}, RedactSecrets())
    maildir_result = poll(inbox, Store(tmp_path / "b.sqlite3"), engine, app.utc_now, dry_run=True)
    assert [p.outcome for p in imap_result.plans] == [p.outcome for p in maildir_result.plans]
    assert [p.record.label for p in imap_result.plans] == [p.record.label for p in maildir_result.plans]


def test_triaged_mail_can_be_moved_to_class_folders(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]
) -> None:
    config_path, _ = mix
    settings = yaml.safe_load(config_path.read_text())
    settings["marking"] = {
        "move_to_class_folders": True,
        "class_folders": {
            "complaint": "Triage/Complaint",
            "small_fix": "Triage/Small fix",
            "escalation": "Triage/Escalation",
        },
    }
    config_path.write_text(yaml.safe_dump(settings))
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    client = dovecot.client(imap_user)
    moved = sum(
        client.folder_status(f, [b"MESSAGES"])[b"MESSAGES"]
        for f in ("Triage/Complaint", "Triage/Small fix", "Triage/Escalation")
        if client.folder_exists(f)
    )
    client.select_folder("Triage/Escalation", readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    assert moved >= 15
    assert all(b"\\Seen" not in f and b"triage_escalation" in f for f in flags.values())


def test_json_logs_and_one_summary_line_per_poll(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int], capfd: pytest.CaptureFixture[str]
) -> None:
    import json

    config_path, count = mix
    from triage.daemon import Daemon

    config = config_module.load(config_path, {"TRIAGE_PASSWORD": "secret"})
    assert main(["--log-format", "json", "--config", str(config_path), "check-config"]) == 0
    capfd.readouterr()
    from triage.app.logs import configure

    configure("INFO", "json", RedactSecrets())
    daemon = Daemon(
        open_inbox=lambda: app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets()),
        store=app.open_store(config),
        engine=app.build_engine(config),
        clock=app.utc_now,
        poll_interval=60,
        idle=False,
        idle_timeout=1,
        reconnect_max=1,
        batch_size=7,
    )
    summary = daemon.poll_once()
    assert summary is not None and summary.seen == count
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    polls = [line for line in lines if line["message"].startswith("poll: ")]
    assert len(polls) == 1 and f"seen={count}" in polls[0]["message"]


def test_no_password_in_clear_to_a_remote_server_without_starttls(tmp_path: Path) -> None:
    """A server offering no STARTTLS: refused unless loopback or allow_insecure.

    The server is real (Dovecot with TLS off); being remote is the one thing faked,
    as a test cannot own a non-loopback host.
    """
    from tests.conftest import start_dovecot
    from triage.adapters.imap_inbox import ImapInbox, ImapSettings
    from triage.errors import MailboxError

    server = start_dovecot(tls=False)
    try:
        user = server.add_user()

        def settings(remote: bool, allow: bool) -> ImapSettings:
            return ImapSettings(
                "imap", "127.0.0.1", server.port, user, "INBOX", allow, not remote, None, 10, None, "password"
            )

        with pytest.raises(MailboxError, match="no STARTTLS"):
            ImapInbox(settings(remote=True, allow=False), lambda: "secret")
        ImapInbox(settings(remote=True, allow=True), lambda: "secret").close()
        ImapInbox(settings(remote=False, allow=False), lambda: "secret").close()
    finally:
        server.stop()


def test_the_teams_replies_are_read_from_the_sent_folder_found_by_special_use(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]
) -> None:
    config_path, _ = mix
    client = dovecot.client(imap_user)
    client.create_folder("Sent")  # Dovecot marks it \\Sent (SPECIAL-USE) in the test config
    replies = sorted((REPO / "triage" / "demo_mailbox" / "Sent").glob("*.eml"))
    for eml in replies:
        client.append("Sent", eml.read_bytes(), flags=(b"\\Seen",))
    client.logout()
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    assert main(["--config", str(config_path), "run", "--once"]) == 0  # incremental: nothing twice
    store = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    stored = store.replies(store.messages()[0].ref.mailbox)
    assert len(stored) == len(replies)
    known = {m.message_id for m in store.messages()}
    assert all(r.in_reply_to in known for r in stored)


def test_a_message_answered_from_any_mail_client_counts_as_answered(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int]
) -> None:
    from triage.metrics.conversations import conversations
    from triage.pipeline.threads import conversation_events

    config_path, _ = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    store = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    target = next(m for m in store.messages() if m.outcome == "drafted")
    client = dovecot.client(imap_user)
    client.select_folder("INBOX")
    client.add_flags([target.ref.uid], [b"\\Answered"])  # replied from a phone; no copy in Sent
    client.logout()
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    assert target.message_id in store.answered(target.ref.mailbox)
    threads = conversations(conversation_events(store, target.ref.mailbox))
    thread = next(t for t in threads if any(e.message_id == target.message_id for e in t.events))
    assert thread.waiting_since() is None and thread.first_response is not None


def test_an_unanswered_conversation_at_risk_gets_one_holding_draft_and_the_team_an_email(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import UTC, datetime, timedelta

    received = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    message = (
        b"From: Jo Bloggs <jo@example.org>\r\nTo: support@northwind.example\r\nSubject: Parcel late\r\n"
        b"Message-ID: <late-1@example.org>\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n\r\n"
        b"My parcel is a week late and nobody answers my emails. Really poor service.\r\n"
    )
    client = dovecot.client(imap_user)
    client.append("INBOX", message)
    client.logout()
    config_path = write_config(
        tmp_path,
        dovecot,
        imap_user,
        metrics={"at_risk_email": True},
        report={"smtp_url": f"smtp://127.0.0.1:{smtp_server.port}", "ca_file": str(smtp_server.ca_file)},
    )
    config = config_module.load(config_path, {"TRIAGE_PASSWORD": "secret"})
    poll_at = poller(config, app.build_engine(config))

    poll_at(received + timedelta(minutes=5))  # triaged: the complaint draft
    assert len(drafts(dovecot, imap_user)) == 1
    poll_at(received + timedelta(hours=10))  # 10 h of 24: not yet at risk
    assert len(drafts(dovecot, imap_user)) == 1
    poll_at(received + timedelta(hours=19))  # past 75% of 24 h, no reply: tell the customer
    saved = drafts(dovecot, imap_user)
    assert len(saved) == 2
    holding = next(d for d in saved if "taking longer" in d.get_body(("plain",)).get_content())
    assert holding["In-Reply-To"] == "<late-1@example.org>"
    assert b"triage_at_risk" in next(iter(inbox_flags(dovecot, imap_user).values()))
    assert len(smtp_server.received) == 1
    alert = email.message_from_bytes(smtp_server.received[0], policy=email.policy.default)
    assert alert["Subject"] == "At risk: Parcel late" and alert["To"] == "support@northwind.example"
    poll_at(received + timedelta(hours=30))  # breached now, but told once only
    assert len(drafts(dovecot, imap_user)) == 2
    assert len(smtp_server.received) == 1


def test_response_times_from_a_timeline_in_dovecot_across_a_weekend(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import csv

    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    customers = [  # (message-id, sent at, reply at): Friday, Saturday and Monday mail, answered on Monday
        ("<t1@x.example>", "Fri, 20 Nov 2026 15:00:00 +0000", "Mon, 23 Nov 2026 09:30:00 +0000"),
        ("<t2@x.example>", "Sat, 21 Nov 2026 10:00:00 +0000", "Mon, 23 Nov 2026 11:00:00 +0000"),
        ("<t3@x.example>", "Mon, 23 Nov 2026 10:00:00 +0000", "Mon, 23 Nov 2026 12:00:00 +0000"),
    ]
    client = dovecot.client(imap_user)
    client.create_folder("Sent")
    for i, (mid, sent, replied) in enumerate(customers):
        client.append(
            "INBOX",
            (
                f"From: Customer {i} <c{i}@x.example>\r\nTo: support@northwind.example\r\nSubject: Question {i}\r\n"
                f"Message-ID: {mid}\r\nDate: {sent}\r\n\r\nHow do I change my delivery address for order {i}?\r\n"
            ).encode(),
        )
        client.append(
            "Sent",
            (
                f"From: support@northwind.example\r\nTo: c{i}@x.example\r\nSubject: Re: Question {i}\r\n"
                f"Message-ID: <reply-{i}@northwind.example>\r\nIn-Reply-To: {mid}\r\nReferences: {mid}\r\n"
                f"Date: {replied}\r\n\r\nHere is how.\r\n"
            ).encode(),
            flags=(b"\\Seen",),
        )
    client.logout()
    config = write_config(tmp_path, dovecot, imap_user, team={"timezone": "Europe/London"})
    assert main(["--config", str(config), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "status", "--now", "2026-11-23T13:00:00+00:00"]) == 0
    out = capsys.readouterr().out
    # first responses: 66.5 h, 49 h, 2 h
    assert re.search(r"answered in the last 7 days\s+3 of 3", out)
    assert re.search(r"first response, median\s+49.0 h", out)
    assert re.search(r"first response, p90\s+66.5 h", out)
    assert re.search(r"answered within 24 h\s+33%", out)
    export = tmp_path / "export.csv"
    assert main(["--config", str(config), "export", "--since", "2026-11-16", "--out", str(export)]) == 0
    business = [row["first_response_business_hours"] for row in csv.DictReader(export.open())]
    assert business == ["2.5", "2.0", "2.0"]  # Fri 15-17 + Mon 9-9:30; Mon 9-11; Mon 10-12


def test_inbox_zero_days_and_a_one_message_week_in_the_report(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    monday = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    client = dovecot.client(imap_user)
    client.create_folder("Sent")
    client.logout()
    config_path = write_config(tmp_path, dovecot, imap_user, metrics={"holding_drafts": False})
    config = config_module.load(config_path, {"TRIAGE_PASSWORD": "secret"})
    engine, store = app.build_engine(config), Store(config.database)

    def poll_at(moment: datetime) -> None:
        inbox = app.open_inbox(config, {"TRIAGE_PASSWORD": "secret"}, RedactSecrets())
        try:
            poll(inbox, store, engine, lambda: moment)
        finally:
            inbox.close()

    poll_at(monday)  # Monday: empty inbox, zero
    client = dovecot.client(imap_user)
    client.append(
        "INBOX",
        b"From: Jo <jo@x.example>\r\nTo: support@northwind.example\r\nSubject: Where\r\n"
        b"Message-ID: <w1@x.example>\r\nDate: Tue, 17 Nov 2026 09:00:00 +0000\r\n\r\nwhere is my order?\r\n",
    )
    client.logout()
    poll_at(monday + timedelta(days=1, hours=2))  # Tuesday: one open
    client = dovecot.client(imap_user)
    client.append(
        "Sent",
        b"From: support@northwind.example\r\nTo: jo@x.example\r\nSubject: Re: Where\r\n"
        b"Message-ID: <w1r@n.example>\r\nIn-Reply-To: <w1@x.example>\r\n"
        b"Date: Wed, 18 Nov 2026 09:00:00 +0000\r\n\r\nOn its way.\r\n",
    )
    client.logout()
    poll_at(monday + timedelta(days=2, hours=2))  # Wednesday: answered, zero again
    capsys.readouterr()
    assert (
        main(
            [
                "--config",
                str(config_path),
                "report",
                "--week",
                "2026-W47",
                "--now",
                "2026-11-23T08:00:00+00:00",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    # Tuesday too: triage watched from Monday, and nothing waited until Jo wrote at 09:00
    assert "Inbox zero reached on: Mon, Tue, Wed" in out
    assert re.search(r"Conversations started\s+1\s+0", out)
    assert re.search(r"First response, median\s+1 d\s", out)
    assert re.search(r"Tue 17 Nov\s+0\s+1\s+0\s+1  inbox zero", out)  # one small fix, one waiting


def test_open_cases_are_resolved_by_command_or_by_keyword_in_a_mail_client(
    dovecot: Dovecot, imap_user: str, mix: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    config_path, _ = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    store = Store(Path(yaml.safe_load(config_path.read_text())["state"]["database"]))
    mailbox = store.messages()[0].ref.mailbox
    cases = store.open_cases(mailbox)
    assert {case.label for case in cases} == {"complaint", "escalation"}
    capsys.readouterr()
    assert main(["--config", str(config_path), "open"]) == 0
    assert cases[0].message_id in capsys.readouterr().out

    by_command, by_keyword = cases[0].message_id, cases[1].message_id
    assert main(["--config", str(config_path), "resolve", by_command, "--who", "dana"]) == 0
    uid = next(m.ref.uid for m in store.messages() if m.message_id == by_keyword)
    client = dovecot.client(imap_user)
    client.select_folder("INBOX")
    client.add_flags([uid], [b"triage_resolved"])
    client.logout()
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    still_open = {case.message_id for case in store.open_cases(mailbox)}
    assert by_command not in still_open and by_keyword not in still_open
    assert len(still_open) == len(cases) - 2
    assert main(["--config", str(config_path), "resolve", by_command]) == 1  # already resolved
    now = datetime.now(UTC)
    _, resolved = store.escalations_between(mailbox, now - timedelta(days=1), now + timedelta(days=1))
    assert resolved == sum(1 for case in cases[:2] if case.label == "escalation")
