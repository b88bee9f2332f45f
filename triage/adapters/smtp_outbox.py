"""Outgoing mail (the weekly report) over SMTP: STARTTLS or SMTPS, certificate checked."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from triage.errors import MailboxError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str  # "smtp" (STARTTLS) or "smtps" (implicit TLS)
    host: str
    port: int
    user: str
    ca_file: Path | None
    allow_insecure: bool
    is_loopback: bool
    timeout: float = 60.0


def send(settings: SmtpSettings, password: str | None, message: EmailMessage) -> None:
    """Send one message; raises MailboxError with the reason when the server refuses."""
    with _session(settings, password) as client:
        try:
            client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailboxError(f"SMTP {settings.host}:{settings.port}: {exc}") from exc
    logger.info("sent %r to %s", message["Subject"], message["To"])


def verify(settings: SmtpSettings, password: str | None) -> None:
    """Connect, secure and log in as `send` would, send nothing; MailboxError says what failed."""
    with _session(settings, password):
        pass


@contextmanager
def _session(settings: SmtpSettings, password: str | None) -> Iterator[smtplib.SMTP]:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    try:
        if settings.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.scheme == "smtp":
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif not (settings.is_loopback or settings.allow_insecure):
                    raise MailboxError(
                        f"{settings.host}:{settings.port} offers no STARTTLS; refusing to send"
                    )
            if settings.user and password:
                client.login(settings.user, password)
            yield client
    except smtplib.SMTPAuthenticationError as exc:
        raise MailboxError(f"SMTP {settings.host}: login refused ({exc.smtp_code})") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailboxError(f"SMTP {settings.host}:{settings.port}: {exc}") from exc
