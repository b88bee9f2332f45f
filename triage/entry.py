"""The `triage` program: parse the command line first (fast, so --help is instant), then run it."""

from __future__ import annotations

from collections.abc import Sequence

from triage.commandline import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from triage import cli  # the model stack loads only for a command that runs

    return cli.run(args)
