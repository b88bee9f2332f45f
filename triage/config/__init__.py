"""Configuration: config.yaml read once at start-up into typed settings; secrets only when used."""

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
    PASSWORD_ENV,
    SMTP_PASSWORD_ENV,
    read_oauth_token,
    read_password,
    read_smtp_password,
)
from triage.config.settings import MailboxSettings, ReportSettings, Settings

__all__ = [
    "LOOPBACK_HOSTS",
    "MAILBOX_ENV",
    "PASSWORD_ENV",
    "SMTP_PASSWORD_ENV",
    "Config",
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
    "read_oauth_token",
    "read_password",
    "read_smtp_password",
    "smtp_settings",
]
