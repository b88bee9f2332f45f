"""Response-time figures on constructed timelines with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from triage.metrics.business_hours import BusinessHours
from triage.metrics.conversations import MailEvent, conversations
from triage.metrics.response import first_response_figures, how_long, percentile

MON = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday


def customer(
    mid: str, at: datetime, subject: str = "Order", who: str = "c@x.example", reply_to: str | None = None
) -> MailEvent:
    return MailEvent(mid, reply_to, (reply_to,) if reply_to else (), subject, who, at, from_team=False)


def team(mid: str, at: datetime, reply_to: str, who: str = "c@x.example") -> MailEvent:
    return MailEvent(mid, reply_to, (reply_to,), "Re: Order", who, at, from_team=True)


def test_threads_by_references_then_subject_and_customer() -> None:
    events = [
        customer("<a>", MON),
        team("<r1>", MON + timedelta(hours=1), "<a>"),
        customer("<b>", MON + timedelta(hours=2), reply_to="<r1>"),  # a follow-up by reference
        customer("<c>", MON + timedelta(hours=3), subject="RE: order"),  # same subject and customer
        customer("<d>", MON + timedelta(hours=4), subject="Order", who="other@x.example"),
    ]
    threads = {t.key: t for t in conversations(events)}
    assert [e.message_id for e in threads["<a>"].events] == ["<a>", "<r1>", "<b>", "<c>"]
    assert len(threads) == 2


def test_waiting_starts_at_the_oldest_unanswered_customer_message() -> None:
    events = [
        customer("<a>", MON),
        team("<r>", MON + timedelta(hours=1), "<a>"),
        customer("<b>", MON + timedelta(hours=5), reply_to="<r>"),
        customer("<c>", MON + timedelta(hours=6), reply_to="<b>"),
    ]
    [thread] = conversations(events)
    assert thread.waiting_since() == MON + timedelta(hours=5)


def test_first_response_median_p90_and_share_within_target() -> None:
    answered_after = [1, 2, 3, 4, 30]  # hours
    events: list[MailEvent] = []
    for i, hours in enumerate(answered_after):
        start = MON + timedelta(minutes=i)
        events += [
            customer(f"<m{i}>", start, subject=f"s{i}"),
            team(f"<r{i}>", start + timedelta(hours=hours), f"<m{i}>"),
        ]
    events.append(customer("<open>", MON, subject="never answered"))
    figures = first_response_figures(conversations(events), BusinessHours(), target_hours=24)
    assert (figures.conversations, figures.answered) == (6, 5)
    assert figures.median_hours == 3.0
    assert figures.p90_hours == 30.0
    assert figures.within_target == 0.8


def test_business_hours_skip_the_weekend_and_holidays() -> None:
    hours = BusinessHours("Europe/Berlin", holidays=frozenset({date(2026, 11, 23)}))
    friday_4pm = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    tuesday_10am = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Berlin; Monday is a holiday
    assert hours.between(friday_4pm, tuesday_10am) == timedelta(hours=2)
    assert hours.between(tuesday_10am, friday_4pm) == timedelta(0)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([5], 0.9) == 5


def test_status_on_the_demo_mailbox_reads_the_sent_folder(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import REPO
    from triage.cli import main

    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    config = tmp_path / "config.yaml"
    config.write_text(
        f"mailbox: {{url: 'maildir://{tmp_path / 'demo' / 'mailbox'}'}}\n"
        f"state: {{database: '{tmp_path / 'demo' / 'state.sqlite3'}'}}\n"
        f"classifier: {{model_dir: '{REPO / 'models'}'}}\n"
    )
    capsys.readouterr()
    assert main(["--config", str(config), "status", "--now", "2026-11-21T12:00:00+00:00"]) == 0
    out = capsys.readouterr().out
    # four replies in Sent: after 1.2 h, 2.33 h, 2.87 h and 30.29 h
    assert "answered in the last 7 days  4 of 27" in out
    assert "first response, median       2.6 h" in out
    assert "first response, p90          30.29 h" in out
    assert "answered within 24 h         75%" in out
    assert "open conversations           24" in out  # 27 threads, 4 answered, one customer wrote again


def test_a_waiting_conversation_is_at_risk_then_breached_by_its_class_target() -> None:
    from triage.metrics.conversations import sla_state

    escalation = MailEvent("<e>", None, (), "Fraud", "c@x.example", MON, False, "escalation")
    complaint = MailEvent("<c>", None, (), "Late", "d@x.example", MON, False, "complaint")
    targets = {"escalation": 4.0, "complaint": 24.0}
    threads = {t.key: t for t in conversations([escalation, complaint])}
    at = MON + timedelta(hours=3.5)
    assert sla_state(threads["<e>"], at, targets, 24, 0.75) == "at_risk"
    assert sla_state(threads["<c>"], at, targets, 24, 0.75) is None
    assert sla_state(threads["<e>"], MON + timedelta(hours=5), targets, 24, 0.75) == "breached"
    answered = conversations([escalation, team("<r>", MON + timedelta(hours=1), "<e>")])[0]
    assert sla_state(answered, MON + timedelta(hours=9), targets, 24, 0.75) is None


def test_draft_acceptance_compares_what_was_sent_with_the_draft() -> None:
    from triage.metrics.acceptance import acceptance, acceptance_by_template

    draft = "Dear Jo,\n\nI am sorry. Thank you for bringing this to my attention. We will call you by Monday."
    assert acceptance(draft, draft.replace("\n", " ")) == "sent as is"
    assert acceptance(draft, draft.replace("Monday", "Tuesday morning")) == "lightly edited"
    assert acceptance(draft, "Hi Jo, sorry about that. Refund issued today, Tom") in ("rewritten", "not used")
    assert acceptance(draft, "x") == "not used"
    table = acceptance_by_template([("complaint", draft, draft), ("complaint", draft, "x")])
    assert table["complaint"]["sent as is"] == 1 and table["complaint"]["not used"] == 1


def test_a_team_reply_that_lands_in_the_inbox_counts_as_a_reply(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import REPO
    from triage.cli import main
    from triage.metrics.conversations import conversations
    from triage.pipeline.threads import conversation_events
    from triage.state.store import Store

    maildir = tmp_path / "m"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.a.host").write_bytes(
        b"From: Jo <jo@x.example>\nTo: support@northwind.example\nSubject: Help\nMessage-ID: <q@x>\n"
        b"Date: Mon, 16 Nov 2026 09:00:00 +0000\n\nwhere is my parcel?\n"
    )
    (maildir / "new" / "2.b.host").write_bytes(
        b"From: Ben <ben@northwind.example>\nTo: jo@x.example\nCc: support@northwind.example\nSubject: Re: Help\n"
        b"Message-ID: <a@northwind.example>\nIn-Reply-To: <q@x>\nReferences: <q@x>\n"
        b"Date: Mon, 16 Nov 2026 10:30:00 +0000\n\nOn its way, arriving Tuesday.\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"mailbox: {{url: 'maildir://{maildir}'}}\nstate: {{database: '{tmp_path / 's.db'}'}}\n"
        f"classifier: {{model_dir: '{REPO / 'models'}'}}\n"
        "team: {address: support@northwind.example, own_addresses: [ben@northwind.example]}\n"
    )
    assert main(["--config", str(config), "run", "--once"]) == 0
    store = Store(tmp_path / "s.db")
    [thread] = conversations(conversation_events(store, f"maildir:{maildir}"))
    assert thread.first_response is not None and thread.first_response.message_id == "<a@northwind.example>"
    assert thread.waiting_since() is None


def test_a_promise_without_any_working_time_is_the_plain_target() -> None:
    never = BusinessHours(working_days=frozenset())
    assert never.promise(MON, 4) == MON + timedelta(hours=4)
    assert BusinessHours().promise(MON, 4) == MON + timedelta(hours=4)  # Monday 09:00 + 4 h: at work


def test_a_long_wait_reads_in_days_and_hours() -> None:
    assert how_long(5.24) == "5.2 h"
    assert how_long(47.9) == "47.9 h"
    assert how_long(156.9) == "6 d 13 h"  # not "156.9 h"
