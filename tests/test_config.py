"""Config is validated once; every error names the key, what was expected and what was found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from triage import config
from triage.cli import main
from triage.errors import ConfigError


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> config.Config:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return config.load(path, environ or {})


def test_the_shipped_config_yaml_is_valid() -> None:
    shipped = config.load(Path(__file__).parent.parent / "config.yaml", {})
    assert shipped.mailbox.scheme == "maildir"


def documented_keys(text: str) -> dict[str, str]:
    """section.key -> its comment in config.yaml (the comment lines right above it, or inline)."""
    keys: dict[str, str] = {}
    section, comments = "", []
    for line in text.splitlines():
        if re.match(r"^[a-z_]+:", line):
            section, comments = line.split(":")[0], []
        elif match := re.match(r"^  ([a-z_]+):(.*)$", line):
            inline = match.group(2).split(" # ", 1)[1] if " # " in match.group(2) else ""
            keys[f"{section}.{match.group(1)}"] = " ".join([*comments, inline]).strip()
            comments = []
        elif comment := re.match(r"^\s*# ?(.*)$", line):
            if not re.match(r"^(\s|-\s|[a-z_]+:(\s|$))", comment.group(1)):  # not a commented-out example
                comments.append(comment.group(1))
        elif not line.strip():
            comments = []
    return keys


def settings_keys() -> list[str]:
    return [
        f"{name}.{key}"
        for name, section in config.Settings.model_fields.items()
        for key in section.annotation.model_fields  # type: ignore[union-attr]
    ]


def test_every_settings_key_is_explained_in_its_section_of_config_yaml() -> None:
    documented = documented_keys((REPO / "config.yaml").read_text())
    for key in settings_keys():
        assert documented.get(key), f"{key} has no comment in config.yaml"
    assert "mailboxes" in (REPO / "config.yaml").read_text()


def test_every_settings_key_is_in_the_readmes_reference() -> None:
    readme = (REPO / "README.md").read_text()
    for key in settings_keys():
        assert f"`{key}`" in readme, f"{key} is not in the README's configuration reference"


@pytest.mark.parametrize(
    ("text", "key", "found"),
    [
        ("mailbox: {url: 'imaps://u@h/INBOX', batch_size: 0}", "mailbox.batch_size", 0),
        ("mailbox: {url: 'imaps://u@h/INBOX'}\nclassifier: {threshold: 2}", "classifier.threshold", 2),
        ("mailbox: {url: 'imaps://u@h/INBOX'}\nteam: {address: nobody}", "team.address", "nobody"),
        ("mailbox: {url: 'imaps://u@h/INBOX'}\nteam: {timezone: Mars/Base}", "team.timezone", "Mars/Base"),
        ("mailbox: {url: 'imaps://u@h/INBOX', batchsize: 5}", "mailbox.batchsize", 5),
        ("mailbox: {url: 'pop3://u@h/'}", "mailbox.url", "pop3://u@h/"),
        ("mailbox: {url: 'imaps://u@h/INBOX', auth: kerberos}", "mailbox.auth", "kerberos"),
    ],
)
def test_errors_name_key_expected_and_found(tmp_path: Path, text: str, key: str, found: object) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.key == key
    assert caught.value.found == found
    assert caught.value.expected
    assert key in str(caught.value)


def test_a_password_in_config_yaml_is_refused_and_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "mailbox: {url: 'imaps://u@h/INBOX', password: hunter2}")
    assert caught.value.key == "mailbox.password"
    assert "hunter2" not in str(caught.value)


def test_a_password_in_the_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "mailbox: {url: 'imaps://u:hunter2@h/INBOX'}")
    assert "hunter2" not in str(caught.value)


def test_the_mailbox_url_comes_from_the_environment_first(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "mailbox: {url: 'imaps://u@h/INBOX'}",
        {"TRIAGE_MAILBOX": "imap://bob@127.0.0.1:1143/Support"},
    )
    assert (loaded.mailbox.scheme, loaded.mailbox.user, loaded.mailbox.port, loaded.mailbox.folder) == (
        "imap",
        "bob",
        1143,
        "Support",
    )


@pytest.mark.parametrize(
    ("url", "scheme", "port", "folder"),
    [
        ("imaps://support@imap.example.com:993/INBOX", "imaps", 993, "INBOX"),
        ("imaps://support%40example.com@imap.example.com", "imaps", 993, "INBOX"),
        ("imap://support@mail.example.com/Team%20Inbox", "imap", 143, "Team Inbox"),
    ],
)
def test_mailbox_urls(url: str, scheme: str, port: int, folder: str) -> None:
    parsed = config.parse_mailbox_url(url, Path("/"))
    assert (parsed.scheme, parsed.port, parsed.folder) == (scheme, port, folder)


def test_maildir_urls_resolve_relative_to_the_config_file(tmp_path: Path) -> None:
    loaded = load(tmp_path, "mailbox: {url: 'maildir://mail/support'}")
    assert loaded.mailbox.path == tmp_path / "mail" / "support"


def test_the_database_defaults_to_the_xdg_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    loaded = load(tmp_path, "mailbox: {url: 'imaps://u@h/INBOX'}")
    assert loaded.database == tmp_path / "xdg" / "triage" / "state.sqlite3"


def test_password_from_environment_or_file(tmp_path: Path) -> None:
    settings = config.MailboxSettings()
    assert config.read_password(settings, {"TRIAGE_PASSWORD": "pw"}) == "pw"
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    assert config.read_password(config.MailboxSettings(password_file=secret), {}) == "from-file"
    with pytest.raises(ConfigError) as caught:
        config.read_password(settings, {})
    assert caught.value.key == "TRIAGE_PASSWORD"


def test_oauth_token_from_a_command() -> None:
    settings = config.MailboxSettings(auth="xoauth2", oauth_token_command="echo token-123")
    assert config.read_oauth_token(settings) == "token-123"


def test_check_config_exits_2_with_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mailbox: {url: 'imaps://u@h/INBOX'}\nclassifier: {threshold: high}\n")
    assert main(["--config", str(path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "classifier.threshold" in err and "'high'" in err


def test_check_config_reports_a_good_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "mailbox: {url: 'imaps://u@h/INBOX'}\n"
        f"classifier: {{model_dir: {Path(__file__).parent.parent / 'models'}}}\n"
        f"drafting: {{templates_dir: {Path(__file__).parent.parent / 'templates'}}}\n"
    )
    assert main(["--config", str(path), "check-config"]) == 0
    assert "config ok" in capsys.readouterr().out


def test_routes_from_config_reach_the_policy(tmp_path: Path) -> None:
    from triage import app

    loaded = load(
        tmp_path,
        """
mailbox: {url: 'imaps://u@h/INBOX'}
routing:
  default_owner: {name: Dana Reyes, role: customer care lead}
  routes:
    - name: payments
      keywords: [chargeback]
      owner: {name: Priya Shah, address: priya@x.example, role: payments lead}
      reply_within_hours: 2
""",
    )
    policy = app.build_policy(loaded)
    assert [r.name for r in policy.routes] == ["payments"] and policy.routes[0].reply_within_hours == 2
    assert (
        policy.default_route is not None
        and policy.default_route.owner.describe() == "Dana Reyes, our customer care lead"
    )


def test_a_route_without_an_owner_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "mailbox: {url: 'imaps://u@h/INBOX'}\nrouting: {routes: [{name: x, keywords: [a]}]}\n")
    assert caught.value.key == "routing.routes.0.owner"


def test_a_bare_yaml_off_means_off(tmp_path: Path) -> None:
    assert (
        load(
            tmp_path, "mailbox: {url: 'imaps://u@h/INBOX'}\nrouting: {deliver: off}"
        ).settings.routing.deliver
        == "off"
    )
