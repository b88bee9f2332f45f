"""Composition: the mailbox, the state database and outgoing mail, built from a validated Config."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from triage import config as config_module
from triage.adapters import smtp_outbox
from triage.adapters.imap_inbox import ImapInbox, ImapSettings
from triage.adapters.maildir_inbox import MaildirInbox
from triage.app.logs import RedactSecrets
from triage.config.loading import Config
from triage.ports import Inbox
from triage.state.database import PostgresTarget
from triage.state.store import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_inbox(config: Config, environ: Mapping[str, str], redactor: RedactSecrets) -> Inbox:
    url, settings = config.mailbox, config.settings.mailbox
    if url.scheme == "maildir":
        assert url.path is not None
        return MaildirInbox(url.path, drafts_folder=settings.drafts_folder, sent_folder=settings.sent_folder)
    return ImapInbox(*imap_access(config, environ, redactor))


def imap_access(
    config: Config, environ: Mapping[str, str], redactor: RedactSecrets
) -> tuple[ImapSettings, Callable[[], str]]:
    """How to reach and log in to an IMAP mailbox; the secret is read (and redacted) only when used."""
    url, settings = config.mailbox, config.settings.mailbox

    def secret() -> str:
        if settings.auth == "xoauth2":
            token = config_module.read_oauth_token(settings)
            redactor.add(token)
            sasl = f"user={url.user}\x01auth=Bearer {token}\x01\x01".encode()
            redactor.add(base64.b64encode(sasl).decode())
            return token
        password = config_module.read_password(settings, environ, config.password_env)
        redactor.add(password)
        return password

    return (
        ImapSettings(
            scheme=url.scheme,
            host=url.host,
            port=url.port,
            user=url.user,
            folder=url.folder,
            allow_insecure=settings.allow_insecure,
            is_loopback=url.is_loopback,
            ca_file=settings.ca_file,
            timeout=settings.timeout_seconds,
            drafts_folder=settings.drafts_folder,
            auth=settings.auth,
            sent_folder=settings.sent_folder,
        ),
        secret,
    )


def mailbox_name(config: Config) -> str:
    """The mailbox's name in the state database, without connecting (matches the inbox's `name`)."""
    url = config.mailbox
    return f"maildir:{url.path}" if url.scheme == "maildir" else f"{url.user}@{url.host}"


def open_store(config: Config, redactor: RedactSecrets | None = None, migrate: bool = True) -> Store:
    return Store(state_location(config, redactor), migrate=migrate)


def state_location(config: Config, redactor: RedactSecrets | None = None) -> Path | PostgresTarget:
    """The SQLite file, or PostgreSQL with TLS as for IMAP: the server's certificate is checked
    against state.ca_file or the system's CAs; plaintext only over a Unix socket, to a loopback
    address, or with state.allow_insecure."""
    database, s = config.database, config.settings.state
    if isinstance(database, Path):
        return database
    password = config_module.read_database_password(s, config_module.environ())
    if password and redactor is not None:
        redactor.add(password)
    if s.ca_file is not None:
        sslmode, ca = "verify-full", str(s.ca_file.expanduser())
    elif database.is_local or s.allow_insecure:
        sslmode, ca = "prefer", None
    else:
        sslmode, ca = "verify-full", system_ca_bundle()
    return PostgresTarget(
        database.host,
        database.port,
        database.user,
        database.dbname,
        password,
        sslmode,
        ca,
        database.parameters,
    )


def system_ca_bundle() -> str:
    """The system's CA file for libpq (which, before version 16, does not read the store by itself)."""
    paths = ssl.get_default_verify_paths()
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).exists():
            return candidate
    return "system"  # libpq 16 and newer: the system store


def smtp_sender(config: Config, environ: Mapping[str, str]) -> Callable[[EmailMessage], None]:
    """Sends over report.smtp_url; built at start-up, so a missing URL is a config error then."""
    smtp = config_module.smtp_settings(config.settings.report)
    password = config_module.read_smtp_password(config.settings.report, environ)
    return lambda message: smtp_outbox.send(smtp, password, message)


def team_notifier(config: Config, environ: Mapping[str, str]) -> Callable[[str, str], None] | None:
    """Email to the team address over the report's SMTP server, when metrics.at_risk_email is on."""
    s = config.settings
    if not s.metrics.at_risk_email:
        return None
    send = smtp_sender(config, environ)

    def notify(subject: str, text: str) -> None:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = formataddr((s.team.name, s.team.address))
        message["To"] = s.team.address
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        send(message)

    return notify
