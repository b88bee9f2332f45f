"""The README's first command, and the small CLI commands around it."""

from __future__ import annotations

import ast
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
    from triage.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"triage {name}" in readme, name


LAYERS = {
    "domain": 0,
    "errors": 0,
    "ports": 0,
    "config": 1,
    "imap_inbox": 1,
    "maildir_inbox": 1,
    "store": 1,
    "smtp_outbox": 1,
    "model_store": 2,
    "datasets": 1,
    "logs": 1,
    "progress": 1,
    "parsing": 2,
    "screening": 2,
    "classifier": 2,
    "drafting": 2,
    "decisions": 2,
    "routing": 2,
    "briefs": 2,
    "evaluation": 2,
    "metrics": 2,
    "reporting": 2,
    "fires": 2,
    "charts": 2,
    "report_mail": 2,
    "pipeline": 3,
    "training": 3,
    "app": 4,
    "daemon": 4,
    "doctor": 4,
    "wizard": 4,
    "prometheus": 4,
    "cli": 5,
    "commandline": 1,
    "entry": 6,
    "__main__": 6,
    "__init__": 0,
}
PURE = (
    "parsing",
    "screening",
    "classifier",
    "drafting",
    "decisions",
    "evaluation",
    "metrics",
    "reporting",
    "fires",
    "routing",
    "briefs",
)
IMPURE_MODULES = {"os", "socket", "sqlite3", "subprocess", "imapclient", "smtplib", "pathlib", "time"}


def test_every_module_has_a_layer() -> None:
    assert {path.stem for path in (REPO / "triage").glob("*.py")} == set(LAYERS)


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_modules_import_only_from_layers_below(module: str) -> None:
    tree = ast.parse((REPO / "triage" / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "triage" and len(parts) > 1 and parts[1] in LAYERS:
                assert LAYERS[parts[1]] <= LAYERS[module] or parts[1] == module, (
                    f"{module} imports {parts[1]}"
                )
                if module in PURE:
                    assert parts[1] not in {"store", "imap_inbox", "maildir_inbox", "app", "config"}
            if module in PURE:
                assert parts[0] not in IMPURE_MODULES, f"pure module {module} imports {name}"


def test_every_command_runs_a_handler_that_exists() -> None:
    from triage import cli
    from triage.commandline import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert callable(getattr(cli, sub.get_default("handler"))), name


def test_help_does_not_load_the_model_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom triage.entry import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sklearn', 'skops', 'matplotlib', 'mailparser') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "[]"
