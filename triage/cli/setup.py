"""`triage init`, `doctor` and `check-config`: from an address to a setup known to work."""

from __future__ import annotations

import argparse
import sys

from triage import app
from triage import config as config_module
from triage.adapters import model_store
from triage.app.logs import RedactSecrets
from triage.cli.common import EXIT_OK, config_path, load_config
from triage.config.secrets import PASSWORD_ENV
from triage.errors import (
    ConfigError,
)


def cmd_init(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    from triage.cli import wizard

    if args.out.exists() and not args.force:
        raise ConfigError("--out", "a file that does not exist yet (or --force)", str(args.out))
    interactive = sys.stdin.isatty()
    answers = wizard.complete(
        wizard.Answers(
            address=args.address,
            login=args.login,
            server=args.server,
            folder=args.folder,
            security=args.security,
            auth=args.auth,
            password_file=args.password_file,
            token_command=args.token_command,
            ca_file=args.ca_file,
            team_name=args.team_name,
            team_address=args.team_address,
            report_to=list(args.report_to),
            smtp_url=args.smtp_url,
        ),
        wizard.terminal_ask if interactive else None,
    )
    found = None
    if not args.no_check:
        environ = config_module.environ()
        if not (
            interactive or answers.auth == "xoauth2" or answers.password_file or environ.get(PASSWORD_ENV)
        ):
            raise ConfigError(PASSWORD_ENV, "the password to test the login with (or --password-file)", None)
        print(f"testing {wizard.mailbox_url(answers)} ...")
        found = wizard.test_connection(answers, environ, wizard.terminal_password(answers.login))
        print(
            f"  login ok; Drafts: {found.drafts or 'none yet (triage creates it)'};"
            f" Sent: {found.sent or 'none found'}; IDLE: {'yes' if found.idle else 'no (triage polls)'}"
        )
    args.out.write_text(wizard.render(answers, found), encoding="utf-8")
    config_module.load(args.out, {})  # what was written must load
    print("\n".join(wizard.next_steps(args.out, answers)))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    from triage.cli import doctor

    findings = doctor.diagnose(config_path(args), config_module.environ(), args.mailbox)
    return doctor.render(findings, print)


def cmd_check_config(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config(args)
    app.build_drafter(config)
    info = model_store.read_info(config.model_dir)
    print(f"config ok: {config.source or '(defaults)'}")
    print(f"  mailbox   {config.mailbox.display()}")
    print(f"  database  {config.database}")
    print(f"  model     {config.model_dir} (version {info.version})")
    print(f"  templates {config.templates_dir}")
    return EXIT_OK
