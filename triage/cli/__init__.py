"""The `triage` command. Parsing comes first and loads nothing heavy, so `--help` is instant."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from triage.cli.commandline import build_parser

    args = build_parser().parse_args(argv)
    from triage.cli.dispatch import run  # the model stack loads only for a command that runs

    return run(args)
