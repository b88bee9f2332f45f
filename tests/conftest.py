"""Real servers on loopback for the tests: Dovecot (IMAP), aiosmtpd (SMTP) and PostgreSQL.

Dovecot runs from a throwaway config in a temp dir, as root (CI) or unprivileged, with
a plaintext+STARTTLS listener and an implicit-TLS listener whose certificate comes from
a `trustme` CA. Each test gets its own user, so mailboxes never leak between tests.
PostgreSQL (Debian's package) runs from `initdb` in a temp dir, TLS on with a `trustme`
certificate; each test that asks gets a database of its own.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import imapclient
import pytest
import trustme

pytest_plugins = ["tests.postgres_server"]  # the PostgreSQL server and its fixtures

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
# test users are created before the server starts; tests that need another password add it here
USER_PASSWORDS = {"secret": 300, "ya29.test-token-value": 3, "Pa55-word-that-must-not-leak": 3}
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int  # plaintext, STARTTLS offered
    tls_port: int  # implicit TLS
    ca: trustme.CA
    ca_file: Path
    pools: dict[str, list[str]]

    def add_user(self, password: str = "secret") -> str:
        """A user nobody has used yet. Dovecot caches the passwd file by mtime in whole
        seconds, so users are written before start-up, a pool per password."""
        pool = self.pools.get(password)
        if not pool:
            raise RuntimeError(f"no unused test user with password {password!r}: see USER_PASSWORDS")
        return pool.pop()

    def client(self, user: str, password: str = "secret") -> imapclient.IMAPClient:
        client = imapclient.IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(user, password)
        return client

    def url(self, user: str, folder: str = "INBOX") -> str:
        return f"imap://{user}@127.0.0.1:{self.port}/{folder}"

    def stop(self) -> None:
        """Stop the server the way an outage looks to clients: connections dropped too."""
        subprocess.run(
            ["doveadm", "-c", str(self.root / "dovecot.conf"), "kick", "*"], capture_output=True, check=False
        )
        pid_file = self.root / "run" / "master.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except ProcessLookupError:
                return
            for _ in range(100):
                if not pid_file.exists():
                    break
                time.sleep(0.05)

    def start(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.root / "dovecot.conf")], check=True)
        wait_for_banner(self.port)


def wait_for_banner(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on port {port}")


def _dovecot_config(root: Path, port: int, tls_port: int, cert: Path, key: Path, tls: bool = True) -> str:
    if os.geteuid() == 0:
        users = (
            "default_internal_user = dovecot\ndefault_internal_group = dovecot\n"
            "default_login_user = dovenull\nfirst_valid_uid = 1\n"
        )
        userdb = f"uid={pwd.getpwnam('nobody').pw_uid} gid={grp.getgrnam('nogroup').gr_gid}"
        chroots = ""
    else:
        me = pwd.getpwuid(os.getuid()).pw_name
        users = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        userdb = f"uid={os.getuid()} gid={os.getgid()}"
        chroots = (
            "service anvil {\n  chroot =\n}\nservice auth-worker {\n  user = $default_internal_user\n}\n"
        )
    return f"""
instance_name = triage-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{users}protocols = imap
listen = 127.0.0.1
{f"ssl = yes{chr(10)}ssl_cert = <{cert}{chr(10)}ssl_key = <{key}" if tls else "ssl = no"}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
mail_max_userip_connections = 100
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = {userdb} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Sent {{
    special_use = \\Sent
  }}
}}
{chroots}service imap-login {{
  {"chroot =" if os.geteuid() != 0 else ""}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port if tls else 0}
    ssl = {"yes" if tls else "no"}
  }}
}}
"""


def start_dovecot(tls: bool = True) -> Dovecot:
    if not (shutil.which("dovecot") or Path(DOVECOT).exists()):
        pytest.fail("dovecot is not installed: run `make test`, which installs dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))  # short: socket paths < 100 chars
    root.chmod(0o755)
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = root / "cert.pem", root / "key.pem", root / "ca.pem"
    server_cert.cert_chain_pems[0].write_to_path(str(cert))
    server_cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    passwd = root / "passwd"
    pools = {pw: [f"u{uuid.uuid4().hex[:10]}" for _ in range(n)] for pw, n in USER_PASSWORDS.items()}
    passwd.write_text("".join(f"{u}:{{PLAIN}}{pw}::::::\n" for pw, users in pools.items() for u in users))
    home = root / "home"
    home.mkdir()
    if os.geteuid() == 0:
        shutil.chown(passwd, group="dovecot")
        passwd.chmod(0o640)
        shutil.chown(home, user="nobody", group="nogroup")
        home.chmod(0o777)
    port, tls_port = free_port(), free_port()
    (root / "dovecot.conf").write_text(_dovecot_config(root, port, tls_port, cert, key, tls))
    server = Dovecot(root, port, tls_port, ca, ca_file, pools)
    server.start()
    return server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real Dovecot on 127.0.0.1 for the whole session."""
    server = start_dovecot()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test's own, for tests that stop and restart the server."""
    server = start_dovecot()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the machine's own triage state ($XDG_DATA_HOME)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    """A fresh mailbox user (password "secret") with empty INBOX."""
    return dovecot.add_user()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@dataclass
class SmtpServer:
    port: int
    ca_file: Path
    received: list[bytes]


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback that requires STARTTLS, certificate from a trustme CA."""
    import ssl

    from aiosmtpd.controller import Controller

    ca = trustme.CA()
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    received: list[bytes] = []

    class Collect:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            received.append(envelope.original_content or b"")  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(
        Collect(), hostname="127.0.0.1", port=port, tls_context=server_context, require_starttls=True
    )
    controller.start()
    yield SmtpServer(port, ca_file, received)
    controller.stop()
