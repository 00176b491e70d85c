"""`pause` and `resume`: stop capturing for a while, and start again."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from screenrecord.cli.common import Shared, load_config
from screenrecord.errors import UsageError

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_pause(sub: Subparsers, shared: Shared) -> None:
    pa = sub.add_parser(
        "pause", help="stop capturing for a while, or until `resume`", parents=[shared.config]
    )
    pa.add_argument(
        "duration",
        nargs="?",
        default=None,
        metavar="DURATION",
        help='e.g. "30m", "2h", "1d" (default: until `screenrecord resume`)',
    )
    pa.set_defaults(func=do_pause)


def do_pause(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from screenrecord.archive import pause
    from screenrecord.config import parse_duration

    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except (ValueError, OverflowError):  # OverflowError: more days than timedelta holds
            duration = timedelta(0)
        if duration is None or not timedelta(0) < duration <= timedelta(days=3650):
            raise UsageError(
                f'pause {args.duration}: give a duration like "30m", "2h", "1d" '
                "(at most 3650d), or nothing to pause until `screenrecord resume`"
            )
    cfg = load_config(args.config)
    until = pause.pause(cfg.root, duration)
    when = "until `screenrecord resume`" if until is None else f"until {until:%Y-%m-%d %H:%M:%S}"
    print(f"screenrecord: paused {when}; no screenshots are taken ({cfg.root})")
    return 0


def add_resume(sub: Subparsers, shared: Shared) -> None:
    re_ = sub.add_parser("resume", help="capture again after `pause`", parents=[shared.config])
    re_.set_defaults(func=do_resume)


def do_resume(args: argparse.Namespace) -> int:
    from screenrecord.archive import lock, pause

    cfg = load_config(args.config)
    if not pause.resume(cfg.root):
        print(f"screenrecord: was not paused ({cfg.root})")
    elif lock.holder(cfg.root) is None:
        print(
            f"screenrecord: no longer paused; no recorder is running on {cfg.root}, so capturing "
            "starts when one does (`screenrecord run`, or the service at login)"
        )
    else:
        print(f"screenrecord: capturing again ({cfg.root})")
    return 0
