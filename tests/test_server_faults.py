"""Server faults against a real Dovecot: connections cut mid-command, APPEND refused, Drafts refused.

Exactly once must survive each fault: every message ends with one outcome and at most one
draft, none is lost, none is marked \\Seen, and whatever the fault left undone is done by
the next poll. (A restarted server, a refused login, a changed UIDVALIDITY and a missing
Drafts folder are covered in test_daemon.py and test_imap_end_to_end.py.)
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Dovecot, start_dovecot
from tests.test_imap_end_to_end import DEMO, append_mix, drafts, inbox_flags, write_config
from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.cli import main
from triage.daemon import Daemon
from triage.pipeline.poll import poll
from triage.state.store import Store

ENV = {"TRIAGE_PASSWORD": "secret"}
# imapclient tags look like "ABCD12"; a literal's content never starts a line like this in our drafts
COMMAND = re.compile(rb"^([A-Z]+\d+) (?:UID )?([A-Z]+)\b", re.MULTILINE)


class CuttingProxy:
    """A TCP relay on loopback that drops the connection at the Nth client command `verb`.

    `when="before"`: the command never reaches the server. `when="after"`: the server
    executes it, but its completion (the tagged response) never reaches the client, the
    way a connection lost at the worst moment looks. Later connections are relayed intact.
    Bytes are relayed in whole lines, so a command or a tag split across reads is still seen;
    IMAP peers only ever wait after a line break, so holding a partial line cannot stall them.
    """

    def __init__(self, upstream_port: int, verb: bytes, nth: int, when: str) -> None:
        self.upstream_port, self.verb, self.nth, self.when = upstream_port, verb, nth, when
        self.seen = 0
        self.cut = threading.Event()
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.connections += 1
            self._sockets += [client, upstream]
            doomed: list[bytes] = []  # the tag whose completion must not arrive ("after")
            threading.Thread(target=self._to_server, args=(client, upstream, doomed), daemon=True).start()
            threading.Thread(target=self._to_client, args=(upstream, client, doomed), daemon=True).start()

    def _to_server(self, client: socket.socket, upstream: socket.socket, doomed: list[bytes]) -> None:
        for lines in _lines(client):
            for tag, verb in COMMAND.findall(lines):
                if verb != self.verb or self.cut.is_set() or doomed:
                    continue
                self.seen += 1
                if self.seen == self.nth and self.when == "before":
                    self.cut.set()
                    return _drop(client, upstream)
                if self.seen == self.nth:
                    doomed.append(b"\r\n" + tag + b" ")
            if not _send(upstream, lines):
                break
        _drop(client, upstream)

    def _to_client(self, upstream: socket.socket, client: socket.socket, doomed: list[bytes]) -> None:
        for lines in _lines(upstream):
            at = (b"\r\n" + lines).find(doomed[0]) if doomed else -1
            if at >= 0:
                _send(client, lines[:at])  # everything but the completion
                self.cut.set()
                return _drop(client, upstream)
            if not _send(client, lines):
                break
        _drop(client, upstream)

    def close(self) -> None:
        self.listener.close()
        _drop(*self._sockets)


def _lines(source: socket.socket) -> Iterator[bytes]:
    """What `source` sends, in runs of whole lines, until it closes."""
    held = b""
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            return
        if not data:
            return
        held += data
        end = held.rfind(b"\r\n") + 2 if b"\r\n" in held else 0
        if end:
            yield held[:end]
            held = held[end:]


def _send(target: socket.socket, data: bytes) -> bool:
    try:
        target.sendall(data)
    except OSError:
        return False
    return True


def _drop(*sockets: socket.socket) -> None:
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


@pytest.fixture(scope="module")
def plain_dovecot() -> Iterator[Dovecot]:
    """A Dovecot without TLS, so the proxy can read the commands it relays."""
    server = start_dovecot(tls=False)
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def config_for(tmp_path: Path, dovecot: Dovecot, user: str, port: int, **mailbox: object) -> Path:
    """Plain IMAP on loopback (no STARTTLS offered, so none attempted), small batches, short timeout."""
    url = f"imap://{user}@127.0.0.1:{port}/INBOX"
    settings = {"url": url, "ca_file": None, "batch_size": 10, "timeout_seconds": 10, **mailbox}
    return write_config(tmp_path, dovecot, user, mailbox=settings)


def daemon_for(config_path: Path) -> Daemon:
    config = config_module.load(config_path, ENV)
    return Daemon(
        open_inbox=lambda: app.open_inbox(config, ENV, RedactSecrets()),
        store=app.open_store(config),
        engine=app.build_engine(config),
        clock=app.utc_now,
        poll_interval=60,
        idle=False,
        idle_timeout=1,
        reconnect_max=0.5,
        batch_size=config.settings.mailbox.batch_size,
    )


def assert_exactly_once(dovecot: Dovecot, user: str, store: Store, count: int) -> None:
    """Every message in INBOX has one finished outcome, at most one draft, and stays unread."""
    rows = store.messages()
    flags = inbox_flags(dovecot, user)
    assert len(flags) == count, "no message may be lost or moved away"
    assert sorted(row.ref.uid for row in rows) == sorted(flags), "one row per message, no more"
    assert all(row.status == "done" and row.outcome for row in rows), [(r.status, r.outcome) for r in rows]
    assert all(b"\\Seen" not in f for f in flags.values())
    everything = [str(d["Message-ID"]) for d in drafts(dovecot, user, "")]
    assert len(everything) == len(set(everything)), "a draft was saved twice"
    replies = {str(d["Message-ID"]) for d in drafts(dovecot, user)}
    assert replies == {row.draft_message_id for row in rows if row.draft_message_id}
    drafted = {row.ref.uid for row in rows if row.draft_message_id}
    assert drafted == {uid for uid, f in flags.items() if b"triage_drafted" in f}


@pytest.mark.parametrize(
    ("verb", "nth", "when"),
    [
        (b"FETCH", 4, "before"),  # the 2nd batch's bodies: the 1st batch is done, the 2nd received
        (b"FETCH", 4, "after"),
        (b"APPEND", 2, "before"),  # the 2nd batch's MULTIAPPEND never reaches the server
        (b"APPEND", 2, "after"),  # stored by the server, but the client never hears so
    ],
    ids=["fetch-before", "fetch-after", "append-before", "append-after"],
)
def test_the_daemon_reconnects_after_a_connection_cut_mid_command_and_loses_nothing(
    plain_dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: bytes, nth: int, when: str
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    user = plain_dovecot.add_user()
    count = append_mix(plain_dovecot, user)
    proxy = CuttingProxy(plain_dovecot.port, verb, nth, when)
    daemon = daemon_for(config_for(tmp_path, plain_dovecot, user, proxy.port))
    try:
        for _ in range(3):  # the cut poll, perhaps one on the dead connection, then a clean one
            daemon.poll_once()
            if all(row.status == "done" for row in daemon.store.messages()) and daemon.inbox is not None:
                break
        assert proxy.cut.is_set(), f"the proxy never saw {verb!r} #{nth}"
        assert proxy.connections >= 2, "the daemon reconnected"
        summary = daemon.poll_once()
        assert summary is not None and summary.seen == 0, "the next poll finds nothing left to do"
    finally:
        daemon._disconnect()
        daemon.store.close()
        proxy.close()
    assert_exactly_once(plain_dovecot, user, Store(tmp_path / "state.sqlite3"), count)


def test_run_once_fails_cleanly_when_the_connection_is_cut_and_the_next_run_completes(
    plain_dovecot: Dovecot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    user = plain_dovecot.add_user()
    count = append_mix(plain_dovecot, user)
    proxy = CuttingProxy(plain_dovecot.port, b"FETCH", 4, "before")
    try:
        config_path = config_for(tmp_path, plain_dovecot, user, proxy.port)
        assert main(["--config", str(config_path), "run", "--once"]) == 4  # EXIT_MAILBOX
        err = capsys.readouterr().err
        assert err.splitlines()[-1].startswith("triage: mailbox connection lost"), "one line saying why"
        assert "Traceback" not in err
        assert main(["--config", str(config_path), "run", "--once"]) == 0
    finally:
        proxy.close()
    assert_exactly_once(plain_dovecot, user, Store(tmp_path / "state.sqlite3"), count)


QUOTA = """
mail_plugins = $mail_plugins quota
plugin {{
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:messages={limit}
}}
"""


def start_dovecot_with_quota(limit: int) -> Dovecot:
    """conftest's server, restarted with Dovecot's quota plugin (lib10_quota_plugin, shipped with
    dovecot-imapd) allowing `limit` messages per user: settings later in the file win."""
    server = start_dovecot(tls=False)
    server.stop()
    with (server.root / "dovecot.conf").open("a") as conf:
        conf.write(QUOTA.format(limit=limit))
    server.start()
    return server


@pytest.mark.parametrize("room", [0, 5], ids=["full", "room-for-5"])
def test_drafts_refused_by_a_full_quota_stay_pending_and_are_drafted_once_there_is_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, room: int
) -> None:
    messages = len(list(DEMO.glob("*.eml"))) + 1  # append_mix: the demo mail and a malformed one
    filler = 60  # more than the drafts and briefs one poll of the mix writes
    server = start_dovecot_with_quota(messages + filler + room)
    try:
        user = server.add_user()
        assert append_mix(server, user) == messages
        client = server.client(user)
        client.create_folder("Archive")
        note = b"From: a@x.example\r\nSubject: old\r\n\r\nkept\r\n"
        client.multiappend("Archive", [note] * filler)  # the mailbox is now full, but for `room`
        config_path = config_for(tmp_path, server, user, server.port, batch_size=200)
        config = config_module.load(config_path, ENV)
        engine, store = app.build_engine(config), Store(config.database)

        def poll_once() -> int:
            inbox = app.open_inbox(config, ENV, RedactSecrets())
            try:
                return poll(inbox, store, engine, app.utc_now, batch_size=200).pending
            finally:
                inbox.close()

        with caplog.at_level(logging.ERROR, logger="triage.pipeline"):
            assert poll_once() == messages, "the whole refused batch is reported pending"
        assert "quota" in caplog.text.lower(), "the log says why: the server's quota message"
        assert all(row.status != "done" for row in store.messages())
        flags = inbox_flags(server, user)
        assert all(not any(k.startswith(b"triage_") or k == b"\\Seen" for k in f) for f in flags.values())
        # RFC 3502: a MULTIAPPEND that fails stores none of its messages
        assert drafts(server, user, "") == []

        assert poll_once() == messages, "still full: still pending, nothing written"
        client.delete_folder("Archive")  # room again
        client.logout()
        assert poll_once() == 0
        assert poll_once() == 0
        assert_exactly_once(server, user, store, messages)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def test_a_drafts_folder_the_server_refuses_to_create_is_a_clear_error(
    plain_dovecot: Dovecot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A name from a server whose separator is "." (Courier, Cyrus): Dovecot's Maildir++ refuses it."""
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    user = plain_dovecot.add_user()
    append_mix(plain_dovecot, user)
    config_path = config_for(tmp_path, plain_dovecot, user, plain_dovecot.port, drafts_folder="INBOX.Drafts")
    assert main(["--config", str(config_path), "run", "--once"]) == 4  # EXIT_MAILBOX
    err = capsys.readouterr().err
    assert "INBOX.Drafts" in err and "not allowed" in err
    assert all(b"\\Seen" not in f for f in inbox_flags(plain_dovecot, user).values())


def test_the_daemon_stops_instead_of_retrying_a_drafts_folder_the_server_refuses(
    plain_dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TRIAGE_PASSWORD", "secret")
    user = plain_dovecot.add_user()
    config_path = config_for(tmp_path, plain_dovecot, user, plain_dovecot.port, drafts_folder="INBOX.Drafts")
    daemon = daemon_for(config_path)
    attempts = []
    open_inbox = daemon.open_inbox

    def counted() -> object:
        attempts.append(1)
        return open_inbox()

    daemon.open_inbox = counted  # type: ignore[assignment]
    deadline = threading.Timer(2, daemon.stopping.set)  # a safety stop: the test must end either way
    deadline.start()
    try:
        with caplog.at_level(logging.WARNING):
            code = daemon.run()
    finally:
        deadline.cancel()
    assert len(attempts) == 1, f"retried a permanent refusal {len(attempts)} times"
    assert code != 0 and "INBOX.Drafts" in caplog.text
