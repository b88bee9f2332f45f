"""config.yaml -> typed, validated settings, once, at start-up.

Every error names the dotted key, what was expected and what was found. Secrets are
never read from config.yaml: the password comes from TRIAGE_PASSWORD or a file, an
OAuth token from a file or a command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import platformdirs
import yaml
from pydantic import BaseModel, ValidationError

from triage.adapters.smtp_outbox import SmtpSettings
from triage.config.database import DatabaseURL, database_location
from triage.config.secrets import PASSWORD_ENV, SMTP_PASSWORD_ENV
from triage.config.settings import MailboxSettings, ReportSettings, Settings
from triage.errors import ConfigError

MAILBOX_ENV = "TRIAGE_MAILBOX"


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class MailboxURL:
    """A parsed mailbox URL: imaps://user@host:993/INBOX, imap://..., maildir:///path."""

    scheme: Literal["imaps", "imap", "maildir"]
    user: str
    host: str
    port: int
    folder: str
    path: Path | None

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    def display(self) -> str:
        """The URL as it may be logged: never with a password in it."""
        if self.scheme == "maildir":
            return f"maildir://{self.path}"
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass(frozen=True)
class Config:
    """Everything triage needs, validated; paths made absolute against config.yaml's folder."""

    settings: Settings
    mailbox: MailboxURL
    database: Path | DatabaseURL  # a SQLite file, or PostgreSQL shared by several daemons
    model_dir: Path
    templates_dir: Path
    source: Path | None
    name: str = ""  # the entry's name under `mailboxes:`; "" for a single mailbox
    password_env: str = PASSWORD_ENV  # the variable holding this mailbox's password
    # models trained on the team's mail: beside a SQLite file, else in this host's state folder
    team_models: Path = Path("models")


def load(path: Path | None, environ: Mapping[str, str], name: str | None = None) -> Config:
    """The config of one mailbox: the only one, or the one `name`d under `mailboxes:`."""
    configs = load_all(path, environ)
    if name is None:
        return configs[0]
    for config in configs:
        if config.name == name:
            return config
    raise ConfigError("--mailbox", f"one of {[c.name for c in configs]}", name)


def load_all(path: Path | None, environ: Mapping[str, str]) -> list[Config]:
    """Read and validate config.yaml (or defaults when `path` is None): one Config per mailbox.

    Each entry of `mailboxes:` overrides sections of the file for one mailbox; its state
    database defaults to the main one's name with `-NAME` added, its password to
    $TRIAGE_PASSWORD_NAME (upper case), then mailbox.password_file, then $TRIAGE_PASSWORD.
    With a PostgreSQL state.database every mailbox shares the one database.
    """
    raw: Any = {}
    if path is not None:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError("(file)", "a readable config file", f"{path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError("(file)", "valid YAML", f"{path}: {exc}") from exc
    base_dir = path.parent if path else Path.cwd()
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "a mapping of sections", type(raw).__name__)
    entries = raw.pop("mailboxes", None) or []
    if not isinstance(entries, list):
        raise ConfigError(
            "mailboxes", "a list of {name: ..., mailbox: {url: ...}, ...}", type(entries).__name__
        )
    if not entries:
        return [from_mapping(raw, environ, base_dir, path)]
    configs: list[Config] = []
    for index, entry in enumerate(entries):
        where = f"mailboxes[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ConfigError(
                f"{where}.name",
                "a name for the mailbox",
                entry.get("name") if isinstance(entry, dict) else entry,
            )
        name = entry["name"]
        if any(c.name == name for c in configs):
            raise ConfigError(f"{where}.name", "a name no other mailbox has", name)
        merged = _merged(raw, {k: v for k, v in entry.items() if k != "name"})
        own = {k: v for k, v in environ.items() if k != MAILBOX_ENV}  # one URL cannot serve them all
        try:
            config = from_mapping(merged, own, base_dir, path, name)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc.key}", exc.expected, exc.found) from None
        if environ.get(f"{PASSWORD_ENV}_{_env_name(name)}"):
            config = replace(config, password_env=f"{PASSWORD_ENV}_{_env_name(name)}")
        if not (entry.get("state") or {}).get("database") and isinstance(config.database, Path):
            database = config.database.with_name(f"{config.database.stem}-{name}.sqlite3")
            config = replace(config, database=database, team_models=database.parent / "models")
        configs.append(config)
    return configs


def _env_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).upper()


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with each section of `override` laid over it, key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def from_mapping(
    raw: Any, environ: Mapping[str, str], base_dir: Path, source: Path | None = None, name: str = ""
) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "a mapping of sections", type(raw).__name__)
    _refuse_secrets(raw)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc) from None
    url_text = environ.get(MAILBOX_ENV) or settings.mailbox.url
    if not url_text:
        raise ConfigError("mailbox.url", f"a mailbox URL here or in ${MAILBOX_ENV}", None)
    mailbox = parse_mailbox_url(url_text, base_dir)
    _check_auth(settings.mailbox)

    def resolve(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else base_dir / p

    def resolve_shipped(section: BaseModel, key: str, name: str) -> Path:
        """A configured folder; by default ./NAME, else the copy shipped in the package."""
        path = resolve(getattr(section, key))
        if key in section.model_fields_set or path.exists():
            return path
        return bundled(name)

    database = database_location(settings.state.database, base_dir, default_database(environ))
    local = database if isinstance(database, Path) else default_database(environ)
    return Config(
        settings=settings,
        mailbox=mailbox,
        database=database,
        team_models=local.parent / "models",
        model_dir=resolve_shipped(settings.classifier, "model_dir", "models"),
        templates_dir=resolve_shipped(settings.drafting, "templates_dir", "templates"),
        source=source,
        name=name,
    )


def bundled(name: str) -> Path:
    """A folder shipped inside the package: models, templates, demo_mailbox."""
    inside = Path(str(resources.files("triage")))
    for candidate in (inside / "bundled" / name, inside / name, inside.parent / name):
        if candidate.exists():
            return candidate
    return inside / "bundled" / name


def default_database(environ: Mapping[str, str]) -> Path:
    """$STATE_DIRECTORY/state.sqlite3 under systemd (StateDirectory=), else
    $XDG_DATA_HOME/triage/state.sqlite3 (or the platform's equivalent)."""
    if environ.get("STATE_DIRECTORY"):
        return Path(environ["STATE_DIRECTORY"].split(":")[0]) / "state.sqlite3"
    return Path(platformdirs.user_data_dir("triage")) / "state.sqlite3"


def parse_mailbox_url(text: str, base_dir: Path) -> MailboxURL:
    key = "mailbox.url"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "maildir":
        raw_path = unquote(parts.netloc + parts.path)
        if not raw_path:
            raise ConfigError(key, "maildir:///absolute/path or maildir://relative/path", text)
        path = Path(raw_path).expanduser()
        return MailboxURL("maildir", "", "", 0, "INBOX", path if path.is_absolute() else base_dir / path)
    if scheme not in ("imap", "imaps"):
        raise ConfigError(key, "a URL starting imaps://, imap:// or maildir://", text)
    if parts.password:
        raise ConfigError(key, f"no password in the URL (use ${PASSWORD_ENV} or a file)", "a password")
    if not parts.hostname or not parts.username:
        raise ConfigError(key, "user and host, as in imaps://user@host:993/INBOX", text)
    try:
        port = parts.port or (993 if scheme == "imaps" else 143)
    except ValueError:
        raise ConfigError(key, "a port number from 1 to 65535", text) from None
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    user = unquote(parts.username)
    return MailboxURL(scheme, user, parts.hostname, port, folder, None)  # type: ignore[arg-type]


def smtp_settings(report: ReportSettings) -> SmtpSettings:
    """The report's SMTP server from report.smtp_url (smtp://user@host:587 or smtps://...:465)."""
    key = "report.smtp_url"
    if not report.smtp_url:
        raise ConfigError(key, "smtp://user@host:587 (STARTTLS) or smtps://user@host:465", None)
    parts = urlsplit(report.smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(key, "smtp://user@host:587 (STARTTLS) or smtps://user@host:465", report.smtp_url)
    if parts.password:
        raise ConfigError(key, f"no password in the URL (use ${SMTP_PASSWORD_ENV} or a file)", "a password")
    host = parts.hostname
    return SmtpSettings(
        scheme=parts.scheme,
        host=host,
        port=parts.port or (465 if parts.scheme == "smtps" else 587),
        user=unquote(parts.username or ""),
        ca_file=report.ca_file,
        allow_insecure=report.allow_insecure,
        is_loopback=host in LOOPBACK_HOSTS or host.startswith("127."),
    )


def _check_auth(settings: MailboxSettings) -> None:
    if settings.auth == "xoauth2" and not (settings.oauth_token_file or settings.oauth_token_command):
        raise ConfigError(
            "mailbox.oauth_token_file", "a token file or mailbox.oauth_token_command for xoauth2", None
        )


def _refuse_secrets(raw: dict[str, Any]) -> None:
    mailbox = raw.get("mailbox")
    if isinstance(mailbox, dict):
        for key in ("password", "oauth_token", "token"):
            if key in mailbox:
                raise ConfigError(
                    f"mailbox.{key}",
                    f"no secret in config.yaml: set ${PASSWORD_ENV} or mailbox.password_file",
                    "a secret (not shown)",
                )


def _config_error(exc: ValidationError) -> ConfigError:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    expected = error["msg"]
    if error["type"] == "extra_forbidden":
        expected = "no such key (see config.yaml for the documented keys)"
    elif expected.startswith("Value error, "):
        expected = expected.removeprefix("Value error, ")
    return ConfigError(key, expected, error.get("input"))


def environ() -> Mapping[str, str]:
    """The process environment; only the composition layer calls this."""
    return os.environ
