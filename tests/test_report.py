"""The weekly inbox-health report on the demo mailbox: figures, text, HTML email with inline charts."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest

from tests.conftest import REPO
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
    assert message["Subject"] == "Inbox health, week 2026-W47"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Answered                                              4" in text
    assert "First response, median" in text and "2.6 h" in text
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    attached = {
        part["Content-ID"].strip("<>") for part in message.walk() if part.get_content_type() == "image/png"
    }
    assert len(referenced) == 2 and referenced == attached
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
    assert html.count("data:image/png;base64,") == 2 and "cid:" not in html


def test_a_bad_week_is_a_clear_error(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(demo_config), "report", "--week", "last week"]) == 2
    assert "--week" in capsys.readouterr().err
