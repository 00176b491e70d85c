"""Command line: subcommands that wire library calls together, and the single error boundary."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from screenrecord import __version__, service
from screenrecord.errors import ScreenrecordError, UsageError
from screenrecord.service import TARGETS

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="screenrecord",
        description="A visual diary of your computer: every monitor, kept only when it changed.",
    )
    p.add_argument("--version", action="version", version=f"screenrecord {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    d = sub.add_parser("dedup", help="move repeated frames of an existing archive aside")
    d.add_argument("paths", nargs="+", metavar="PATH", help="archive folders or files")
    d.add_argument("--apply", action="store_true", help="move files (default: dry run)")
    d.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    d.add_argument("--duplicate-threshold", type=float, default=None, metavar="S")
    d.add_argument("--near-threshold", type=float, default=None, metavar="S")
    d.add_argument("--ring-size", type=int, default=None, metavar="N")
    d.add_argument("--device", default=None, help="auto | cpu | cuda | mps")
    d.add_argument("--config", default=None, help="config file (default: the platform's)")
    d.set_defaults(func=_dedup)

    u = sub.add_parser("undo", help="put back every file an earlier `dedup --apply` moved")
    u.add_argument("paths", nargs="+", metavar="PATH")
    u.set_defaults(func=_undo)

    c = sub.add_parser("compare", help="print the SSIM score of two images")
    c.add_argument("a", metavar="A.png")
    c.add_argument("b", metavar="B.png")
    c.add_argument("--device", default="auto")
    c.set_defaults(func=_compare)
    st = sub.add_parser("status", help="is it running, where it writes, what it last did")
    st.add_argument(
        "--config", default=None, help="config file (default: the service's, else the platform's)"
    )
    st.set_defaults(func=_status)

    sv = sub.add_parser(
        "service", help="start screenrecord at login (launchd, systemd, XDG, Windows)"
    )
    svsub = sv.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    target_help = "launchd | systemd | xdg | windows (default: this machine's)"
    si = svsub.add_parser("install", help="start the daemon at login, and now")
    si.add_argument("--target", choices=TARGETS, default=None, help=target_help)
    si.add_argument(
        "--config", default=None, help="config file the service uses (default: the platform's)"
    )
    si.add_argument(
        "--dry-run", action="store_true", help="print the files and commands, change nothing"
    )
    si.add_argument("--no-start", action="store_true", help="only at the next login, not now")
    si.set_defaults(func=_service_install)
    su = svsub.add_parser(
        "uninstall", help="stop it and remove what install created (never the archive)"
    )
    su.add_argument("--target", choices=TARGETS, default=None, help=target_help)
    su.add_argument(
        "--dry-run", action="store_true", help="print what would be removed, change nothing"
    )
    su.set_defaults(func=_service_uninstall)
    ss = svsub.add_parser("status", help="same as `screenrecord status`")
    ss.add_argument("--config", default=None)
    ss.set_defaults(func=_status)
    sl = svsub.add_parser("logs", help="show the daemon's recent log")
    sl.add_argument("--target", choices=TARGETS, default=None, help=target_help)
    sl.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    sl.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    sl.set_defaults(func=_service_logs)
    return p


def _dedup(args: argparse.Namespace) -> int:
    from screenrecord import dedup

    return dedup.main(args)


def _undo(args: argparse.Namespace) -> int:
    from screenrecord import dedup

    return dedup.undo_main(args)


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import similarity

    score = similarity.compare_files(Path(args.a), Path(args.b), device=args.device)
    print(f"{score:.6f}")
    return 0


def _host() -> service.Host:
    import os
    from pathlib import Path

    uid = os.getuid() if hasattr(os, "getuid") else 0
    return service.Host(sys.platform, dict(os.environ), Path(sys.executable), uid)


def _native_targets(host: service.Host) -> list[str]:
    return [t for t in TARGETS if host.native(t)]


def _service_install(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import config

    host = _host()
    conf = Path(args.config).expanduser().absolute() if args.config else None
    config.load(conf)  # a service that could only fail at every login helps no one
    notes: list[str] = []
    target = args.target
    if target is None:
        target, notes = service.detect(host)
    warning = service.refuse_unsupported(target, host, explicit=args.target is not None)
    plan = service.install_plan(target, host, conf, start=not args.no_start)
    plan.notes[:0] = notes + ([warning] if warning else [])
    if args.dry_run:
        print(plan.describe())
        return 0
    for line in service.apply(plan):
        print(line)
    print(f"installed: {service.layout(target, host).file}")
    if target == "launchd" and host.native(target) and plan.commands:
        problem = service.launchd_check(host)
        if problem:
            print(f"screenrecord: {problem}", file=sys.stderr)
            return 1
        print("the agent is running")
    return 0


def _service_uninstall(args: argparse.Namespace) -> int:
    host = _host()
    targets = [args.target] if args.target else _native_targets(host)
    found = [t for t in targets if service.layout(t, host).file.exists()]
    if not found:
        print(f"not installed ({', '.join(str(service.layout(t, host).file) for t in targets)})")
        return 0
    for target in found:
        plan = service.uninstall_plan(target, host)
        if args.dry_run:
            print(plan.describe())
            continue
        for line in service.apply(plan):
            print(line)
    return 0


def _service_logs(args: argparse.Namespace) -> int:
    import os
    import time

    host = _host()
    if args.target:
        target = args.target
    else:
        present = service.installed(host, targets=_native_targets(host))
        if not present:
            raise UsageError("no service installed: nothing to show (screenrecord service install)")
        target = present[0].target
    where = service.logs_command(target, host, args.lines, args.follow)
    if isinstance(where, list):
        os.execvp(where[0], where)
    if not where.exists():
        print(f"{where}: no log yet")
        return 0
    with open(where, encoding="utf-8", errors="replace") as f:
        for line in _tail(f, args.lines):
            print(line, end="")
        while args.follow:
            line = f.readline()
            if line:
                print(line, end="", flush=True)
            else:
                time.sleep(0.5)
    return 0


def _tail(f, lines: int) -> list[str]:
    from collections import deque

    return list(deque(f, maxlen=max(lines, 0)))


def _status(args: argparse.Namespace) -> int:
    from datetime import datetime
    from pathlib import Path

    from screenrecord import config, status

    host = _host()
    services = service.installed(host, targets=_native_targets(host))
    path = Path(args.config).expanduser() if args.config else None
    if path is None:
        path = next((i.config for i in services if i.config is not None), None)
    shown = path or config.default_path()
    root = interval = error = None
    try:
        conf = config.load(path)
        root, interval = conf.root, conf.interval_seconds
    except ScreenrecordError as e:
        error = str(e)
    s = status.gather(
        datetime.now(), services, shown if shown.exists() or path else None, root, interval, error
    )
    print(status.format_status(s))
    return 0


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="screenrecord: %(levelname)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    setup_logging(args.verbose)
    try:
        return args.func(args)
    except ScreenrecordError as e:
        log.debug("error", exc_info=True)
        print(f"screenrecord: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("screenrecord: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


__all__ = ["main", "UsageError"]
