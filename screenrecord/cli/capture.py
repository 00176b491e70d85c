"""`run` and `once`: the daemon, on a schedule or for one capture."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from screenrecord.cli.common import Shared, load_config
from screenrecord.errors import UsageError

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_run(sub: Subparsers, shared: Shared) -> None:
    r = sub.add_parser(
        "run",
        help="capture every monitor on a schedule, in the foreground",
        description="Captures every interval_seconds (or --every) until stopped (SIGTERM, "
        "Ctrl-C); SIGHUP reloads the config. Log lines carry the time, except in systemd's "
        "journal, which stamps each line itself.",
        parents=[shared.config],
    )
    r.add_argument(
        "--every",
        default=None,
        metavar="INTERVAL",
        help='capture every INTERVAL ("10s", "5m"; from 1s) instead of the config\'s '
        "interval_seconds, e.g. to try it out without a config file; a reload keeps it",
    )
    r.add_argument(
        "--log",
        default=None,
        metavar="FILE",
        help="append the log and any other output to FILE, creating its folder "
        "(what the XDG autostart entry uses: it has no shell to redirect output)",
    )
    r.set_defaults(func=do_run, stamped=True)


def _daemon_logging(verbose: int) -> None:
    """The daemon logs its decisions at INFO by default.

    Not for `once`: its decisions are what it prints; its log says only what went wrong.
    """
    if verbose == 0:
        logging.getLogger().setLevel(logging.INFO)


def do_run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from screenrecord import config, daemon

    every = config.every(args.every) if args.every is not None else None
    _daemon_logging(args.verbose)
    cfg = load_config(args.config).with_every(every)
    return daemon.Daemon(cfg, os.environ, Path(args.config) if args.config else None).run()


def add_once(sub: Subparsers, shared: Shared) -> None:
    o = sub.add_parser(
        "once", help="capture every monitor once and print each decision", parents=[shared.config]
    )
    # an interval means nothing to one capture; saying so beats argparse's "unrecognized
    # arguments" to someone trying `run --every` out
    o.add_argument(
        "--every",
        default=None,
        metavar="INTERVAL",
        help="not for `once`, which captures one time: use `run --every INTERVAL`",
    )
    o.set_defaults(func=do_once)


def do_once(args: argparse.Namespace) -> int:
    import os
    from datetime import datetime

    from screenrecord import daemon
    from screenrecord.archive import pause

    if args.every is not None:
        raise UsageError(
            f"once --every {args.every}: `once` captures one time and needs no interval; "
            f"to capture every {args.every}, use `screenrecord run --every {args.every}`"
        )
    cfg = load_config(args.config)
    paused = pause.state(cfg.root)
    if paused[0]:
        print(f"{pause.describe(*paused)}: nothing captured (`screenrecord resume` to capture)")
        return 0
    import sys

    records = daemon.once(cfg, os.environ, datetime.now(), ask=sys.stdin.isatty())
    if not records:
        print("no monitor to capture (check `monitors` in the config)")
    for r in records:
        print(f"monitor {r.monitor} {r.width}x{r.height}: {daemon.describe(r, cfg.root)}")
    return 1 if any(r.error for r in records) else 0
