"""Secrets, read only when used: from the environment, a file, systemd's credentials or a command."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from triage.config.settings import MailboxSettings, ReportSettings, StateSettings
from triage.errors import ConfigError, MailboxError

PASSWORD_ENV = "TRIAGE_PASSWORD"
SMTP_PASSWORD_ENV = "TRIAGE_SMTP_PASSWORD"
DB_PASSWORD_ENV = "TRIAGE_DB_PASSWORD"


def read_password(settings: MailboxSettings, environ: Mapping[str, str], variable: str = PASSWORD_ENV) -> str:
    """The IMAP password from $TRIAGE_PASSWORD_NAME (several mailboxes), mailbox.password_file, or
    $TRIAGE_PASSWORD."""
    if variable != PASSWORD_ENV and environ.get(variable):
        return environ[variable]
    if settings.password_file is not None:
        return _read_secret_file("mailbox.password_file", settings.password_file)
    password = environ.get(PASSWORD_ENV)
    if password:
        return password
    credential = _credential(environ, "imap-password")
    if credential is not None:
        return _read_secret_file("$CREDENTIALS_DIRECTORY/imap-password", credential)
    raise ConfigError(PASSWORD_ENV, "the mailbox password in the environment or a password_file", None)


def _credential(environ: Mapping[str, str], name: str) -> Path | None:
    """A secret systemd hands over with LoadCredential=NAME:... ($CREDENTIALS_DIRECTORY/NAME)."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    path = Path(directory) / name if directory else None
    return path if path is not None and path.exists() else None


def read_smtp_password(report: ReportSettings, environ: Mapping[str, str]) -> str | None:
    return _optional_secret(
        ("report.smtp_password_file", report.smtp_password_file), environ, SMTP_PASSWORD_ENV, "smtp-password"
    )


def read_database_password(state: StateSettings, environ: Mapping[str, str]) -> str | None:
    """The PostgreSQL password from state.password_file, $TRIAGE_DB_PASSWORD or systemd's
    credential `db-password`; None leaves it to libpq (~/.pgpass, peer or certificate login)."""
    return _optional_secret(
        ("state.password_file", state.password_file), environ, DB_PASSWORD_ENV, "db-password"
    )


def _optional_secret(
    file: tuple[str, Path | None], environ: Mapping[str, str], variable: str, credential_name: str
) -> str | None:
    """From the configured file, else the variable, else systemd's credential; None without any."""
    key, path = file
    if path is not None:
        return _read_secret_file(key, path)
    if environ.get(variable):
        return environ[variable]
    credential = _credential(environ, credential_name)
    return _read_secret_file(f"$CREDENTIALS_DIRECTORY/{credential_name}", credential) if credential else None


def read_oauth_token(settings: MailboxSettings) -> str:
    """The XOAUTH2 access token, from a file or the stdout of a command."""
    if settings.oauth_token_file is not None:
        return _read_secret_file("mailbox.oauth_token_file", settings.oauth_token_file)
    assert settings.oauth_token_command is not None
    try:
        done = subprocess.run(
            shlex.split(settings.oauth_token_command), capture_output=True, text=True, timeout=60, check=True
        )
    except OSError as exc:
        raise ConfigError(
            "mailbox.oauth_token_command", "a command that prints an access token", f"{exc.strerror}"
        ) from None
    except subprocess.SubprocessError as exc:  # failed or timed out: often the network, so retried
        raise MailboxError(f"mailbox.oauth_token_command failed ({type(exc).__name__}); will retry") from None
    token = done.stdout.strip()
    if not token:
        raise ConfigError("mailbox.oauth_token_command", "a command that prints an access token", "no output")
    return token


def _read_secret_file(key: str, path: Path) -> str:
    try:
        secret = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, "a readable file holding the secret", f"{path}: {exc.strerror}") from None
    if not secret:
        raise ConfigError(key, "a file holding the secret", f"{path}: empty")
    return secret
