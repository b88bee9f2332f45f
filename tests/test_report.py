"""The weekly inbox-health report on the demo mailbox: figures, text, HTML email with inline charts."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import REPO, Dovecot
from tests.test_imap_end_to_end import write_config
from triage.cli import main

NOW = "2026-11-23T08:00:00+00:00"


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    config = tmp_path / "config.yaml"
    config.write_text(
        f"mailbox: {{url: 'maildir://{tmp_path / 'demo' / 'mailbox'}'}}\n"
        f"state: {{database: '{tmp_path / 'demo' / 'state.sqlite3'}'}}\n"
        f"classifier: {{model_dir: '{REPO / 'models'}'}}\n"
        "team: {name: Northwind Support, address: support@northwind.example, timezone: Europe/London}\n"
    )
    return config


def test_the_report_email_has_text_html_and_every_chart_it_references(
    demo_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = tmp_path / "report.eml"
    assert (
        main(["--config", str(demo_config), "report", "--week", "2026-W47", "--eml", str(eml), "--now", NOW])
        == 0
    )
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Inbox health, Northwind Support, week 2026-W47"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Answered                                              4" in text
    assert "First response, median" in text and "2 h 36 min" in text
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    attached = {
        part["Content-ID"].strip("<>") for part in message.walk() if part.get_content_type() == "image/png"
    }
    assert len(referenced) == 3 and referenced == attached
    assert "http" not in html  # no external images


def test_a_week_without_mail_gives_a_sensible_report(
    demo_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--config", str(demo_config), "report", "--week", "2026-W40", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "No customer mail arrived this week." in out
    assert re.search(r"First response, median\s+-\s+-", out)


def test_the_html_file_is_self_contained(demo_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert (
        main(["--config", str(demo_config), "report", "--week", "2026-W47", "--out", str(out), "--now", NOW])
        == 0
    )
    html = out.read_text()
    assert html.count("data:image/png;base64,") == 3 and "cid:" not in html


def test_a_bad_week_is_a_clear_error(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(demo_config), "report", "--week", "last week"]) == 2
    assert "--week" in capsys.readouterr().err


def with_smtp(config: Path, port: int, ca_file: Path | None) -> None:
    text = config.read_text()
    ca = f", ca_file: '{ca_file}'" if ca_file else ""
    config.write_text(
        text
        + f"report: {{recipients: [manager@northwind.example], smtp_url: 'smtp://127.0.0.1:{port}'{ca}}}\n"
    )


def test_the_report_is_sent_over_starttls_once_per_week(
    demo_config: Path,
    smtp_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    with_smtp(demo_config, smtp_server.port, smtp_server.ca_file)
    send = ["--config", str(demo_config), "report", "--week", "2026-W47", "--send", "--now", NOW]
    assert main(send) == 0
    assert len(smtp_server.received) == 1
    message = email.message_from_bytes(smtp_server.received[0], policy=email.policy.default)
    assert message["To"] == "manager@northwind.example"
    html = message.get_body(("html",)).get_content()
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    attached = {
        part["Content-ID"].strip("<>") for part in message.walk() if part.get_content_type() == "image/png"
    }
    assert referenced == attached and len(attached) == 3
    assert "Answered" in message.get_body(("plain",)).get_content()

    assert main(send) == 0
    assert "already sent" in capsys.readouterr().out
    assert len(smtp_server.received) == 1
    assert main([*send, "--force"]) == 0
    assert len(smtp_server.received) == 2


def test_an_smtp_server_with_an_unknown_certificate_is_refused(
    demo_config: Path,
    smtp_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    with_smtp(demo_config, smtp_server.port, None)
    assert main(["--config", str(demo_config), "report", "--week", "2026-W47", "--send", "--now", NOW]) == 4
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
    assert smtp_server.received == []


def test_the_daemon_schedules_the_weekly_report_and_a_failure_does_not_stop_it(
    demo_config: Path,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    from triage import app
    from triage import config as config_module
    from triage.app.logs import RedactSecrets
    from triage.cli.reports import scheduled_report
    from triage.daemon import Daemon

    with_smtp(demo_config, smtp_server.port, smtp_server.ca_file)
    config = config_module.load(demo_config, {})

    def broken() -> str:
        raise OSError("smtp down")

    daemon = Daemon(
        lambda: app.open_inbox(config, {}, RedactSecrets()),
        app.open_store(config),
        app.build_engine(config),
        app.utc_now,
        60,
        False,
        1,
        1,
        10,
        weekly_report=("monday", "08:00", broken),
    )
    daemon.schedule_jobs()
    weekly = [job for job in daemon.scheduler.get_jobs() if job.start_day == "monday"]
    assert len(weekly) == 1 and str(weekly[0].at_time) == "08:00:00"
    daemon.send_report()  # logs, does not raise
    daemon.weekly_report = ("monday", "08:00", lambda: scheduled_report(config))
    daemon.send_report()
    assert len(smtp_server.received) == 1


def test_export_writes_one_row_per_conversation_as_csv_and_json(demo_config: Path, tmp_path: Path) -> None:
    import csv
    import json

    out = tmp_path / "export.csv"
    assert main(["--config", str(demo_config), "export", "--since", "2026-11-16", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 27
    harriet = next(r for r in rows if r["customer"] == "harriet.cole@gmail.example")
    assert (harriet["messages"], harriet["replies"], harriet["first_response_hours"]) == ("2", "1", "30.29")
    assert harriet["first_response_business_hours"] == "13.5"  # Mon 08:12 to Tue 14:30, London = UTC in Nov
    assert (
        main(
            [
                "--config",
                str(demo_config),
                "export",
                "--since",
                "2026-11-16",
                "--format",
                "json",
                "--out",
                str(tmp_path / "export.json"),
            ]
        )
        == 0
    )
    assert len(json.loads((tmp_path / "export.json").read_text())) == 27
    assert main(["--config", str(demo_config), "export", "--since", "2026-11-21", "--out", str(out)]) == 0
    assert out.read_text().strip() == "conversation"


def test_prometheus_metrics_are_served_after_a_poll(demo_config: Path) -> None:
    import urllib.request

    from tests.conftest import free_port
    from triage import app
    from triage import config as config_module
    from triage.adapters.prometheus import PollMetrics
    from triage.app.logs import RedactSecrets
    from triage.daemon import Daemon

    config = config_module.load(demo_config, {})
    metrics = PollMetrics(app.mailbox_name(config))
    port = free_port()
    metrics.serve(port)
    daemon = Daemon(
        lambda: app.open_inbox(config, {}, RedactSecrets()),
        app.open_store(config),
        app.build_engine(config),
        app.utc_now,
        60,
        False,
        1,
        1,
        10,
        metrics=metrics,
    )
    assert daemon.poll_once() is not None
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for name in (
        "triage_open_conversations",
        "triage_oldest_open_hours",
        "triage_poll_duration_seconds",
        "triage_last_successful_poll_timestamp_seconds",
    ):
        assert name in body
    assert 'triage_open_conversations{mailbox="maildir:' in body


def test_a_burst_of_the_same_problem_is_what_we_learned_with_the_reply_that_solved_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maildir = tmp_path / "m"
    for folder in (maildir, maildir / ".Sent"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True)
    burst = [
        "The app crashes when I tap Pay at checkout",
        "app crashed at checkout when paying, twice now",
        "Checkout crashes the app as soon as I pay",
    ]
    for i, text in enumerate(burst):
        (maildir / "new" / f"{i}.m{i}.host").write_bytes(
            f"From: C{i} <c{i}@x.example>\nTo: support@northwind.example\nSubject: App problem\n"
            f"Message-ID: <crash{i}@x.example>\nDate: Wed, 18 Nov 2026 1{i}:00:00 +0000\n\n{text}\n".encode()
        )
    (maildir / ".Sent" / "cur" / "9.s.host:2,S").write_bytes(
        b"From: support@northwind.example\nTo: c0@x.example\nSubject: Re: App problem\n"
        b"Message-ID: <fix@northwind.example>\nIn-Reply-To: <crash0@x.example>\n"
        b"Date: Wed, 18 Nov 2026 15:00:00 +0000\n\nUpdate the app to 4.2.1, the checkout crash is fixed there.\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"mailbox: {{url: 'maildir://{maildir}'}}\nstate: {{database: '{tmp_path / 's.db'}'}}\n"
        f"classifier: {{model_dir: '{REPO / 'models'}'}}\nteam: {{address: support@northwind.example}}\n"
    )
    assert main(["--config", str(config), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "report", "--week", "2026-W47", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "3 messages, Wed 10:00 to Wed 12:00: App problem" in out
    assert "solved by: Update the app to 4.2.1, the checkout crash is fixed there." in out


def test_a_week_triage_never_watched_has_its_backlog_and_inbox_zero_days_from_the_mail(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def mail(
        sender: str, to: str, subject: str, when: str, mid: str, reply_to: str = "", body: str = ""
    ) -> bytes:
        thread = f"In-Reply-To: {reply_to}\r\nReferences: {reply_to}\r\n" if reply_to else ""
        return (
            f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n{thread}"
            f"Date: {when}\r\n\r\n{body or 'My order arrived broken and I would like it replaced.'}\r\n"
        ).encode()

    team = "support@northwind.example"
    customers = [  # (who, arrived, answered from Sent or None) in 2025-W10, Monday 3 March
        ("ann", "Mon, 03 Mar 2025 09:00:00 +0000", "Mon, 03 Mar 2025 11:00:00 +0000"),
        ("bob", "Tue, 04 Mar 2025 09:00:00 +0000", "Thu, 06 Mar 2025 10:00:00 +0000"),
        ("cat", "Wed, 05 Mar 2025 10:00:00 +0000", "Wed, 05 Mar 2025 16:00:00 +0000"),
        ("dan", "Fri, 07 Mar 2025 15:00:00 +0000", None),  # still waiting at the week's end
    ]
    client = dovecot.client(imap_user)
    client.create_folder("Sent")
    for who, arrived, answered in customers:
        mid = f"<{who}-1@customer.example>"
        sent_at = datetime.strptime(arrived, "%a, %d %b %Y %H:%M:%S %z")
        client.append(
            "INBOX", mail(f"{who}@customer.example", team, f"Order of {who}", arrived, mid), msg_time=sent_at
        )
        if answered:
            reply = mail(
                team,
                f"{who}@customer.example",
                f"Re: Order of {who}",
                answered,
                f"<re-{who}@x>",
                mid,
                "Sorted.",
            )
            client.append("Sent", reply, msg_time=datetime.strptime(answered, "%a, %d %b %Y %H:%M:%S %z"))
    client.logout()
    config = write_config(tmp_path, dovecot, imap_user)
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    assert main(["--config", str(config), "run", "--once"]) == 0  # switched on months later
    capsys.readouterr()
    report = ["--config", str(config), "report", "--week", "2025-W10", "--now", "2025-12-01T08:00:00+00:00"]
    assert main(report) == 0
    out = capsys.readouterr().out
    waiting = {
        line.split()[0]: line.split()[6:]
        for line in out.splitlines()
        if re.match(r"  \w{3} \d\d \w{3} ", line)
    }
    assert waiting == {
        "Mon": ["1", "inbox", "zero"],
        "Tue": ["1", "inbox", "zero"],  # nothing waited before Bob wrote
        "Wed": ["2"],  # Bob and Cat at once; Bob waited all day
        "Thu": ["1", "inbox", "zero"],  # Bob answered at 10:00
        "Fri": ["1", "inbox", "zero"],  # until Dan wrote at 15:00
        "Sat": ["1"],
        "Sun": ["1"],
    }
    assert "Inbox zero reached on: Mon, Tue, Thu, Fri" in out
    assert re.search(r"Waiting at week end\s+1 ", out)
    assert re.search(r"2 d 9 h\s+dan@customer.example: Order of dan", out)  # Friday 15:00 to Monday 00:00
