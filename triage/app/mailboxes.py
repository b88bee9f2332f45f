"""Composition: the mailbox, the state database and outgoing mail, built from a validated Config."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr

from triage import config as config_module
from triage.adapters import smtp_outbox
from triage.adapters.imap_inbox import ImapInbox, ImapSettings
from triage.adapters.maildir_inbox import MaildirInbox
from triage.app.logs import RedactSecrets
from triage.config.loading import Config
from triage.ports import Inbox
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


def open_store(config: Config) -> Store:
    return Store(config.database)


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
