"""The first hour and the long run: `triage init`, `triage doctor`, SIGHUP, sd_notify, only_since."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, Dovecot, SmtpServer, free_port
from tests.test_daemon import append, start_daemon, wait_for_drafts
from tests.test_imap_end_to_end import DEMO, drafts, write_config
from triage import config as config_module
from triage.cli import main
from triage.state.store import Store

UNIT = REPO / "triage" / "systemd" / "triage.service"


def init_args(dovecot: Dovecot, user: str, out: Path, *extra: str) -> list[str]:
    return [
        "init",
        "--address",
        "support@northwind.example",
        "--login",
        user,
        "--server",
        f"127.0.0.1:{dovecot.tls_port}",
        "--security",
        "tls",
        "--ca-file",
        str(dovecot.ca_file),
        "--team-name",
        "Northwind Support",
        "--report-to",
        "lead@northwind.example",
        "--smtp-url",
        "smtp://127.0.0.1:587",
        "--out",
        str(out),
        *extra,
    ]


def test_init_tests_the_login_finds_the_folders_and_writes_a_working_config(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    monkeypatch.delenv("TRIAGE_MAILBOX", raising=False)
    client = dovecot.client(imap_user)
    client.create_folder("Sent")  # SPECIAL-USE \\Sent in the test server's config
    client.create_folder("Drafts")
    client.append("INBOX", sorted(DEMO.glob("*.eml"))[0].read_bytes())
    client.logout()
    out = tmp_path / "config.yaml"
    assert main(init_args(dovecot, imap_user, out)) == 0
    said = capsys.readouterr().out
    assert "login ok; Drafts: Drafts; Sent: Sent" in said and "doctor" in said
    text = out.read_text()
    assert "secret" not in text, "the password is never written"
    assert "$TRIAGE_PASSWORD" in text
    config = config_module.load(out, {})
    assert config.mailbox.display() == f"imaps://{imap_user}@127.0.0.1:{dovecot.tls_port}/INBOX"
    assert (config.settings.mailbox.drafts_folder, config.settings.mailbox.sent_folder) == ("Drafts", "Sent")
    assert config.settings.report.recipients == ["lead@northwind.example"]
    # and it runs: one draft for the one message
    with out.open("a") as f:
        f.write(yaml.safe_dump({"state": {"database": str(tmp_path / "s.db")}}))
    assert main(["--config", str(out), "run", "--once"]) == 0
    assert len(drafts(dovecot, imap_user)) == 1


def test_init_without_a_terminal_names_what_is_missing_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "config.yaml"
    assert main(["init", "--out", str(out), "--no-check"]) == 2
    assert "'--address'" in capsys.readouterr().err
    out.write_text("mine\n")
    assert main(["init", "--address", "a@b.example", "--out", str(out), "--no-check"]) == 2
    assert out.read_text() == "mine\n"


def test_init_knows_gmail_and_microsoft_365(tmp_path: Path) -> None:
    out = tmp_path / "gmail.yaml"
    assert main(["init", "--address", "help@gmail.com", "--out", str(out), "--no-check"]) == 0
    assert config_module.load(
        out, {}
    ).mailbox.display() == "imaps://help%40gmail.com@imap.gmail.com:993/INBOX".replace("%40", "@")
    out = tmp_path / "m365.yaml"
    args = ["init", "--address", "help@outlook.com", "--auth", "xoauth2", "--token-command", "get-token"]
    assert main([*args, "--out", str(out), "--no-check"]) == 0
    m365 = config_module.load(out, {})
    assert m365.mailbox.host == "outlook.office365.com" and m365.settings.mailbox.auth == "xoauth2"


# ---- doctor: each broken setup caused for real ---------------------------------------------------


def doctor(config: Path, capsys: pytest.CaptureFixture[str], password: str = "secret") -> tuple[int, str]:
    os.environ["TRIAGE_PASSWORD"] = password
    try:
        capsys.readouterr()
        code = main(["--config", str(config), "doctor"])
        return code, capsys.readouterr().out
    finally:
        del os.environ["TRIAGE_PASSWORD"]


def test_doctor_passes_a_good_setup(
    dovecot: Dovecot,
    imap_user: str,
    tmp_path: Path,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = dovecot.client(imap_user)
    client.create_folder("Drafts")
    client.create_folder("Sent")
    client.logout()
    config = write_config(
        tmp_path,
        dovecot,
        imap_user,
        report={
            "smtp_url": f"smtp://127.0.0.1:{smtp_server.port}",
            "ca_file": str(smtp_server.ca_file),
            "recipients": ["l@x.example"],
        },
    )
    code, out = doctor(config, capsys)
    assert code == 0, out
    for check in (
        "config",
        "state database",
        "model",
        "templates",
        "reachable",
        "TLS and login",
        "watched folder",
        "keywords",
        "drafts folder",
        "sent folder",
        "IDLE",
        "clock",
        "SMTP",
    ):
        assert f"[ok  ] {check}:" in out, check


def test_doctor_on_a_fresh_mailbox_says_drafts_will_be_created_and_leaves_it_as_it_was(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = doctor(write_config(tmp_path, dovecot, imap_user), capsys)  # no Drafts, no Sent yet
    assert code == 0, out
    assert "[ok  ] drafts folder: 'Drafts' does not exist yet; `triage run` will create it" in out
    client = dovecot.client(imap_user)
    assert [name for _, _, name in client.list_folders()] == ["INBOX"]
    client.logout()


def test_doctor_fails_when_the_server_will_not_create_the_drafts_folder(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Courier-style name: this Dovecot's Maildir++ layout refuses "." in folder names
    config = write_config(tmp_path, dovecot, imap_user, mailbox={"drafts_folder": "INBOX.Drafts"})
    code, out = doctor(config, capsys)
    assert code == 1
    assert "[FAIL] drafts folder: 'INBOX.Drafts' does not exist and the server refuses to create it" in out
    assert "Character not allowed" in out and "fix: set mailbox.drafts_folder to one of 'INBOX'" in out


def test_doctor_explains_a_wrong_password(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = doctor(write_config(tmp_path, dovecot, imap_user), capsys, password="Wr0ng-pa55")
    assert code == 1
    assert "[FAIL] login:" in out and "fix: check the user in mailbox.url" in out
    assert "Wr0ng-pa55" not in out


def test_doctor_explains_a_missing_folder(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, dovecot, imap_user, mailbox={"url": dovecot.url(imap_user, "Support")})
    code, out = doctor(config, capsys)
    assert code == 1 and "[FAIL] watched folder: 'Support' does not exist" in out
    assert "'INBOX'" in out, "the fix lists the folders there are"


def test_doctor_explains_an_unreachable_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"mailbox": {"url": f"imaps://u@127.0.0.1:{port}/INBOX"}}))
    code, out = doctor(config, capsys)
    assert (
        code == 1
        and f"[FAIL] reachable: cannot reach 127.0.0.1:{port}" in out
        and "fix: check the host" in out
    )


def test_doctor_explains_a_bad_template(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "complaint.txt.j2").write_text("Dear {{ first_name }},\n{{ no_such_variable }}\n")
    config = write_config(tmp_path, dovecot, imap_user, drafting={"templates_dir": str(templates)})
    code, out = doctor(config, capsys)
    assert code == 1
    assert "[FAIL] templates:" in out and "complaint.txt.j2" in out and "no_such_variable" in out


def test_doctor_explains_a_config_error_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"mailbox": {"url": "imaps://u@h/INBOX", "batch_size": 0}}))
    code, out = doctor(config, capsys)
    assert code == 1 and "[FAIL] config:" in out and "mailbox.batch_size" in out


def test_doctor_explains_an_smtp_server_it_cannot_reach(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path,
        dovecot,
        imap_user,
        report={"smtp_url": f"smtp://127.0.0.1:{free_port()}", "recipients": ["l@x.example"]},
    )
    code, out = doctor(config, capsys)
    assert code == 1 and "[FAIL] SMTP:" in out


# ---- the daemon as a service ---------------------------------------------------------------------


def test_sighup_reloads_config_and_templates_and_a_broken_edit_keeps_the_old_one(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, dovecot, imap_user, daemon={"poll_interval_seconds": 600, "idle_timeout_seconds": 60}
    )
    daemon = start_daemon(config, tmp_path)
    try:
        wait_for_log(tmp_path / "daemon.log", "poll: seen=")  # signals before start-up would kill it
        settings = yaml.safe_load(config.read_text())
        settings["team"]["signature"] = "Kim, Northwind Support (after reload)"
        config.write_text(yaml.safe_dump(settings))
        daemon.send_signal(signal.SIGHUP)
        wait_for_log(tmp_path / "daemon.log", "config and templates reloaded")
        append(dovecot, imap_user, 0)
        assert wait_for_drafts(dovecot, imap_user, 1) == 1
        (draft,) = drafts(dovecot, imap_user)
        assert "Kim, Northwind Support (after reload)" in draft.get_content()
        config.write_text("mailbox: [this is not a mapping\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for_log(tmp_path / "daemon.log", "reload failed")
        append(dovecot, imap_user, 1)
        assert wait_for_drafts(dovecot, imap_user, 2) == 2, "still running on the previous config"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    log = (tmp_path / "daemon.log").read_text()
    assert (
        "config and templates reloaded" in log and "reload failed, still running the previous config" in log
    )


def wait_for_log(path: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log: {path.read_text() if path.exists() else ''}")


def test_the_daemon_tells_systemd_it_is_ready_reloading_and_stopping(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, dovecot, imap_user, daemon={"poll_interval_seconds": 600, "idle_timeout_seconds": 60}
    )
    path = f"/tmp/notify-{os.getpid()}-{time.monotonic_ns()}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(20)
    daemon = start_daemon(config, tmp_path, NOTIFY_SOCKET=path)
    try:
        assert listener.recv(256) == b"READY=1"
        daemon.send_signal(signal.SIGHUP)
        assert listener.recv(256) == b"RELOADING=1"
        assert listener.recv(256) == b"READY=1"
        daemon.send_signal(signal.SIGTERM)
        assert listener.recv(256) == b"STOPPING=1"
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        listener.close()
        os.unlink(path)


def test_under_systemd_the_state_database_goes_to_the_state_directory(tmp_path: Path) -> None:
    config = config_module.from_mapping(
        {"mailbox": {"url": "imaps://u@h/INBOX"}}, {"STATE_DIRECTORY": str(tmp_path)}, tmp_path
    )
    assert config.database == tmp_path / "state.sqlite3"


def test_only_mail_since_the_switch_on_date_is_drafted_older_mail_is_recorded_as_skipped(
    dovecot: Dovecot, imap_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    monkeypatch.delenv("TRIAGE_MAILBOX", raising=False)
    emls = sorted(DEMO.glob("*.eml"))
    client = dovecot.client(imap_user)
    client.append("INBOX", emls[0].read_bytes(), msg_time=datetime(2025, 12, 20, 10, 0, tzinfo=UTC))
    client.append("INBOX", emls[1].read_bytes(), msg_time=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    client.logout()
    config = write_config(tmp_path, dovecot, imap_user, mailbox={"only_since": "2026-11-01"})
    assert main(["--config", str(config), "run", "--once"]) == 0
    assert len(drafts(dovecot, imap_user)) == 1
    stored = sorted(Store(tmp_path / "state.sqlite3").messages(), key=lambda m: m.ref.uid)
    assert stored[0].outcome == "skipped"
    assert stored[0].reason == "arrived 2025-12-20, before mailbox.only_since 2026-11-01"
    assert stored[1].outcome != "skipped"


# ---- the unit file ------------------------------------------------------------------------------


def test_the_systemd_unit_runs_the_daemon_hardened() -> None:
    unit = UNIT.read_text()
    for line in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "StateDirectory=triage",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "RestartPreventExitStatus=2 3",
    ):
        assert line in unit, line
    assert " run" in next(line for line in unit.splitlines() if line.startswith("ExecStart="))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    exec_start = next(line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart="))
    binary = exec_start.removeprefix("ExecStart=").split()[0]
    unit = tmp_path / "triage.service"
    # verify wants the binary to exist: point it at this interpreter's triage
    unit.write_text(UNIT.read_text().replace(binary, shutil.which("triage") or sys.executable))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    errors = [
        line for line in result.stderr.splitlines() if "triage.service" in line and "Failed" not in line
    ]
    assert result.returncode == 0 or not errors, result.stderr


# ---- progress on long work ----------------------------------------------------------------------


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run triage with its stderr on a pseudo-terminal; what appeared there."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    process = subprocess.Popen(
        [sys.executable, "-m", "triage", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main_fd)
    return process.wait(timeout=60), seen.decode(errors="replace")


def test_eval_shows_progress_on_a_terminal_and_is_quiet_otherwise(tmp_path: Path) -> None:
    data = tmp_path / "dev.csv"
    rows = ["subject,body,label"] + [f"Order {i},my order {i} never arrived,complaint" for i in range(3000)]
    data.write_text("\n".join(rows) + "\n")
    code, shown = run_on_a_terminal(["--log-level", "ERROR", "eval", "--data", str(data)], tmp_path)
    assert code == 0 and "eval:" in shown and "/3000" in shown
    code, shown = run_on_a_terminal(
        ["--log-level", "ERROR", "--quiet", "eval", "--data", str(data)], tmp_path
    )
    assert code == 0 and "eval:" not in shown
    piped = subprocess.run(
        [sys.executable, "-m", "triage", "--log-level", "ERROR", "eval", "--data", str(data)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 0 and "eval:" not in piped.stderr and "macro-F1" in piped.stdout


def test_init_on_a_terminal_asks_for_what_is_missing_with_sensible_defaults() -> None:
    from triage.cli.wizard import Answers, complete, mailbox_url

    asked: list[str] = []

    def ask(question: str, default: str) -> str:
        asked.append(question)
        return {"the support mailbox's address (support@example.com)": "help@outlook.com"}.get(question, "")

    answers = complete(Answers(token_command="get-token"), ask)
    assert mailbox_url(answers) == "imaps://help%40outlook.com@outlook.office365.com:993/INBOX"
    assert answers.auth == "xoauth2", "Microsoft 365 needs OAuth: the default offered"
    assert answers.team_address == "help@outlook.com" and answers.team_name == "Support Team"
    assert any("weekly report" in q for q in asked)


def test_under_systemd_the_passwords_come_from_the_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text("imap-s3cret\n")
    (tmp_path / "smtp-password").write_text("smtp-s3cret\n")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert config_module.read_password(config_module.MailboxSettings(), environ) == "imap-s3cret"
    assert config_module.read_smtp_password(config_module.ReportSettings(), environ) == "smtp-s3cret"


def test_a_daemon_that_cannot_read_its_password_exits_with_the_config_error_code(
    dovecot: Dovecot, imap_user: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot, imap_user, mailbox={"password_file": str(tmp_path / "gone")})
    env = {k: v for k, v in os.environ.items() if k not in ("TRIAGE_PASSWORD", "TRIAGE_MAILBOX")}
    done = subprocess.run(
        [sys.executable, "-m", "triage", "--config", str(config), "run"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr  # systemd: RestartPreventExitStatus=2, shown as failed
    assert "mailbox.password_file" in done.stderr
