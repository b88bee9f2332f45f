"""What every command shares: exit codes and finding the config."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from triage import config as config_module
from triage.config.loading import Config
from triage.errors import (
    ConfigError,
)

EXIT_OK = 0


EXIT_ERROR = 1


EXIT_CONFIG = 2


EXIT_AUTH = 3


EXIT_MAILBOX = 4


EXIT_MODEL = 5


CONFIG_ENV = "TRIAGE_CONFIG"


def config_path(args: argparse.Namespace) -> Path | None:
    path: Path | None = args.config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if path is None and Path("config.yaml").exists():
        path = Path("config.yaml")
    return path


def load_config(args: argparse.Namespace) -> Config:
    """The one mailbox a command works on: --mailbox NAME, else the first."""
    return config_module.load(config_path(args), config_module.environ(), args.mailbox)


def load_configs(args: argparse.Namespace) -> list[Config]:
    """Every mailbox of the config, or just --mailbox NAME."""
    if args.mailbox:
        return [load_config(args)]
    return config_module.load_all(config_path(args), config_module.environ())


def load_config_or_defaults(args: argparse.Namespace) -> Config:
    """Commands that never touch the mailbox work without one configured."""
    try:
        return load_config(args)
    except ConfigError as exc:
        if exc.key != "mailbox.url":
            raise
        return config_module.from_mapping({"mailbox": {"url": "maildir:///nonexistent"}}, {}, Path.cwd())


def load_configs_or_defaults(args: argparse.Namespace) -> list[Config]:
    """What the figures cover: every mailbox of the config (or just --mailbox NAME), else the defaults."""
    try:
        return load_configs(args)
    except ConfigError as exc:
        if exc.key != "mailbox.url":
            raise
        return [load_config_or_defaults(args)]
