"""Run a parsed command: every error becomes one line on stderr and an exit code (only here).

Exit codes: 0 ok, 1 unexpected error, 2 config or usage error, 3 login refused,
4 mailbox unreachable, 5 model refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from imapclient.exceptions import IMAPClientError

from triage.app.logs import RedactSecrets, configure
from triage.cli.answers import cmd_answers
from triage.cli.cases import cmd_open, cmd_resolve, cmd_show
from triage.cli.common import EXIT_AUTH, EXIT_CONFIG, EXIT_ERROR, EXIT_MAILBOX, EXIT_MODEL, EXIT_OK
from triage.cli.demo import cmd_demo
from triage.cli.model import cmd_classify, cmd_eval, cmd_model, cmd_relabel, cmd_train
from triage.cli.reports import cmd_export, cmd_report, cmd_status
from triage.cli.running import cmd_run
from triage.cli.setup import cmd_check_config, cmd_doctor, cmd_init
from triage.errors import (
    AuthenticationError,
    ConfigError,
    MailboxError,
    ModelError,
    TriageError,
)

Handler = Callable[[argparse.Namespace, RedactSecrets], int]
HANDLERS: dict[str, Handler] = {
    handler.__name__: handler
    for handler in (
        cmd_init,
        cmd_doctor,
        cmd_check_config,
        cmd_run,
        cmd_demo,
        cmd_classify,
        cmd_train,
        cmd_eval,
        cmd_relabel,
        cmd_model,
        cmd_resolve,
        cmd_open,
        cmd_show,
        cmd_status,
        cmd_report,
        cmd_export,
        cmd_answers,
    )
}
# most specific first: a refused login is also a mailbox error
EXIT_CODES: tuple[tuple[type[TriageError], int], ...] = (
    (ConfigError, EXIT_CONFIG),
    (AuthenticationError, EXIT_AUTH),
    (MailboxError, EXIT_MAILBOX),
    (ModelError, EXIT_MODEL),
    (TriageError, EXIT_ERROR),
)


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; every error becomes one line on stderr and an exit code."""
    handler = HANDLERS[args.handler]
    redactor = RedactSecrets()
    configure(args.log_level, args.log_format, redactor)
    try:
        return int(handler(args, redactor))
    except TriageError as exc:
        prefix = "configuration error: " if isinstance(exc, ConfigError) else ""
        print(f"triage: {prefix}{exc}", file=sys.stderr)
        return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))
    except (IMAPClientError, ConnectionError, TimeoutError) as exc:  # the connection died mid-command
        print(f"triage: mailbox connection lost: {exc}; nothing was lost, run again", file=sys.stderr)
        return EXIT_MAILBOX
    except KeyboardInterrupt:
        return EXIT_OK
