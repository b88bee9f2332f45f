"""Escalations reach their owner with the facts and are followed up until solved."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import Dovecot, SmtpServer
from tests.test_imap_end_to_end import drafts, poller, write_config
from triage import app
from triage import config as config_module
from triage.cli import main
from triage.domain import Action, Classification, Decision, Label, Owner
from triage.mail.parsing import parse
from triage.pipeline.follow_up import open_cases
from triage.replies.briefs import Case, FollowUpPolicy, compose_brief, due_reminder
from triage.replies.facts import find_numbers, find_phones, gather_facts
from triage.state.store import Store

RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
PRIYA = Owner("Priya Shah", "priya@northwind.example", "payments lead")
LEAD = Owner("Sam Okafor", "sam@northwind.example", "team lead")
TEAM = Owner("Northwind Support", "support@northwind.example")

CHARGEBACK = (
    b"From: Jane Doe <jane.doe@example.org>\r\nTo: support@northwind.example\r\n"
    b"Subject: Charged twice for order NW-48213\r\nMessage-ID: <charged-1@example.org>\r\n"
    b"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\n\r\n"
    b"Hello,\r\n\r\nYou charged my card twice for order NW-48213 on 14/11/2026. If this is not refunded\r\n"
    b"this week I will file a chargeback with my bank.\r\n\r\nJane Doe\r\nAccount no. 99812\r\n"
    b"Mobile: +44 7700 900123\r\n"
)


def test_the_facts_come_from_the_headers_the_text_and_the_signature() -> None:
    message = parse(CHARGEBACK, RECEIVED)
    decision = Decision(Action.DRAFT, "rule keyword chargeback", Classification(Label.ESCALATION, 1.0, "m"))
    facts = gather_facts(message, decision, RECEIVED + timedelta(hours=4))
    assert (facts.customer_name, facts.customer_address) == ("Jane Doe", "jane.doe@example.org")
    assert facts.phones == ("+44 7700 900123",)
    assert facts.numbers == ("order NW-48213", "account 99812")
    assert facts.received_at == RECEIVED and facts.why == "rule keyword chargeback"
    assert "file a chargeback" in facts.text
    assert type(facts).from_json(facts.to_json()) == facts


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("call me on (555) 123-4567 after 5", ("(555) 123-4567",)),
        ("tel +1-555-123-4567", ("+1-555-123-4567",)),
        ("it broke on 14/11/2026 at 10:30", ()),  # a date is not a phone number
        ("order 12345 costs 49.99", ()),  # too few digits
    ],
)
def test_phone_numbers_are_found_and_dates_are_not(text: str, phones: tuple[str, ...]) -> None:
    assert find_phones(text) == phones


def test_order_and_ticket_references_need_a_digit() -> None:
    assert find_numbers("Order #A-1234, invoice: INV-2231, ticket 5531, see #88812") == (
        "order A-1234",
        "invoice INV-2231",
        "ticket 5531",
        "#88812",
    )
    assert find_numbers("my order status and account settings") == ()


def test_the_brief_has_every_fact_the_timeline_why_and_what_the_customer_was_told() -> None:
    message = parse(CHARGEBACK, RECEIVED)
    decision = Decision(Action.DRAFT, "rule keyword chargeback", Classification(Label.ESCALATION, 1.0, "m"))
    facts = gather_facts(message, decision, RECEIVED + timedelta(hours=2))
    from triage.replies.briefs import TimelineEntry

    timeline = [TimelineEntry(RECEIVED, "Jane Doe wrote: Charged twice for order NW-48213")]
    brief = compose_brief(facts, PRIYA, TEAM, timeline, "Dear Jane, I am sorry ...", "Europe/London")
    assert brief.to == "Priya Shah <priya@northwind.example>"
    assert (
        brief.subject == "Escalation for Priya Shah: Charged twice for order NW-48213 (jane.doe@example.org)"
    )
    for fact in (
        "Received: Mon 16 Nov 2026, 09:00 (Europe/London)",
        "Customer: Jane Doe <jane.doe@example.org>",
        "Phone: +44 7700 900123",
        "Order / account numbers: order NW-48213, account 99812",
        "Subject: Charged twice for order NW-48213",
        "I will file a chargeback",
        "rule keyword chargeback",
        "Mon 16 Nov 2026, 09:00 (Europe/London): Jane Doe wrote: Charged twice",
        "Dear Jane, I am sorry ...",
        "by Mon 16 Nov 2026, 11:00 (Europe/London)",
        "triage resolve '<charged-1@example.org>'",
    ):
        assert fact in brief.text


def case(
    state: str = "open", reminders: int = 0, last: datetime | None = None, label: str = "escalation"
) -> Case:
    return Case(
        "<c@x>",
        label,
        "Charged twice",
        "jane@x.example",
        PRIYA,
        RECEIVED,
        RECEIVED,
        state,
        RECEIVED,
        reminders,
        last,
    )


POLICY = FollowUpPolicy({"escalation": 4.0, "complaint": 24.0}, 72.0, LEAD, 2)


def test_reminders_go_to_the_owner_at_the_interval_then_to_the_team_lead() -> None:
    assert due_reminder(case(), RECEIVED + timedelta(hours=3, minutes=59), POLICY, TEAM) is None
    first = due_reminder(case(), RECEIVED + timedelta(hours=4), POLICY, TEAM)
    assert first is not None and (first.number, first.to, first.cc) == (
        1,
        "Priya Shah <priya@northwind.example>",
        None,
    )
    at = RECEIVED + timedelta(hours=4)
    assert due_reminder(case(reminders=1, last=at), at + timedelta(hours=3), POLICY, TEAM) is None
    second = due_reminder(case(reminders=1, last=at), at + timedelta(hours=4), POLICY, TEAM)
    assert second is not None and second.to.startswith("Priya")
    third = due_reminder(
        case(reminders=2, last=at + timedelta(hours=4)), at + timedelta(hours=8), POLICY, TEAM
    )
    assert third is not None and third.number == 3
    assert (third.to, third.cc) == (
        "Sam Okafor <sam@northwind.example>",
        "Priya Shah <priya@northwind.example>",
    )
    assert "comes to you as team lead" in third.text


def test_while_the_customer_owes_an_answer_the_owner_is_nudged_less_often() -> None:
    waiting = case(state="waiting_on_customer")
    assert due_reminder(waiting, RECEIVED + timedelta(hours=71), POLICY, TEAM) is None
    nudge = due_reminder(waiting, RECEIVED + timedelta(hours=72), POLICY, TEAM)
    assert nudge is not None and "Chase the customer" in nudge.text


def test_complaints_have_their_own_interval_and_zero_means_never() -> None:
    assert due_reminder(case(label="complaint"), RECEIVED + timedelta(hours=23), POLICY, TEAM) is None
    assert due_reminder(case(label="complaint"), RECEIVED + timedelta(hours=24), POLICY, TEAM) is not None
    never = FollowUpPolicy({"escalation": 0.0}, 0.0, None, 2)
    assert due_reminder(case(), RECEIVED + timedelta(days=30), never, TEAM) is None


# ---- end to end: Dovecot for the mailbox, aiosmtpd for the owner's mail ----------------------


def escalation_config(
    tmp_path: Path, dovecot: Dovecot, user: str, smtp: SmtpServer | None, deliver: str = "email"
) -> config_module.Config:
    path = write_config(
        tmp_path,
        dovecot,
        user,
        team={"timezone": "Europe/London"},
        rules={"escalation_keywords": ["chargeback", "lawyer"]},
        routing={
            "deliver": deliver,
            "default_owner": {"name": "Dana Reyes", "address": "dana@northwind.example", "role": "care lead"},
            "routes": [
                {
                    "name": "payments",
                    "keywords": ["chargeback", "charged twice", "refund"],
                    "owner": {"name": PRIYA.name, "address": PRIYA.address, "role": PRIYA.role},
                    "reply_within_hours": 2,
                }
            ],
            "team_lead": {"name": LEAD.name, "address": LEAD.address},
            "lead_after_reminders": 2,
        },
        report={"smtp_url": f"smtp://127.0.0.1:{smtp.port if smtp else 9}", "ca_file": str(smtp.ca_file)}
        if smtp
        else {},
    )
    return config_module.load(path, {"TRIAGE_PASSWORD": "secret"})


def received_mail(smtp: SmtpServer) -> list[EmailMessage]:
    return [email.message_from_bytes(data, policy=email.policy.default) for data in smtp.received]


def test_an_escalation_reaches_its_owner_with_the_facts_and_is_followed_up_until_resolved(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = dovecot.client(imap_user)
    client.append("INBOX", CHARGEBACK)
    client.logout()
    config = escalation_config(tmp_path, dovecot, imap_user, smtp_server)
    poll_at = poller(config, app.build_engine(config))

    poll_at(RECEIVED + timedelta(minutes=5))
    # the customer's draft says who has it now and when they will hear back (the route's 2 hours)
    (holding,) = drafts(dovecot, imap_user)
    body = holding.get_content()
    assert "Priya Shah, our payments lead" in body and "11:05 (Europe/London) on Monday 16 November" in body
    # the owner has the brief, with every fact
    (brief,) = received_mail(smtp_server)
    assert brief["To"] == "Priya Shah <priya@northwind.example>"
    text = brief.get_content()
    for fact in (
        "Received: Mon 16 Nov 2026, 09:00 (Europe/London)",
        "Customer: Jane Doe <jane.doe@example.org>",
        "Phone: +44 7700 900123",
        "order NW-48213, account 99812",
        "Subject: Charged twice for order NW-48213",
        "file a chargeback with my bank",
        "rule",
        "Jane Doe <jane.doe@example.org> wrote: Charged twice",
        "passed it to Priya Shah",
        "Priya Shah, our payments lead",  # what the customer was told: the draft's text
        "by Mon 16 Nov 2026, 11:05 (Europe/London)",
    ):
        assert fact in text, fact
    assert drafts(dovecot, imap_user, "brief") == [], "emailed, so not also saved to Drafts"

    # reminders on a controlled clock: owner, owner, then the team lead with the owner in Cc
    for hours in (1, 3):
        poll_at(RECEIVED + timedelta(hours=hours))
    assert len(smtp_server.received) == 1
    for later in (4.2, 8.3, 12.4):
        poll_at(RECEIVED + timedelta(hours=later))
    reminders = received_mail(smtp_server)[1:]
    assert [m["To"] for m in reminders] == [
        "Priya Shah <priya@northwind.example>",
        "Priya Shah <priya@northwind.example>",
        "Sam Okafor <sam@northwind.example>",
    ]
    assert reminders[2]["Cc"] == "Priya Shah <priya@northwind.example>"
    assert [m["Subject"].split(":")[0] for m in reminders] == ["Reminder 1", "Reminder 2", "Reminder 3"]

    # triage open and the weekly report show it with owner and state
    capsys.readouterr()
    assert (
        main(["--config", str(config.source), "open", "--now", (RECEIVED + timedelta(hours=13)).isoformat()])
        == 0
    )
    line = next(line for line in capsys.readouterr().out.splitlines() if "charged-1" in line)
    assert "escalation" in line and "open" in line and "Priya Shah" in line and "13.0 h" in line
    report = app.weekly_report(config, "2026-W47", RECEIVED + timedelta(hours=13))
    assert (
        "Charged twice for order NW-48213 (jane.doe@example.org); Priya Shah, waiting on us, 3 reminders"
        in (report.text)
    )

    # the team answers: waiting on the customer, so no reminder for 72 h
    client = dovecot.client(imap_user)
    client.create_folder("Sent")
    client.append(
        "Sent",
        b"From: support@northwind.example\r\nTo: jane.doe@example.org\r\nSubject: Re: Charged twice\r\n"
        b"Message-ID: <answer-1@northwind.example>\r\nIn-Reply-To: <charged-1@example.org>\r\n"
        b"Date: Mon, 16 Nov 2026 22:00:00 +0000\r\n\r\nThe second charge is refunded; 3-5 days to show.\r\n",
        flags=(b"\\Seen",),
    )
    client.logout()
    poll_at(RECEIVED + timedelta(hours=14))
    poll_at(RECEIVED + timedelta(hours=40))
    assert len(smtp_server.received) == 4
    (state,) = open_cases(Store(config.database), app.mailbox_name(config))
    assert state.state == "waiting_on_customer"

    # resolved in a mail client: no more reminders, ever, and nothing open
    client = dovecot.client(imap_user)
    client.select_folder("INBOX")
    client.add_flags(client.search(["ALL"]), [b"triage_resolved"])
    client.logout()
    poll_at(RECEIVED + timedelta(hours=41))
    poll_at(RECEIVED + timedelta(days=10))
    assert len(smtp_server.received) == 4
    assert open_cases(Store(config.database), app.mailbox_name(config)) == []


def test_with_deliver_draft_the_brief_waits_in_drafts_once(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    client = dovecot.client(imap_user)
    client.append("INBOX", CHARGEBACK)
    client.logout()
    config = escalation_config(tmp_path, dovecot, imap_user, None, deliver="draft")
    poll_at = poller(config, app.build_engine(config))
    poll_at(RECEIVED + timedelta(minutes=5))
    poll_at(RECEIVED + timedelta(minutes=10))
    (brief,) = drafts(dovecot, imap_user, "brief")
    assert brief["To"] == "Priya Shah <priya@northwind.example>"
    assert "Phone: +44 7700 900123" in brief.get_content()
    assert len(drafts(dovecot, imap_user)) == 1, "and the customer's draft beside it"


def test_a_brief_that_cannot_be_sent_is_retried_on_the_next_poll(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    client = dovecot.client(imap_user)
    client.append("INBOX", CHARGEBACK)
    client.logout()
    config = escalation_config(tmp_path, dovecot, imap_user, smtp_server)
    down = config.settings.model_copy(
        update={"report": config.settings.report.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})}
    )
    poll_at = poller(config, app.build_engine(config_module.Config(**{**vars(config), "settings": down})))
    poll_at(RECEIVED + timedelta(minutes=5))  # SMTP unreachable: logged, not recorded
    assert smtp_server.received == []
    poller(config, app.build_engine(config))(RECEIVED + timedelta(minutes=10))
    assert len(smtp_server.received) == 1 and "Escalation for Priya Shah" in str(
        received_mail(smtp_server)[0]["Subject"]
    )


def test_a_burst_of_the_same_problem_in_the_mailbox_is_one_cluster_in_the_report(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    client = dovecot.client(imap_user)
    burst = [
        "The app crashes when I tap Pay at checkout",
        "app crashed at checkout when paying, twice now",
        "Checkout crashes the app as soon as I pay",
        "Every time I press pay at checkout the app crashes",
    ]
    for i, text in enumerate(burst):
        client.append(
            "INBOX",
            f"From: C{i} <c{i}@x.example>\r\nTo: support@northwind.example\r\nSubject: App problem {i}\r\n"
            f"Message-ID: <crash{i}@x.example>\r\nDate: Wed, 18 Nov 2026 1{i}:00:00 +0000\r\n\r\n{text}\r\n".encode(),
        )
    client.append(
        "INBOX",
        b"From: Z <z@x.example>\r\nTo: support@northwind.example\r\nSubject: Invoice address\r\n"
        b"Message-ID: <other@x.example>\r\nDate: Wed, 18 Nov 2026 16:00:00 +0000\r\n\r\n"
        b"Please change the address on my invoice to our new office.\r\n",
    )
    client.logout()
    config = escalation_config(tmp_path, dovecot, imap_user, None, deliver="off")
    poller(config, app.build_engine(config))(datetime(2026, 11, 18, 17, 0, tzinfo=UTC))
    report = app.weekly_report(config, "2026-W47", datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    fires = [line for line in report.text.splitlines() if "messages, Wed" in line]
    assert fires == ["  4 messages, Wed 10:00 to Wed 13:00: App problem 0; App problem 1; App problem 2"]
