"""Against a real Dovecot: a reply the team sends becomes the next small fix's answer, with the first
customer's details kept out, and it shows in `triage show`, `triage answers` and the weekly report."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, Dovecot
from tests.test_imap_end_to_end import drafts, poller, write_config
from triage import app
from triage import config as config_module
from triage.app.engine import read_fixes
from triage.cli import main
from triage.mail.parsing import parse
from triage.state.store import Store

ASKED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
GIFT_CARDS = (
    "You can check it at northwind.example/giftcards with the 16-digit number and the PIN on the back."
)


def question(message_id: str, sender: str, subject: str, body: str, at: datetime) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@northwind.example\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: {format_datetime(at)}\r\n\r\n{body}\r\n"
    ).encode()


def team_reply(to: str, in_reply_to: str, subject: str, text: str, at: datetime) -> bytes:
    return (
        f"From: Northwind Support <support@northwind.example>\r\nTo: {to}\r\nSubject: Re: {subject}\r\n"
        f"Message-ID: <sent-{at.timestamp():.0f}@northwind.example>\r\nIn-Reply-To: {in_reply_to}\r\n"
        f"References: {in_reply_to}\r\nDate: {format_datetime(at)}\r\n\r\n{text}\r\n"
    ).encode()


def append(dovecot: Dovecot, user: str, folder: str, data: bytes, at: datetime | None = None) -> None:
    """Into a folder, arrived at `at` (INTERNALDATE; now when not given)."""
    client = dovecot.client(user)
    if not client.folder_exists(folder):
        client.create_folder(folder)  # Dovecot marks Sent \\Sent (SPECIAL-USE) in the test config
    client.append(folder, data, flags=(b"\\Seen",) if folder == "Sent" else (), msg_time=at)
    client.logout()


@pytest.fixture
def setup(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, config_module.Config]:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    monkeypatch.delenv("TRIAGE_MAILBOX", raising=False)
    templates = tmp_path / "templates"  # a copy: `triage answers --pin` writes to its fixes.yaml
    shutil.copytree(REPO / "templates", templates)
    path = write_config(tmp_path, dovecot, imap_user, drafting={"templates_dir": str(templates)})
    return path, config_module.load(path, {"TRIAGE_PASSWORD": "secret"})


def test_a_reply_the_team_sent_becomes_the_next_drafts_answer(
    dovecot: Dovecot,
    imap_user: str,
    setup: tuple[Path, config_module.Config],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path, config = setup
    poll_at = poller(config, app.build_engine(config))
    jane = question(
        "<jane-1@example.org>",
        "Jane Doe <jane@example.org>",
        "Gift card balance",
        "Hi, how do I check the balance on my gift card? I got it with order NW-123456.\nThanks, Jane",
        ASKED,
    )
    append(dovecot, imap_user, "INBOX", jane)
    poll_at(ASKED + timedelta(minutes=5))
    (first,) = drafts(dovecot, imap_user)
    assert "[reviewer: the first step for the customer]" in first.get_content()  # nothing learned yet

    answer = f"{GIFT_CARDS} The card from order NW-123456 had £25.00 on it on 3 November."
    sent = ASKED + timedelta(hours=2)
    append(dovecot, imap_user, "Sent", team_reply(
        "Jane Doe <jane@example.org>", "<jane-1@example.org>", "Gift card balance",
        f"Hi Jane,\n\n{answer}\n\nKind regards,\nAlice\nNorthwind Support", sent,
    ))  # fmt: skip
    bob = question(
        "<bob-1@example.net>",
        "Bob Roe <bob@example.net>",
        "Balance of a gift card",
        "Hello, how can I check the balance left on my gift card?\nBob",
        ASKED + timedelta(days=1),
    )
    append(dovecot, imap_user, "INBOX", bob)
    poll_at(ASKED + timedelta(days=1, minutes=5))

    (to_bob,) = [d for d in drafts(dovecot, imap_user) if d["In-Reply-To"] == "<bob-1@example.net>"]
    body = to_bob.get_content()
    assert body.startswith("Hi Bob,")  # the template's frame around the team's words
    assert GIFT_CARDS in body and "you will hear back from me by" in body and "Did this solve it" in body
    assert (
        "NW-123456" not in body and "£25.00" not in body and "3 November" not in body and "Jane" not in body
    )
    assert "[reviewer: the order or reference number]" in body and "[reviewer: the amount]" in body
    assert "learned answer 1 from <jane-1@example.org>, similarity 0." in " ".join(to_bob["X-Triage"].split())

    assert main(["--config", str(config_path), "show", "<bob-1@example.net>"]) == 0
    assert "answer  learned answer 1 from <jane-1@example.org>, similarity" in capsys.readouterr().out

    # the reviewer fills in Bob's details and sends it; the answer has now been sent twice
    filled = body.replace("[reviewer: the order or reference number]", "NW-777777")
    filled = filled.replace("[reviewer: the amount]", "£40.00").replace("[reviewer: the date]", "12 November")
    append(dovecot, imap_user, "Sent", team_reply(
        "Bob Roe <bob@example.net>", "<bob-1@example.net>", "Balance of a gift card", filled,
        ASKED + timedelta(days=1, hours=1),
    ))  # fmt: skip
    poll_at(ASKED + timedelta(days=1, hours=2))
    assert main(["--config", str(config_path), "answers"]) == 0
    listed = capsys.readouterr().out
    assert "    1     2  2026-11-17  0 / 1 / 0 / 0" in listed  # sent twice; its draft lightly edited
    assert "asked: Gift card balance Hi, how do I check the balance on my gift card?" in listed

    assert main(["--config", str(config_path), "report", "--week", "2026-W47"]) == 0
    assert "small_fix (learned answer): 0 / 1 / 0 / 0" in capsys.readouterr().out

    assert main(["--config", str(config_path), "answers", "--pin", "1"]) == 0
    (pinned,) = [fix for fix in read_fixes(config.templates_dir) if fix.examples]
    assert pinned.answer.startswith(GIFT_CARDS) and len(pinned.examples) == 2
    with Store(config.database) as store:
        proposal = (
            app.build_engine(config)
            .answers.index(store, app.mailbox_name(config))
            .propose([parse(bob, ASKED)])[0]
        )
    assert proposal is not None and proposal.kind == "curated"  # the pinned copy takes its place
    assert main(["--config", str(config_path), "answers", "--pin", "1"]) == 1  # once is enough


@pytest.mark.parametrize("quoting", [True, False], ids=["reply quotes the question", "reply quotes nothing"])
def test_the_first_start_learns_the_history_already_in_sent(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, setup: tuple[Path, config_module.Config], quoting: bool
) -> None:
    config_path, _ = setup
    settings = yaml.safe_load(config_path.read_text())
    settings["mailbox"]["only_since"] = "2026-11-01"  # limits what is drafted, not what is learned
    config_path.write_text(yaml.safe_dump(settings))
    config = config_module.load(config_path, {"TRIAGE_PASSWORD": "secret"})
    month_ago = ASKED - timedelta(days=30)
    old = question("<old-1@example.org>", "Ann Lee <ann@example.org>", "Gift card",
                   "How do I check my gift card balance?", month_ago)  # fmt: skip
    append(dovecot, imap_user, "INBOX", old, month_ago)
    quote = f"\n\nOn {format_datetime(month_ago)}, Ann Lee <ann@example.org> wrote:\n> How do I check my gift card balance?"
    append(dovecot, imap_user, "Sent", team_reply(
        "Ann Lee <ann@example.org>", "<old-1@example.org>", "Gift card",
        f"Hi Ann,\n\n{GIFT_CARDS}\n\nBest,\nAlice{quote if quoting else ''}",
        month_ago + timedelta(hours=1),
    ))  # fmt: skip
    append(dovecot, imap_user, "INBOX", question(
        "<new-1@example.net>", "Bob Roe <bob@example.net>", "Gift card balance",
        "Hello, how can I check the balance on my gift card?", ASKED,
    ))  # fmt: skip
    poller(config, app.build_engine(config))(ASKED + timedelta(minutes=5))
    (draft,) = drafts(dovecot, imap_user)  # the old question is skipped (only_since), not drafted
    assert draft["In-Reply-To"] == "<new-1@example.net>"
    assert GIFT_CARDS in draft.get_content() and "Ann" not in draft.get_content()
