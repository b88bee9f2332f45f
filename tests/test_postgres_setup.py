"""state.database as a postgresql:// URL: parsed with clear errors, TLS checked, doctor, run --once."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tests.conftest import Dovecot
from tests.postgres_server import DB_PASSWORD, Postgres
from tests.shared_state import start, wait_until
from tests.test_imap_end_to_end import append_mix, drafts, write_config
from triage import app
from triage import config as config_module
from triage.cli import main
from triage.config.database import DatabaseURL, parse_database_url
from triage.errors import ConfigError, DatabaseUnavailable
from triage.state.database import PostgresTarget
from triage.state.store import Store


def test_a_postgresql_url_names_user_host_port_and_database() -> None:
    assert parse_database_url("postgresql://triage@db.example.com/support") == DatabaseURL(
        "triage", "db.example.com", 5432, "support"
    )
    over_socket = parse_database_url("postgres://triage@localhost:6543/support?host=/run/postgresql")
    assert (over_socket.host, over_socket.port, over_socket.is_local) == ("/run/postgresql", 6543, True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://triage:hunter2@db/support", "no password in the URL"),
        ("postgresql://triage@db/support?sslmode=disable", "TLS is always checked"),
        ("postgresql://triage@db/support?sslrootcert=/x.pem", "state.ca_file"),
        ("postgresql://db/support", "postgresql://user@host:5432/dbname"),
        ("mysql://triage@db/support", "postgresql://user@host:5432/dbname"),
    ],
)
def test_a_bad_database_url_is_an_error_naming_the_key(tmp_path: Path, url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_module.from_mapping(
            {"mailbox": {"url": "maildir:///x"}, "state": {"database": url}}, {}, tmp_path
        )
    assert error.value.key == "state.database" and expected in error.value.expected
    assert "hunter2" not in str(error.value)


def location(tmp_path: Path, database: str, **state: object) -> PostgresTarget:
    config = config_module.from_mapping(
        {"mailbox": {"url": "maildir:///x"}, "state": {"database": database, **state}}, {}, tmp_path
    )
    target = app.state_location(config)
    assert isinstance(target, PostgresTarget)
    return target


def test_tls_is_checked_against_the_system_cas_unless_the_server_is_on_this_host(tmp_path: Path) -> None:
    remote = location(tmp_path, "postgresql://triage@db.example.com/support")
    assert (remote.sslmode, bool(remote.sslrootcert)) == ("verify-full", True)
    local = location(tmp_path, "postgresql://triage@127.0.0.1/support")
    assert local.sslmode == "prefer"
    private = location(tmp_path, "postgresql://triage@db.example.com/support", ca_file="/etc/db-ca.pem")
    assert (private.sslmode, private.sslrootcert) == ("verify-full", "/etc/db-ca.pem")


def test_the_password_comes_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DB_PASSWORD", "from-env")
    assert location(tmp_path, "postgresql://t@db/s").password == "from-env"
    secret = tmp_path / "db-password"
    secret.write_text("from-file\n")
    assert location(tmp_path, "postgresql://t@db/s", password_file=str(secret)).password == "from-file"
    assert "from-file" not in repr(location(tmp_path, "postgresql://t@db/s", password_file=str(secret)))


def test_the_servers_certificate_is_checked_for_real(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DB_PASSWORD", DB_PASSWORD)
    dbname = postgres.create_database()
    with Store(location(tmp_path, postgres.url(dbname), ca_file=str(postgres.ca_file))) as store:
        assert store.db.encrypted()  # type: ignore[attr-defined]
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    with pytest.raises(DatabaseUnavailable, match="certificate verify failed"):
        Store(location(tmp_path, postgres.url(dbname), ca_file=str(stranger)))


@pytest.fixture
def pg_config(
    dovecot: Dovecot, imap_user: str, postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    monkeypatch.setenv("TRIAGE_DB_PASSWORD", DB_PASSWORD)
    monkeypatch.delenv("TRIAGE_MAILBOX", raising=False)
    return write_config(
        tmp_path,
        dovecot,
        imap_user,
        state={"database": postgres.url(postgres.create_database()), "ca_file": str(postgres.ca_file)},
        daemon={"lease_seconds": 3, "parse_workers": 1},
    )


def outcomes(store: Store) -> list[tuple[str, str, str]]:
    return sorted((m.outcome or "", m.label or "", m.reason or "") for m in store.messages())


def test_run_once_on_postgresql_decides_and_drafts_as_on_sqlite(
    dovecot: Dovecot, imap_user: str, pg_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count = append_mix(dovecot, imap_user)
    assert main(["--config", str(pg_config), "--log-level", "DEBUG", "run", "--once"]) == 0
    config = config_module.load(pg_config, config_module.environ())
    with app.open_store(config) as store:
        rows = store.messages()
        assert len(rows) == count and {row.status for row in rows} == {"done"}
        assert len(drafts(dovecot, imap_user)) == len([row for row in rows if row.draft_message_id]) >= 20
        assert store.leases()[app.mailbox_name(config)].holder is None, "the lease was given back"
        on_postgresql = outcomes(store)
    other = dovecot.add_user()
    append_mix(dovecot, other)
    (tmp_path / "sqlite").mkdir()
    sqlite = write_config(tmp_path / "sqlite", dovecot, other)
    assert main(["--config", str(sqlite), "run", "--once"]) == 0
    with Store(tmp_path / "sqlite" / "state.sqlite3") as store:
        assert outcomes(store) == on_postgresql
    out = capsys.readouterr()
    assert DB_PASSWORD not in out.out + out.err


def test_run_once_leaves_a_mailbox_a_daemon_holds_alone(
    pg_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = start(pg_config, tmp_path / "daemon.log")
    try:
        config = config_module.load(pg_config, config_module.environ())
        mailbox = app.mailbox_name(config)
        with app.open_store(config) as store:

            def held() -> bool:
                lease = store.leases().get(mailbox)
                return lease is not None and lease.holder is not None

            wait_until(held, 60, "the daemon holds the mailbox")
        assert main(["--config", str(pg_config), "run", "--once"]) == 1
        assert "a daemon holds it now" in capsys.readouterr().err
    finally:
        daemon.terminate()
        assert daemon.wait(timeout=30) == 0


def test_doctor_checks_the_database_tls_migrations_and_leases(
    pg_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--config", str(pg_config), "doctor"])
    out = capsys.readouterr().out
    assert "[ok  ] state database: postgresql://triage@127.0.0.1" in out
    assert "[ok  ] database TLS: TLS, certificate checked" in out
    assert "[warn] migrations:" in out and "the first daemon to start applies them" in out
    assert main(["--config", str(pg_config), "run", "--once"]) == 0
    capsys.readouterr()
    main(["--config", str(pg_config), "doctor"])
    out = capsys.readouterr().out
    assert "[ok  ] migrations: all applied" in out
    assert "held by nobody, generation 1" in out
    assert DB_PASSWORD not in out
