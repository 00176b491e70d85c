"""What the command modules share: the options parsed before or after a command's name, the
config and archive each command resolves, and this machine as the service commands see it."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from screenrecord import service
from screenrecord.errors import UsageError

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


CONFIG_HELP = "config file (default: the platform's)"


@dataclass(frozen=True)
class Shared:
    """Parent parsers of the options accepted before or after a command's name.

    A subparser fills its own namespace and copies every attribute over the top-level one, so
    its copies default to SUPPRESS: an option not given after the command leaves the value
    given before it (or the top-level default) alone. Given on both sides, the later one wins.
    """

    plain: argparse.ArgumentParser
    """-v, for commands that read no config."""
    config: argparse.ArgumentParser
    """-v and --config."""

    @staticmethod
    def config_meaning(help: str) -> argparse.ArgumentParser:
        """-v and --config, for a command whose --config means more than the file it reads.

        A parent's actions are shared by every parser built from it, so a help text of its own
        needs a parent of its own.
        """
        return options(help, suppress=True)


def options(config_help: str | None, suppress: bool) -> argparse.ArgumentParser:
    """-v, and --config with `config_help` unless that is None."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more log output (-vv: debug)",
    )
    if config_help is not None:
        p.add_argument(
            "--config",
            default=argparse.SUPPRESS if suppress else None,
            metavar="FILE",
            help=config_help,
        )
        p.set_defaults(reads_config=True)  # main refuses --config for the other commands
    return p


def add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since", default=None, metavar="DATE", help="from this date or time (inclusive)"
    )
    p.add_argument(
        "--until", default=None, metavar="DATE", help="up to this date (inclusive) or time"
    )


def add_archive_path(p: argparse.ArgumentParser, what: str) -> None:
    """The optional PATH of the commands that read an archive (`archive` resolves it)."""
    p.add_argument(
        "path",
        nargs="?",
        default=None,
        metavar="PATH",
        help=f"{what} (default: the configured root)",
    )


def load_config(arg: str | None):
    from pathlib import Path

    from screenrecord import config

    return config.load(Path(arg) if arg else None)


def idle_after(arg: str | None) -> float:
    """Seconds without input that count as idle (report, browse): `activity.idle_after` from
    --config, else the platform's config file, else the default."""
    return float(load_config(arg).activity.idle_after.total_seconds())


def archive(text: str | None, config: str | None) -> Path:
    """The folder PATH names, or else the configured archive root."""
    if text is not None:
        path = Path(text).expanduser()
        if not path.is_dir():
            raise UsageError(f"{path}: not a folder; give the archive root")
        return path
    cfg = load_config(config)
    if not cfg.root.is_dir():
        raise UsageError(
            f"{cfg.root}: no archive here yet (the root of {cfg.source or 'the built-in defaults'}); "
            "capture first, or give the archive's PATH"
        )
    return cfg.root


def host() -> service.Host:
    return service.Host.this_machine(os.environ)


def path(arg: str | None) -> Path | None:
    return Path(arg).expanduser() if arg else None
