"""One daemon, several mailboxes: each its own connection and state; a failing one stalls none."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, Dovecot, free_port
from tests.test_daemon import append, start_daemon, wait_for_drafts
from triage import config as config_module
from triage.errors import ConfigError


def many_config(tmp_path: Path, entries: list[dict[str, object]], **top: object) -> Path:
    settings: dict[str, object] = {
        "team": {"name": "Northwind Support", "address": "support@northwind.example"},
        "classifier": {"model_dir": str(REPO / "models")},
        "drafting": {"templates_dir": str(REPO / "templates")},
        "state": {"database": str(tmp_path / "state.sqlite3")},
        "mailboxes": entries,
        **top,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def test_each_mailbox_gets_its_own_state_and_password(tmp_path: Path) -> None:
    path = many_config(
        tmp_path,
        [
            {"name": "billing", "mailbox": {"url": "imaps://billing@mail.example.com/INBOX"}},
            {
                "name": "wholesale",
                "mailbox": {"url": "imaps://trade@mail.example.com/INBOX"},
                "team": {"address": "trade@northwind.example"},
                "state": {"database": str(tmp_path / "trade.db")},
            },
        ],
    )
    environ = {
        "TRIAGE_PASSWORD": "shared",
        "TRIAGE_PASSWORD_BILLING": "b-secret",
        "TRIAGE_MAILBOX": "maildir:///x",
    }
    billing, wholesale = config_module.load_all(path, environ)
    assert (billing.name, billing.database.name) == ("billing", "state-billing.sqlite3")
    assert wholesale.database == tmp_path / "trade.db"
    assert billing.mailbox.user == "billing", "$TRIAGE_MAILBOX cannot stand for several mailboxes"
    assert wholesale.settings.team.address == "trade@northwind.example"
    assert wholesale.settings.team.name == "Northwind Support", "sections are merged key by key"
    assert config_module.read_password(billing.settings.mailbox, environ, billing.password_env) == "b-secret"
    assert (
        config_module.read_password(wholesale.settings.mailbox, environ, wholesale.password_env) == "shared"
    )
    assert config_module.load(path, environ, "wholesale") == wholesale


@pytest.mark.parametrize(
    ("entries", "key"),
    [
        ([{"mailbox": {"url": "imaps://a@h/INBOX"}}], "mailboxes[0].name"),
        ([{"name": "a", "mailbox": {"url": "imaps://a@h/INBOX"}}, {"name": "a"}], "mailboxes[1].name"),
        ([{"name": "a", "mailbox": {"url": "ftp://a@h"}}], "mailboxes[0].mailbox.url"),
        (
            [{"name": "a", "mailbox": {"url": "imaps://a@h/INBOX", "batch_size": 0}}],
            "mailboxes[0].mailbox.batch_size",
        ),
    ],
)
def test_a_bad_mailbox_entry_is_named_in_the_error(
    tmp_path: Path, entries: list[dict[str, object]], key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config_module.load_all(many_config(tmp_path, entries), {})
    assert error.value.key == key


def test_an_unknown_mailbox_name_is_a_clear_error(tmp_path: Path) -> None:
    path = many_config(tmp_path, [{"name": "billing", "mailbox": {"url": "imaps://b@h/INBOX"}}])
    with pytest.raises(ConfigError, match="one of \\['billing'\\]"):
        config_module.load(path, {}, "sales")


def test_a_mailbox_that_is_down_or_refuses_the_login_never_stalls_the_others(
    dovecot: Dovecot, private_dovecot: Dovecot, tmp_path: Path
) -> None:
    good, refused, down_user = dovecot.add_user(), dovecot.add_user(), private_dovecot.add_user()
    down_url = private_dovecot.url(down_user)
    private_dovecot.stop()  # nothing listens there any more
    port = free_port()
    ca = str(dovecot.ca_file)
    config = many_config(
        tmp_path,
        [
            {"name": "down", "mailbox": {"url": down_url, "ca_file": ca}},
            {"name": "refused", "mailbox": {"url": dovecot.url(refused), "ca_file": ca}},
            {"name": "good", "mailbox": {"url": dovecot.url(good), "ca_file": ca}},
        ],
        daemon={
            "poll_interval_seconds": 600,
            "idle_timeout_seconds": 60,
            "reconnect_max_seconds": 2,
            "metrics_port": port,
        },
    )
    log = tmp_path / "daemon.log"
    daemon = start_daemon(config, tmp_path, TRIAGE_PASSWORD_REFUSED="wrong")
    try:
        time.sleep(3)
        append(dovecot, good, 0)
        assert wait_for_drafts(dovecot, good, 1, timeout=20) == 1, log.read_text()
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert f'triage_mailbox_up{{mailbox="{good}@127.0.0.1"}} 1.0' in metrics
        assert f'triage_mailbox_up{{mailbox="{refused}@127.0.0.1"}} 0.0' in metrics
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    text = log.read_text()
    assert "refused: " in text and "login" in text.lower()
    assert "down: cannot reach the mailbox" in text
    assert "secret" not in text and "wrong" not in text.replace("wrong password", "")
