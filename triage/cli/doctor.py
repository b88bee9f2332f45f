"""`triage doctor`: check a setup end to end and say, for each problem, how to fix it.

Read-only on the mailbox but for one probe: a Drafts folder that does not exist yet (a fresh
mailbox) is created and, while still empty, deleted again, to check that `triage run` may
create it. Nothing is appended.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import imapclient
from imapclient.exceptions import IMAPClientError
from jinja2 import TemplateError

from triage import app
from triage import config as config_module
from triage.adapters import model_store, smtp_outbox
from triage.adapters.imap_inbox import connect, find_folder
from triage.app.logs import RedactSecrets
from triage.app.mailboxes import imap_access
from triage.config.loading import Config
from triage.domain import Action, Address, Classification, Decision, Label, Owner, ParsedMessage
from triage.errors import AuthenticationError, ConfigError, MailboxError, ModelError
from triage.replies.drafting import TEMPLATE_NAMES

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def diagnose(path: Path | None, environ: Mapping[str, str], mailbox: str | None = None) -> list[Finding]:
    """Every check, in the order a setup is built; later checks are skipped when a base fails."""
    try:
        config = config_module.load(path, environ, mailbox)
    except ConfigError as exc:
        return [
            Finding(
                "config",
                "fail",
                str(exc),
                f"edit {exc.key} in {path or 'config.yaml'}"
                " (every key is documented in the shipped config.yaml)",
            )
        ]
    findings = [Finding("config", "ok", f"{config.source or '(defaults)'} is valid")]
    findings += _state(config)
    findings.append(_model(config))
    findings.append(_templates(config))
    findings += _mailbox(config, environ)
    findings += _smtp(config, environ)
    return findings


def _state(config: Config) -> list[Finding]:
    """SQLite: the file is writable. PostgreSQL: see `cli/doctor_database.py`."""
    if not isinstance(config.database, Path):
        from triage.cli.doctor_database import database_findings  # which uses Finding from here

        return database_findings(config)
    try:
        with app.open_store(config) as store, store.transaction():
            pass
    except Exception as exc:
        return [
            Finding(
                "state database",
                "fail",
                f"{config.database}: {exc}",
                "set state.database to a file in a folder the triage user can write"
                " (systemd: StateDirectory)",
            )
        ]
    return [Finding("state database", "ok", f"{config.database} is writable")]


def _model(config: Config) -> Finding:
    try:
        classifier = model_store.load_active(config.model_dir, config.team_models)
    except ModelError as exc:
        return Finding(
            "model", "fail", str(exc), "reinstall triage, or `triage model use shipped`, or `triage train`"
        )
    return Finding("model", "ok", f"version {classifier.version} loads")


SAMPLE = ParsedMessage(
    message_id="<doctor@example.org>",
    in_reply_to=None,
    references=(),
    sender=Address("Sam Sample", "sam@example.org"),
    reply_to=None,
    to=("support@example.com",),
    cc=(),
    date=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    date_from_header=True,
    subject="Order 1234 arrived broken",
    text="Hello, my order arrived broken. Can you help?",
    new_text="Hello, my order arrived broken. Can you help?",
    attachments=(),
    headers=(),
)


def _templates(config: Config) -> Finding:
    name = "(loading)"
    try:
        drafter = app.build_drafter(config)
        now = datetime.now(UTC)
        for name in TEMPLATE_NAMES:
            label = Label(name) if name in Label.__members__.values() else None
            classification = Classification(label, 0.9, "doctor") if label else None
            drafter.render(
                SAMPLE, Decision(Action.DRAFT, "doctor", classification, name, Owner("Dana")), "k", now
            )
    except (ConfigError, TemplateError, ValueError, KeyError) as exc:
        where = config.templates_dir / f"{name}.txt.j2" if name != "(loading)" else config.templates_dir
        line = getattr(exc, "lineno", None)
        return Finding(
            "templates",
            "fail",
            f"{where}{f' line {line}' if line else ''}: {type(exc).__name__}: {exc}",
            "fix the template (variables: see the shipped templates/), or point drafting.templates_dir at"
            " a folder with all five",
        )
    return Finding("templates", "ok", f"{len(TEMPLATE_NAMES)} templates in {config.templates_dir} render")


def _mailbox(config: Config, environ: Mapping[str, str]) -> list[Finding]:
    url = config.mailbox
    if url.scheme == "maildir":
        assert url.path is not None
        missing = [sub for sub in ("cur", "new", "tmp") if not (url.path / sub).is_dir()]
        if missing:
            return [
                Finding(
                    "mailbox",
                    "fail",
                    f"{url.path} is not a Maildir (no {', '.join(missing)})",
                    "fix mailbox.url",
                )
            ]
        return [Finding("mailbox", "ok", f"Maildir {url.path}")]
    where = f"{url.host}:{url.port}"
    try:
        socket.create_connection((url.host, url.port), timeout=10).close()
    except OSError as exc:
        return [
            Finding(
                "reachable",
                "fail",
                f"cannot reach {where}: {exc.strerror or exc}",
                "check the host and port in mailbox.url (imaps is usually 993, imap with STARTTLS 143),"
                " and that a firewall lets this machine out",
            )
        ]
    findings = [Finding("reachable", "ok", where)]
    settings, secret = imap_access(config, environ, RedactSecrets())
    try:
        client = connect(settings, secret)
    except ConfigError as exc:
        return [
            *findings,
            Finding("login", "fail", str(exc), f"set ${config.password_env} or mailbox.password_file"),
        ]
    except AuthenticationError as exc:
        return [
            *findings,
            Finding(
                "login",
                "fail",
                str(exc),
                f"check the user in mailbox.url ({url.user}) and the password (${config.password_env} or"
                " mailbox.password_file); Gmail and Microsoft 365 need an app password or OAuth"
                " (mailbox.auth: xoauth2)",
            ),
        ]
    except MailboxError as exc:
        return [
            *findings,
            Finding(
                "TLS",
                "fail",
                str(exc),
                "the server's certificate is not trusted: set mailbox.ca_file to its CA, or use the name on"
                " the certificate as host; never turn checks off",
            ),
        ]
    findings.append(Finding("TLS and login", "ok", f"{url.user} on {where} ({url.scheme})"))
    try:
        findings += _folders(client, config)
    except (IMAPClientError, OSError, ssl.SSLError) as exc:
        findings.append(Finding("folders", "fail", str(exc), "see the server's log"))
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            pass
    return findings


def _folders(client: imapclient.IMAPClient, config: Config) -> list[Finding]:
    s = config.settings.mailbox
    folder = config.mailbox.folder
    findings: list[Finding] = []
    if not client.folder_exists(folder):
        return [
            Finding(
                "watched folder",
                "fail",
                f"{folder!r} does not exist",
                f"fix the folder at the end of mailbox.url; folders here: {_names(client)}",
            )
        ]
    selected = client.select_folder(folder, readonly=False)
    writable = b"READ-WRITE" in selected or not selected.get(b"READ-ONLY", [False])
    findings.append(
        Finding(
            "watched folder",
            "ok" if writable else "fail",
            f"{folder!r} ({'read-write' if writable else 'read-only'})",
            "" if writable else "give the triage login write access to the folder (keywords are set on it)",
        )
    )
    drafts = find_folder(client, s.drafts_folder, imapclient.imapclient.DRAFTS)
    sent = find_folder(client, s.sent_folder, imapclient.imapclient.SENT)
    findings += [
        _either(
            "keywords",
            b"\\*" in selected.get(b"PERMANENTFLAGS", ()),
            "the server keeps new keywords (PERMANENTFLAGS \\*)",
            "warn",
            "the server does not allow new keywords: triage_<class> marks will not stick",
            "set marking.keywords: false, or use marking.move_to_class_folders",
        ),
        _drafts(client, s.drafts_folder, drafts),
        _either(
            "sent folder",
            sent is not None,
            repr(sent),
            "warn",
            "no Sent folder found: response times count only \\Answered flags and team mail in the inbox",
            f"set mailbox.sent_folder to one of {_names(client)}",
        ),
        _either(
            "IDLE",
            b"IDLE" in client.capabilities(),
            "new mail is noticed at once",
            "warn",
            "the server has no IDLE",
            "nothing to fix: triage polls every daemon.poll_interval_seconds",
        ),
    ]
    findings.append(_clock(client))
    return findings


def _drafts(client: imapclient.IMAPClient, configured: str | None, found: str | None) -> Finding:
    """The Drafts folder, or, on a fresh mailbox, whether `triage run` may create it as it will."""
    if found is not None:
        return Finding("drafts folder", "ok", repr(found))
    name = configured or "Drafts"  # what ImapInbox creates
    refused = _refused_to_create(client, name)
    if refused is None:
        return Finding("drafts folder", "ok", f"{name!r} does not exist yet; `triage run` will create it")
    return Finding(
        "drafts folder",
        "fail",
        f"{name!r} does not exist and the server refuses to create it: {refused}",
        f"set mailbox.drafts_folder to one of {_names(client)}, or create a Drafts folder in a mail client",
    )


def _refused_to_create(client: imapclient.IMAPClient, name: str) -> str | None:
    """Why the server will not create `name`, or None when it may: created, then deleted while empty."""
    try:
        client.create_folder(name)
    except IMAPClientError as exc:
        return None if "ALREADYEXISTS" in str(exc).upper() else str(exc)
    try:
        if client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"] == 0:
            client.delete_folder(name)
    except IMAPClientError:
        pass  # an empty Drafts folder left behind is what `triage run` would create anyway
    return None


def _either(check: str, passed: bool, detail: str, status: str, problem: str, fix: str) -> Finding:
    """ok with `detail` when `passed`, else `status` (warn or fail) with the problem and its fix."""
    return Finding(check, "ok", detail) if passed else Finding(check, status, problem, fix)


def _clock(client: imapclient.IMAPClient) -> Finding:
    """The newest message's arrival time, by the server's clock, against ours."""
    now = datetime.now(UTC)
    uids = client.search(["ALL"])
    if not uids:
        return Finding("clock", "ok", f"{now:%Y-%m-%d %H:%M} UTC (no mail to compare with the server)")
    newest = client.fetch([max(uids)], ["INTERNALDATE"])[max(uids)][b"INTERNALDATE"]
    arrived = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    if arrived - now > CLOCK_SKEW:
        return Finding(
            "clock",
            "fail",
            f"this machine says {now:%Y-%m-%d %H:%M} UTC but mail arrived at"
            f" {arrived.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            "set the clock right (timedatectl set-ntp true): response times and reminders depend on it",
        )
    return Finding("clock", "ok", f"{now:%Y-%m-%d %H:%M} UTC, consistent with the server")


def _smtp(config: Config, environ: Mapping[str, str]) -> list[Finding]:
    s = config.settings
    needed = bool(s.report.recipients or s.routing.deliver == "email" or s.metrics.at_risk_email)
    if not s.report.smtp_url:
        if needed:
            return [
                Finding("SMTP", "fail", "report.smtp_url is not set", "set report.smtp_url (smtp://host:587)")
            ]
        return [Finding("SMTP", "ok", "not used (no report recipients, briefs saved as drafts)")]
    try:
        smtp = config_module.smtp_settings(s.report)
        smtp_outbox.verify(smtp, config_module.read_smtp_password(s.report, environ))
    except (ConfigError, MailboxError) as exc:
        return [
            Finding(
                "SMTP",
                "fail",
                str(exc),
                "check report.smtp_url, report.ca_file and $TRIAGE_SMTP_PASSWORD / report.smtp_password_file",
            )
        ]
    return [Finding("SMTP", "ok", f"{smtp.host}:{smtp.port} accepts us over TLS")]


def _names(client: imapclient.IMAPClient) -> str:
    return ", ".join(repr(name) for _, _, name in client.list_folders()[:12])


def render(findings: list[Finding], write: Callable[[str], None]) -> int:
    """Print the findings; the exit code: 0 all well (warnings allowed), 1 something failed."""
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for f in findings:
        write(f"[{marks[f.status]}] {f.check}: {f.detail}")
        if f.fix and f.status != "ok":
            write(f"       fix: {f.fix}")
    failed = [f for f in findings if f.status == "fail"]
    write("" if failed else "everything triage needs is in place")
    return 1 if failed else 0
