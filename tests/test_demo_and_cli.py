"""The README's first command, and the small CLI commands around it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from triage.cli import main

DEMO = REPO / "triage" / "demo_mailbox" / "INBOX"


def test_the_demo_mailbox_has_about_thirty_messages() -> None:
    assert 28 <= len(list(DEMO.glob("*.eml"))) <= 40


def test_demo_triages_the_bundled_mailbox_and_says_where_the_drafts_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    drafts = list((tmp_path / "demo" / "mailbox" / ".Drafts" / "cur").iterdir())
    assert len(drafts) >= 20
    assert str(tmp_path / "demo" / "mailbox" / ".Drafts" / "cur") in out
    for outcome in ("drafted", "skipped"):
        assert outcome in out
    # originals stay unread: no S in their Maildir info
    for original in (tmp_path / "demo" / "mailbox" / "cur").iterdir():
        assert "S" not in original.name.partition(":2,")[2]


def test_a_second_maildir_run_adds_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    drafts_dir = tmp_path / "demo" / "mailbox" / ".Drafts" / "cur"
    before = len(list(drafts_dir.iterdir()))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"mailbox: {{url: 'maildir://{tmp_path / 'demo' / 'mailbox'}'}}\n"
        f"team: {{address: support@northwind.example}}\n"
        f"state: {{database: '{tmp_path / 'demo' / 'state.sqlite3'}'}}\n"
        f"classifier: {{model_dir: '{REPO / 'models'}'}}\n"
        f"drafting: {{templates_dir: '{REPO / 'templates'}'}}\n"
    )
    assert main(["--config", str(config), "run", "--once"]) == 0
    assert "seen 0" in capsys.readouterr().out
    assert len(list(drafts_dir.iterdir())) == before


def test_maildir_keywords_use_dovecots_scheme(tmp_path: Path) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    keywords = (tmp_path / "demo" / "mailbox" / "dovecot-keywords").read_text().split()
    assert "triage_drafted" in keywords


def test_classify_prints_label_confidence_reason_and_draft(capsys: pytest.CaptureFixture[str]) -> None:
    eml = sorted(DEMO.glob("*.eml"))[0]
    assert main(["classify", str(eml), "--explain"]) == 0
    out = capsys.readouterr().out
    for field in ("action:", "label:", "confidence:", "reason:", "terms:", "--- draft to"):
        assert field in out


def test_triage_is_a_console_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "triage", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0 and "demo" in done.stdout


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    from triage.cli.commandline import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"triage {name}" in readme, name


def test_every_command_runs_a_handler_that_exists() -> None:
    from triage.cli.commandline import build_parser
    from triage.cli.dispatch import HANDLERS

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert callable(HANDLERS[sub.get_default("handler")]), name


def test_help_does_not_load_the_model_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom triage.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sklearn', 'skops', 'matplotlib', 'mailparser') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "[]"
