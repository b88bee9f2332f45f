"""A real PostgreSQL for the tests: Debian's server from `initdb` in a temp dir, on 127.0.0.1.

`initdb` and `pg_ctl` refuse to run as root, so under root (CI) they run as the `postgres`
user the package created, over a data and socket folder that user owns. TLS is on, with
a certificate from a `trustme` CA; password logins (scram-sha-256) over TCP. The server
lives for the session; each test that asks gets a database of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from triage.state.database import PostgresTarget

DB_USER = "triage"
DB_PASSWORD = "db-Secret-that-must-not-leak"
SERVER_USER = "postgres"  # the superuser, and under root the OS user the server runs as


def postgres_bin() -> Path:
    """The newest installed server's binaries (Debian: /usr/lib/postgresql/VERSION/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail("PostgreSQL is not installed: run `make test`, which installs Debian's postgresql")
    return found[-1].parent


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Postgres:
    root: Path
    port: int
    sockets: Path
    ca: trustme.CA
    ca_file: Path
    bin: Path

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        done = subprocess.run(
            [str(self.bin / "psql"), "-h", str(self.sockets), "-p", str(self.port), "-U", SERVER_USER]
            + ["-d", dbname, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def create_database(self) -> str:
        name = f"t{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {name} OWNER {DB_USER}")
        return name

    def url(self, dbname: str, host: str = "127.0.0.1") -> str:
        return f"postgresql://{DB_USER}@{host}:{self.port}/{dbname}"

    def target(self, dbname: str) -> PostgresTarget:
        return PostgresTarget("127.0.0.1", self.port, DB_USER, dbname, DB_PASSWORD, sslmode="prefer")

    def stop(self) -> None:
        subprocess.run(
            _as_server_user(
                [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"]
            ),
            capture_output=True,
            check=False,
        )


def start_postgres() -> Postgres:
    from tests.conftest import free_port

    binaries = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))  # short: socket paths < 100 chars
    sockets, data = root / "sock", root / "data"
    sockets.mkdir()
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = root / "server.crt", root / "server.key", root / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    key.chmod(0o600)  # the server refuses a key others can read
    if os.geteuid() == 0:
        for path in (root, sockets, cert, key):
            shutil.chown(path, user=SERVER_USER, group=SERVER_USER)
    root.chmod(0o755)
    subprocess.run(
        _as_server_user(
            [str(binaries / "initdb"), "-D", str(data), "-U", SERVER_USER, "--auth-local=trust"]
            + ["--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]
        ),
        capture_output=True,
        check=True,
    )
    port = free_port()
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{sockets}'",
        "ssl": "on",
        "ssl_cert_file": f"'{cert}'",
        "ssl_key_file": f"'{key}'",
        "max_connections": "300",  # three daemons of twenty mailboxes, and the tests beside them
        "shared_buffers": "64MB",
        "fsync": "off",  # a test server: speed over durability
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    conf = "".join(f"{name} = {value}\n" for name, value in settings.items())
    subprocess.run(
        _as_server_user(["sh", "-c", f"cat >> {data}/postgresql.conf"]), input=conf.encode(), check=True
    )
    subprocess.run(
        _as_server_user(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        check=True,
    )
    server = Postgres(root, port, sockets, ca, ca_file, binaries)
    server.psql(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'")
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL on 127.0.0.1 for the whole session."""
    server = start_postgres()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def pg_target(postgres: Postgres) -> PostgresTarget:
    """A fresh database of this test's own, as the store reaches it."""
    return postgres.target(postgres.create_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def state_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | PostgresTarget:
    """Where a store keeps its state: a SQLite file, then a PostgreSQL database (each test runs on both)."""
    if request.param == "sqlite":
        return tmp_path / "state.sqlite3"
    server: Postgres = request.getfixturevalue("postgres")
    return server.target(server.create_database())
