"""`triage init`: from a mailbox address to a tested, commented config.yaml.

Values come from flags; on a terminal, what is missing is asked for. The connection is
tested before anything is written, and the secret is never written: the file says
where it goes.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import imapclient

from triage import config as config_module
from triage.adapters.imap_inbox import connect, find_folder
from triage.app.logs import RedactSecrets
from triage.app.mailboxes import imap_access
from triage.errors import ConfigError

# provider -> (IMAP server, port, SMTP server, note for the secret)
PROVIDERS = {
    "gmail": (
        "imap.gmail.com",
        993,
        "smtp://smtp.gmail.com:587",
        "a Google app password (2-Step Verification on)",
    ),
    "microsoft": (
        "outlook.office365.com",
        993,
        "smtp://smtp.office365.com:587",
        "OAuth2 (mailbox.auth: xoauth2): Exchange Online turned basic authentication off",
    ),
}
DOMAINS = {
    "gmail.com": "gmail",
    "googlemail.com": "gmail",
    "outlook.com": "microsoft",
    "hotmail.com": "microsoft",
    "live.com": "microsoft",
    "office365.com": "microsoft",
}


@dataclass
class Answers:
    address: str = ""
    login: str = ""
    server: str = ""
    folder: str = "INBOX"
    security: str = ""  # tls (imaps) or starttls (imap); default: tls on port 993, else starttls
    auth: str = "password"
    password_file: str = ""
    token_command: str = ""
    ca_file: str = ""
    team_name: str = ""
    team_address: str = ""
    report_to: list[str] = field(default_factory=list)
    smtp_url: str = ""


@dataclass(frozen=True)
class Found:
    drafts: str | None
    sent: str | None
    idle: bool


def complete(answers: Answers, ask: Callable[[str, str], str] | None) -> Answers:
    """Fill what is missing: ask on a terminal (`ask(question, default)`), else fail naming the flag."""

    def need(flag: str, question: str, default: str = "") -> str:
        if ask is None:
            if default:
                return default
            raise ConfigError(flag, question, None)
        reply = ask(question, default).strip() or default
        if not reply:
            raise ConfigError(flag, question, None)
        return reply

    a = answers
    a.address = a.address or need("--address", "the support mailbox's address (support@example.com)")
    domain = a.address.rpartition("@")[2].lower()
    provider = DOMAINS.get(domain)
    default_server = (
        f"{PROVIDERS[provider][0]}:{PROVIDERS[provider][1]}" if provider else f"imap.{domain}:993"
    )
    a.server = a.server or need("--server", "the IMAP server, HOST[:PORT] (993: TLS)", default_server)
    a.login = a.login or need("--login", "the login name", a.address)
    if provider == "microsoft" and a.auth == "password" and ask is not None:
        a.auth = need("--auth", "login method: password or xoauth2 (Microsoft 365 needs xoauth2)", "xoauth2")
    if a.auth == "xoauth2" and not a.token_command:
        a.token_command = need("--token-command", "a command that prints a fresh OAuth2 access token")
    a.team_address = a.team_address or need("--team-address", "the address customers write to", a.address)
    a.team_name = a.team_name or need("--team-name", "the team's name, as drafts sign off", "Support Team")
    if not a.report_to and ask is not None:
        recipients = ask("who gets the weekly report (addresses, comma-separated; empty: nobody)", "")
        a.report_to = [r.strip() for r in recipients.split(",") if r.strip()]
    if a.report_to and not a.smtp_url:
        a.smtp_url = need(
            "--smtp-url",
            "the SMTP server for the report (smtp://host:587)",
            PROVIDERS[provider][2] if provider else "",
        )
    return a


def mailbox_url(a: Answers) -> str:
    host, _, port = a.server.partition(":")
    port = port or "993"
    security = a.security or ("tls" if port == "993" else "starttls")
    scheme = "imaps" if security == "tls" else "imap"  # imap: STARTTLS, else the login is refused
    return f"{scheme}://{quote(a.login, safe='')}@{host}:{port}/{quote(a.folder, safe='/')}"


def settings_of(a: Answers) -> dict[str, object]:
    mailbox: dict[str, object] = {"url": mailbox_url(a)}
    if a.auth == "xoauth2":
        mailbox.update(auth="xoauth2", oauth_token_command=a.token_command)
    if a.password_file:
        mailbox["password_file"] = a.password_file
    if a.ca_file:
        mailbox["ca_file"] = a.ca_file
    return {"mailbox": mailbox, "team": {"name": a.team_name, "address": a.team_address}}


def test_connection(a: Answers, environ: Mapping[str, str], password: Callable[[], str]) -> Found:
    """Log in as the daemon will and find Drafts and Sent; raises with the reason when it cannot."""
    config = config_module.from_mapping(settings_of(a), environ, Path.cwd())
    settings, secret = imap_access(config, environ, RedactSecrets())
    use_secret = (
        secret if a.auth == "xoauth2" or a.password_file or environ.get("TRIAGE_PASSWORD") else password
    )
    client = connect(settings, use_secret)
    try:
        if not client.folder_exists(a.folder):
            raise ConfigError("--folder", "a folder that exists", a.folder)
        drafts = find_folder(client, None, imapclient.imapclient.DRAFTS)
        sent = find_folder(client, None, imapclient.imapclient.SENT)
        return Found(drafts, sent, b"IDLE" in client.capabilities())
    finally:
        client.logout()


def render(a: Answers, found: Found | None) -> str:
    """A commented config.yaml with the answers; the shipped config.yaml documents every other key."""

    def v(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)  # JSON scalars are valid YAML, quoted safely

    secret = (
        f"comes from the command: {a.token_command}"
        if a.auth == "xoauth2"
        else f"is read from {a.password_file} (mode 0600)"
        if a.password_file
        else "comes from $TRIAGE_PASSWORD, or put it in a file (chmod 600) and set password_file"
    )
    lines = [
        "# triage configuration, written by `triage init`. Every key and its default is documented in",
        "# the config.yaml shipped with triage; what is not set here takes that default.",
        "",
        "mailbox:",
        f"  # the watched folder; the password {secret}",
        f"  url: {v(mailbox_url(a))}",
    ]
    if a.auth == "xoauth2":
        lines += ["  auth: xoauth2", f"  oauth_token_command: {v(a.token_command)}"]
    if a.password_file:
        lines.append(f"  password_file: {v(a.password_file)}")
    if a.ca_file:
        lines += ["  # the CA that signed the server's certificate", f"  ca_file: {v(a.ca_file)}"]
    if found is not None:
        lines.append("  # found by SPECIAL-USE when the connection was tested")
        lines.append(
            f"  drafts_folder: {v(found.drafts)}" if found.drafts else "  drafts_folder: null  # created"
        )
        lines.append(f"  sent_folder: {v(found.sent)}" if found.sent else "  sent_folder: null  # none found")
    lines += [
        "  # switching triage on over old mail: only mail that arrived on or after this date is drafted",
        "  only_since: null",
        "",
        "team:",
        f"  name: {v(a.team_name)}",
        "  # the address customers write to (From of the drafts)",
        f"  address: {v(a.team_address)}",
        "  # your team members' own addresses: their mail is never answered",
        "  own_addresses: []",
        '  signature: ""',
        "  timezone: UTC",
        "",
        "report:",
        "  # the weekly inbox-health report",
        f"  recipients: {v(a.report_to)}",
    ]
    if a.smtp_url:
        lines += [
            "  # STARTTLS (smtp://, port 587) or TLS (smtps://, 465); password from $TRIAGE_SMTP_PASSWORD",
            f"  smtp_url: {v(a.smtp_url)}",
        ]
    lines += [
        "",
        "routing:",
        "  # escalation briefs and reminders: saved to Drafts for a person to send (draft) or sent (email)",
        "  deliver: draft",
        "  default_owner: null",
        "",
    ]
    return "\n".join(lines)


def next_steps(path: Path, a: Answers) -> Sequence[str]:
    secret = (
        "the token command runs whenever triage logs in"
        if a.auth == "xoauth2"
        else f"the password stays in {a.password_file}"
        if a.password_file
        else "export TRIAGE_PASSWORD=... (or set mailbox.password_file to a file with mode 0600)"
    )
    return (
        f"wrote {path}",
        f"  secret: {secret}",
        f"  check:  triage --config {path} doctor",
        f"  shadow: triage --config {path} run --dry-run   (decides, writes nothing)",
        f"  run:    triage --config {path} run",
    )


def terminal_ask(question: str, default: str) -> str:
    suffix = f" [{default}]" if default else ""
    return input(f"{question}{suffix}: ")


def terminal_password(login: str) -> Callable[[], str]:
    return lambda: getpass.getpass(f"password for {login} (used for this test only, never written): ")
