"""Configuration: config.yaml read once at start-up into typed settings; secrets only when used."""

from triage.config.database import DatabaseURL
from triage.config.loading import (
    LOOPBACK_HOSTS,
    MAILBOX_ENV,
    Config,
    MailboxURL,
    bundled,
    default_database,
    environ,
    from_mapping,
    load,
    load_all,
    parse_mailbox_url,
    smtp_settings,
)
from triage.config.secrets import (
    DB_PASSWORD_ENV,
    PASSWORD_ENV,
    SMTP_PASSWORD_ENV,
    read_database_password,
    read_oauth_token,
    read_password,
    read_smtp_password,
)
from triage.config.settings import MailboxSettings, ReportSettings, Settings

__all__ = [
    "DB_PASSWORD_ENV",
    "LOOPBACK_HOSTS",
    "MAILBOX_ENV",
    "PASSWORD_ENV",
    "SMTP_PASSWORD_ENV",
    "Config",
    "DatabaseURL",
    "MailboxURL",
    "MailboxSettings",
    "ReportSettings",
    "Settings",
    "bundled",
    "default_database",
    "environ",
    "from_mapping",
    "load",
    "load_all",
    "parse_mailbox_url",
    "read_database_password",
    "read_oauth_token",
    "read_password",
    "read_smtp_password",
    "smtp_settings",
]
