"""`triage doctor` on a PostgreSQL state.database: reachable, the login, TLS, migrations, who holds what."""

from __future__ import annotations

from triage import app
from triage.cli.doctor import Finding, _either
from triage.config.loading import Config
from triage.errors import DatabaseUnavailable


def database_findings(config: Config) -> list[Finding]:
    """Read-only but for the `migrations` table, made empty when missing."""
    try:
        with app.open_store(config, migrate=False) as store:
            from triage.state.postgres import PostgresDatabase  # loaded (with libpq) by open_store

            assert isinstance(store.db, PostgresDatabase)
            encrypted, verified = store.db.encrypted(), store.db.target.sslmode == "verify-full"
            pending = store.pending_migrations()
            leases = {} if "0014_mailbox_leases" in pending else store.leases()
            now = store.db.now()
            live = store.live_daemons(now) if leases else set()
    except DatabaseUnavailable as exc:
        return [
            Finding(
                "state database",
                "fail",
                str(exc),
                "check the host, port, user and database in state.database, the password ($TRIAGE_DB_PASSWORD"
                " or state.password_file), state.ca_file for the server's CA, and that pg_hba.conf lets this"
                " host in",
            )
        ]
    findings = [
        Finding("state database", "ok", f"{config.database} reachable, login accepted"),
        _either(
            "database TLS",
            encrypted,
            "TLS, certificate checked" if verified else "TLS (loopback: certificate not checked)",
            "warn",
            "not encrypted (a Unix socket, loopback or state.allow_insecure)",
            "nothing to fix on this host; across a network, leave allow_insecure off and set state.ca_file",
        ),
        _either(
            "migrations",
            not pending,
            "all applied",
            "warn",
            f"{len(pending)} not applied yet: {', '.join(pending)}",
            "the first daemon to start applies them (or `triage run --once`)",
        ),
    ]
    for mailbox, lease in sorted(leases.items()):
        held = lease.holder if lease.holder and not lease.free_at(now) else "nobody"
        alive = "" if held == "nobody" or held in live else " (not beating: taken over soon)"
        findings.append(
            Finding(f"lease {mailbox}", "ok", f"held by {held}{alive}, generation {lease.generation}")
        )
    if not leases:
        findings.append(Finding("leases", "ok", "no daemon has taken a mailbox yet"))
    return findings
