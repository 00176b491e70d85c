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
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
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

    r = sub.add_parser("run", help="capture every monitor on a schedule, in the foreground")
    r.add_argument("--config", default=None, help="config file (default: the platform's)")
    r.set_defaults(func=_run)

    o = sub.add_parser("once", help="capture every monitor once and print each decision")
    o.add_argument("--config", default=None, help="config file (default: the platform's)")
    o.set_defaults(func=_once)

    w = sub.add_parser("why", help="explain from the catalog why a frame was kept or skipped")
    w.add_argument(
        "file",
        metavar="FILE",
        help="an archive file, or a frame name/time like 2026-03-10_10.00.00_1",
    )
    w.add_argument("--config", default=None, help="config file (default: the platform's)")
    w.set_defaults(func=_why)

    cfg = sub.add_parser("config", help="where the config is, write a default one, check one")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    cp = cfg_sub.add_parser("path", help="print the default config file path")
    cp.set_defaults(func=_config_path)
    ci = cfg_sub.add_parser("init", help="write a commented default config")
    ci.add_argument(
        "file", nargs="?", default=None, metavar="FILE", help="where (default: the platform's path)"
    )
    ci.set_defaults(func=_config_init)
    cc = cfg_sub.add_parser("check", help="validate a config file")
    cc.add_argument(
        "file", nargs="?", default=None, metavar="FILE", help="default: the platform's config"
    )
    cc.set_defaults(func=_config_check)

    h = sub.add_parser("highlights", help="the most unusual frames of a period")
    h.add_argument("path", metavar="PATH", help="archive root (or any folder of frames)")
    h.add_argument(
        "--since", default=None, metavar="DATE", help="from this date or time (inclusive)"
    )
    h.add_argument(
        "--until", default=None, metavar="DATE", help="up to this date (inclusive) or time"
    )
    h.add_argument("-n", type=int, default=20, metavar="N", help="how many frames (default 20)")
    h.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    h.add_argument("--copy-to", default=None, metavar="DIR", help="also copy the frames into DIR")
    h.set_defaults(func=_highlights)

    r = sub.add_parser("report", help="where the time went: active and unchanged time, per hour")
    r.add_argument("path", metavar="PATH", help="archive root")
    r.add_argument(
        "--day", default=None, metavar="DATE", help="one day (default: the last with captures)"
    )
    r.add_argument(
        "--since", default=None, metavar="DATE", help="from this date or time (inclusive)"
    )
    r.add_argument(
        "--until", default=None, metavar="DATE", help="up to this date (inclusive) or time"
    )
    r.add_argument("--json", action="store_true", help="the report as one JSON object")
    r.add_argument(
        "--html", default=None, metavar="OUT", help="write one HTML page per day into folder OUT"
    )
    r.set_defaults(func=_report)

    pa = sub.add_parser("pause", help="stop capturing for a while, or until `resume`")
    pa.add_argument(
        "duration",
        nargs="?",
        default=None,
        metavar="DURATION",
        help='e.g. "30m", "2h", "1d" (default: until `screenrecord resume`)',
    )
    pa.add_argument("--config", default=None, help="config file (default: the platform's)")
    pa.set_defaults(func=_pause)
    re_ = sub.add_parser("resume", help="capture again after `pause`")
    re_.add_argument("--config", default=None, help="config file (default: the platform's)")
    re_.set_defaults(func=_resume)
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


def _pause(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from screenrecord import pause
    from screenrecord.config import parse_duration

    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ValueError:
            duration = timedelta(0)
        if duration is None or not timedelta(0) < duration <= timedelta(days=3650):
            raise UsageError(
                f'pause {args.duration}: give a duration like "30m", "2h", "1d" '
                "(at most 3650d), or nothing to pause until `screenrecord resume`"
            )
    cfg = _load_config(args.config)
    until = pause.pause(cfg.root, duration)
    when = "until `screenrecord resume`" if until is None else f"until {until:%Y-%m-%d %H:%M:%S}"
    print(f"screenrecord: paused {when}; no screenshots are taken ({cfg.root})")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from screenrecord import pause

    cfg = _load_config(args.config)
    if pause.resume(cfg.root):
        print(f"screenrecord: capturing again ({cfg.root})")
    else:
        print(f"screenrecord: was not paused ({cfg.root})")
    return 0


def _dedup(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from tqdm import tqdm

    from screenrecord import dedup

    roots = [Path(p) for p in args.paths]
    base = _load_config(args.config).dedup_settings() if args.config else None
    settings = dedup.settings(
        base, args.duplicate_threshold, args.near_threshold, args.ring_size, args.device
    )
    show_bar = sys.stderr.isatty() and not args.json
    total = dedup.count_frames(roots) if show_bar else None
    with tqdm(
        total=total, unit="frame", disable=not show_bar, file=sys.stderr, dynamic_ncols=True
    ) as bar:
        try:
            summary = dedup.run(
                roots,
                settings,
                apply=args.apply,
                on_record=(lambda r: print(json.dumps(dedup.to_json(r)))) if args.json else None,
                on_progress=bar.update,
            )
        finally:
            sys.stdout.flush()
    head = (
        f"{summary.frames} frames: {summary.duplicate} duplicate, {summary.near} near, "
        f"{summary.new} new, {summary.errors} errors; {summary.ignored} other files ignored"
    )
    mb = summary.freed / 1e6
    if summary.applied:
        tail = f"moved {summary.moved} files ({mb:.1f} MB of duplicates into dedup/, near-duplicates into similar/)"
    else:
        tail = f"would free {mb:.1f} MB; nothing moved (dry run: add --apply to move them)"
    print(f"screenrecord dedup: {head}\n{tail}", file=sys.stderr if args.json else sys.stdout)
    return 1 if summary.errors else 0


def _undo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import dedup

    total_failed = 0
    for p in map(Path, args.paths):
        restored, failed = dedup.undo(p)
        total_failed += failed
        print(
            f"screenrecord undo: {p}: {restored} files put back"
            + (f", {failed} could not be" if failed else "")
        )
    return 1 if total_failed else 0


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import similarity

    score = similarity.compare_files(Path(args.a), Path(args.b), device=args.device)
    print(f"{score:.6f}")
    return 0


def _load_config(arg: str | None):
    from pathlib import Path

    from screenrecord import config

    return config.load(Path(arg) if arg else None)


def _daemon_logging(verbose: int) -> None:
    """The daemon logs its decisions at INFO by default; APScheduler only when asked (-vv)."""
    if verbose == 0:
        logging.getLogger().setLevel(logging.INFO)
    if verbose < 2:
        logging.getLogger("apscheduler").setLevel(logging.ERROR)


def _run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from screenrecord import daemon

    _daemon_logging(args.verbose)
    cfg = _load_config(args.config)
    return daemon.Daemon(cfg, os.environ, Path(args.config) if args.config else None).run()


def _once(args: argparse.Namespace) -> int:
    import os
    from datetime import datetime

    from screenrecord import capture, daemon, pause

    _daemon_logging(args.verbose)
    cfg = _load_config(args.config)
    paused = pause.state(cfg.root)
    if paused[0]:
        print(f"{pause.describe(*paused)}: nothing captured (`screenrecord resume` to capture)")
        return 0
    capture.check_session(os.environ)
    monitors = capture.monitors(os.environ)
    recorder = daemon.Recorder(cfg, os.environ)
    try:
        recorder.warm_up(monitors)
        records = recorder.tick(datetime.now())
    finally:
        recorder.close()
    if not records:
        print("no monitor to capture (check `monitors` in the config)")
    for r in records:
        print(f"monitor {r.monitor} {r.width}x{r.height}: {daemon.describe(r, cfg.root)}")
    return 1 if any(r.error for r in records) else 0


def _why(args: argparse.Namespace) -> int:
    from screenrecord import why

    print(why.explain(args.file, lambda: _load_config(args.config)))
    return 0


def _config_path(args: argparse.Namespace) -> int:
    from screenrecord import config

    print(config.default_path())
    return 0


def _config_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import config

    path = config.init(Path(args.file) if args.file else None)
    print(f"wrote {path}")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import config

    path = Path(args.file) if args.file else config.default_path()
    if not args.file and not path.exists():
        print(
            f"{path}: no config file; the built-in defaults apply (`screenrecord config init` writes them)"
        )
        return 0
    cfg = config.load(path)
    monitors = "all" if cfg.monitors == "all" else ", ".join(map(str, cfg.monitors))
    every = cfg.keep_at_least_every or "off"
    print(
        f"{path}: ok (root {cfg.root}, every {cfg.interval_seconds:g}s, monitors {monitors}, "
        f"near_action {cfg.dedup.near_action}, {cfg.storage.format}, keep_at_least_every {every})"
    )


def _archive(text: str):
    from pathlib import Path

    path = Path(text).expanduser()
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder; give the archive root")
    return path


def _highlights(args: argparse.Namespace) -> int:
    import json

    from screenrecord import highlights
    from screenrecord.report import parse_when

    root = _archive(args.path)
    if args.n < 1:
        raise UsageError(f"-n {args.n}: give at least 1")
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, end=True) if args.until else None
    picks = highlights.find(
        [root],
        since,
        until,
        n=args.n,
        catalog_scores=highlights.repeats(root, since, until),
        progress=sys.stderr.isatty(),
    )
    if args.copy_to:
        highlights.copy_frames(picks, _copy_dir(args.copy_to))
    for p in picks:
        if args.json:
            print(json.dumps(highlights.to_json(p)))
        else:
            print(
                f"{p.rank:>3}  {p.novelty:.3f}  {p.taken:%Y-%m-%d %H:%M:%S}  monitor {p.monitor}  {p.path}"
            )
    if not picks and not args.json:
        print("no unusual frames in this period", file=sys.stderr)
    return 0


def _copy_dir(text: str):
    from pathlib import Path

    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--copy-to {path}: is a file; give a folder")
    return path


def _report(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime, timedelta

    from screenrecord import report

    root = _archive(args.path)
    if args.day and (args.since or args.until):
        raise UsageError("--day cannot be combined with --since/--until")
    if args.day:
        since = report.parse_when(args.day)
        until = since + timedelta(days=1)
    elif args.since or args.until:
        since = report.parse_when(args.since) if args.since else datetime.min
        until = report.parse_when(args.until, end=True) if args.until else datetime.max
    else:
        last = report.latest_day(root)
        if last is None:
            raise UsageError(
                f"{root}: no frames here (names like YYYY-MM-DD_HH.MM.SS.ffffff_N.png)"
            )
        since = datetime.combine(last, datetime.min.time())
        until = since + timedelta(days=1)
    if since >= until:
        raise UsageError(f"--since {args.since} is not before --until {args.until}")
    rep = report.build(root, since, until)
    if args.json:
        print(json.dumps(report.to_json(rep)))
    else:
        print(report.format_text(rep))
    if args.html:
        from pathlib import Path

        from screenrecord import dayview

        for page in dayview.pages(rep, Path(args.html).expanduser(), progress=sys.stderr.isatty()):
            print(f"wrote {page}", file=sys.stderr)
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
    logging.basicConfig(
        level=level, format="screenrecord: %(levelname)s: %(message)s", stream=sys.stderr
    )


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
