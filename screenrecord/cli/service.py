"""`service install`, `uninstall`, `status` and `logs`: start screenrecord at login."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from screenrecord import service
from screenrecord.cli import status
from screenrecord.cli.common import Shared, host, path

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_service(sub: Subparsers, shared: Shared) -> None:
    sv = sub.add_parser(
        "service",
        help="start screenrecord at login (launchd, systemd, XDG, Windows)",
        parents=[shared.plain],
    )
    actions = sv.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    target_help = "launchd | systemd | xdg | windows (default: this machine's)"
    si = actions.add_parser(
        "install",
        help="start the daemon at login, and now",
        description="--config: the config file the service starts the daemon with",
        parents=[
            shared.config_meaning(
                "the config file the service starts the daemon with (default: the platform's)"
            )
        ],
    )
    si.add_argument("--target", choices=service.TARGETS, default=None, help=target_help)
    si.add_argument(
        "--dry-run", action="store_true", help="print the files and commands, change nothing"
    )
    si.add_argument("--no-start", action="store_true", help="only at the next login, not now")
    si.set_defaults(func=do_install)
    su = actions.add_parser(
        "uninstall",
        help="stop it and remove what install created (never the archive)",
        parents=[shared.plain],
    )
    su.add_argument("--target", choices=service.TARGETS, default=None, help=target_help)
    su.add_argument(
        "--dry-run", action="store_true", help="print what would be removed, change nothing"
    )
    su.set_defaults(func=do_uninstall)
    ss = actions.add_parser(
        "status",
        help="same as `screenrecord status`",
        description=status.DESCRIPTION,
        parents=[shared.config_meaning(status.CONFIG_HELP)],
    )
    ss.set_defaults(func=status.do_status)
    sl = actions.add_parser("logs", help="show the daemon's recent log", parents=[shared.plain])
    sl.add_argument("--target", choices=service.TARGETS, default=None, help=target_help)
    sl.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    sl.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    sl.set_defaults(func=do_logs)


def _show(outcome: service.Outcome) -> int:
    for line in outcome.lines:
        print(line)
    if outcome.problem:
        print(f"screenrecord: {outcome.problem}", file=sys.stderr)
    return outcome.exit_code


def do_install(args: argparse.Namespace) -> int:
    return _show(
        service.install(
            host(),
            path(args.config),
            args.target,
            start=not args.no_start,
            dry_run=args.dry_run,
        )
    )


def do_uninstall(args: argparse.Namespace) -> int:
    return _show(service.uninstall(host(), args.target, dry_run=args.dry_run))


def do_logs(args: argparse.Namespace) -> int:
    import os

    found = service.logs(host(), args.target, args.lines, args.follow)
    if found.command is not None:
        os.execvp(found.command[0], found.command)
    for line in found.lines:
        print(line, end="", flush=args.follow)
    return 0
