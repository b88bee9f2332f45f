"""state.database: a SQLite path (one host), or a postgresql:// URL for state shared by several daemons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from triage.errors import ConfigError

KEY = "state.database"
SCHEMES = ("postgresql", "postgres")
# what libpq would take from the URL but triage decides: TLS from state.ca_file / state.allow_insecure,
# the password from $TRIAGE_DB_PASSWORD or state.password_file
REFUSED_PARAMETERS = {
    "password": "no password in the URL (use $TRIAGE_DB_PASSWORD or state.password_file)",
    "passfile": "no password file in the URL (use state.password_file)",
    "sslmode": "no sslmode: TLS is always checked (state.ca_file for a private CA, state.allow_insecure)",
    "sslrootcert": "no sslrootcert (use state.ca_file)",
}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed postgresql://user@host:port/dbname (the host may be a Unix socket folder)."""

    user: str
    host: str
    port: int
    dbname: str
    parameters: tuple[tuple[str, str], ...] = ()  # other libpq parameters, passed on

    @property
    def is_local(self) -> bool:
        """A Unix socket or a loopback address: the traffic never leaves this machine."""
        return self.host.startswith("/") or self.host in ("localhost", "::1") or self.host.startswith("127.")

    def __str__(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def parse_database_url(text: str) -> DatabaseURL:
    """postgresql://user@host[:port]/dbname[?param=value...]; a clear ConfigError for anything else."""
    expected = "postgresql://user@host:5432/dbname (or a path to a SQLite file)"
    parts = urlsplit(text)
    if parts.scheme.lower() not in SCHEMES:
        raise ConfigError(KEY, expected, text)
    if parts.password:
        raise ConfigError(KEY, REFUSED_PARAMETERS["password"], "a password")
    parameters = dict(parse_qsl(parts.query))
    for name, why in REFUSED_PARAMETERS.items():
        if name in parameters:
            secret = name in ("password", "passfile")
            raise ConfigError(KEY, why, f"{name}=..." if secret else parameters[name])
    host = parameters.pop("host", None) or unquote(parts.hostname or "")
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.username or not host or not dbname:
        raise ConfigError(KEY, expected, text)
    try:
        port = int(parameters.pop("port", None) or parts.port or 5432)
    except ValueError:
        raise ConfigError(KEY, "a port number from 1 to 65535", text) from None
    return DatabaseURL(unquote(parts.username), host, port, dbname, tuple(sorted(parameters.items())))


def database_location(text: str | None, resolve: Path, default: Path) -> Path | DatabaseURL:
    """A URL, else the path (relative to config.yaml's folder `resolve`), else the default file."""
    if not text:
        return default
    if "://" in text:
        return parse_database_url(text)
    path = Path(text).expanduser()
    return path if path.is_absolute() else resolve / path
