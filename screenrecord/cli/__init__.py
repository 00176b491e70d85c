"""Command line: subcommands that wire library calls together, and the single error boundary."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screenrecord import __version__, service
from screenrecord.config.units import count
from screenrecord.errors import ScreenrecordError, UsageError

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]


_CONFIG_HELP = "config file (default: the platform's)"


@dataclass(frozen=True)
class _Shared:
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
        return _options(help, suppress=True)


def _options(config_help: str | None, suppress: bool) -> argparse.ArgumentParser:
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="screenrecord",
        description="A visual diary of your computer: every monitor, kept only when it changed.",
        parents=[_options(_CONFIG_HELP, suppress=False)],
    )
    p.add_argument("--version", action="version", version=f"screenrecord {__version__}")
    p.set_defaults(reads_config=False, log=None, stamped=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    shared = _Shared(_options(None, suppress=True), _options(_CONFIG_HELP, suppress=True))
    for add in (  # the order of `screenrecord --help`: what people use most comes first
        _add_run,
        _add_once,
        _add_status,
        _add_service,
        _add_pause,
        _add_resume,
        _add_why,
        _add_report,
        _add_browse,
        _add_highlights,
        _add_config,
        _add_dedup,
        _add_undo,
        _add_prune,
        _add_compare,
    ):
        add(sub, shared)
    return p


def _add_dedup(sub: Subparsers, shared: _Shared) -> None:
    d = sub.add_parser(
        "dedup", help="move repeated frames of an existing archive aside", parents=[shared.config]
    )
    d.add_argument("paths", nargs="+", metavar="PATH", help="archive folders or files")
    d.add_argument("--apply", action="store_true", help="move files (default: dry run)")
    d.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    d.add_argument(
        "--duplicate-threshold",
        type=float,
        default=None,
        metavar="S",
        help="SSIM above which a frame is a duplicate, moved into dedup/ (default: the --config file's, else 0.99)",
    )
    d.add_argument(
        "--near-threshold",
        type=float,
        default=None,
        metavar="S",
        help="SSIM above which it is a near-duplicate, moved into similar/ (default: the --config file's, else 0.95)",
    )
    d.add_argument(
        "--ring-size",
        type=int,
        default=None,
        metavar="N",
        help="how many recent kept frames of a monitor each frame is compared with (default: the --config file's, else 100)",
    )
    d.add_argument(
        "--device",
        default=None,
        help="auto | cpu | cuda | mps (default: the --config file's, else auto)",
    )
    d.set_defaults(func=_dedup)


def _add_undo(sub: Subparsers, shared: _Shared) -> None:
    u = sub.add_parser(
        "undo", help="put back every file an earlier `dedup --apply` moved", parents=[shared.plain]
    )
    u.add_argument(
        "paths", nargs="+", metavar="PATH", help="the folders given to that `dedup --apply`"
    )
    u.set_defaults(func=_undo)


def _add_prune(sub: Subparsers, shared: _Shared) -> None:
    p = sub.add_parser(
        "prune",
        help="thin old days by the config's [retention] (dry run unless --apply)",
        parents=[shared.config],
    )
    _add_archive_path(p, "archive root")
    p.add_argument("--apply", action="store_true", help="delete the files (default: dry run)")
    p.add_argument("--json", action="store_true", help="the plan (and what was done) as JSON")
    p.set_defaults(func=_prune)


def _prune(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime

    from screenrecord.config.units import size
    from screenrecord.retention import plan as retention
    from screenrecord.retention import prune

    cfg = _load_config(args.config)
    root = _archive(args.path, args.config)
    if not cfg.retention.active:
        where = cfg.source or "the built-in defaults"
        print(
            f"screenrecord prune: retention is off in {where}: nothing is removed (set [retention] thin or max_bytes)",
            file=sys.stderr if args.json else sys.stdout,
        )
        return 0
    stretches = retention.Stretches.of(cfg.interval_seconds, cfg.activity.idle_after)
    done = prune.run(root, cfg.retention, datetime.now(), args.apply, stretches)
    p = done.plan
    if args.json:
        out = retention.to_json(p) | {
            "applied": done.applied,
            "removed": done.removed,
            "freed": done.freed,
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(
            f"{'month':<9} {'frames gone':>12} {'bytes gone':>11} {'frames kept':>12} {'bytes kept':>11}"
        )
        for m in p.months:
            print(
                f"{m.month:<9} {m.gone:>12,} {size(m.gone_bytes):>11} {m.kept:>12,} {size(m.kept_bytes):>11}"
            )
        gone = sum(m.gone for m in p.months)
        freed = p.size_before - p.size_after
        if done.applied:
            tail = f"deleted {count(done.removed, 'file')} ({size(done.freed)}); {size(p.size_after)} of frames kept"
        else:
            tail = f"would delete {count(gone, 'file')} ({size(freed)}), {size(p.size_after)} of frames kept; nothing deleted (dry run: add --apply to delete them)"
        print(f"screenrecord prune: {root}: {tail}")
    if p.warning:
        print(f"screenrecord: warning: {p.warning}", file=sys.stderr)
    return 0


def _add_compare(sub: Subparsers, shared: _Shared) -> None:
    c = sub.add_parser("compare", help="print the SSIM score of two images", parents=[shared.plain])
    c.add_argument("a", metavar="A.png", help="one image")
    c.add_argument("b", metavar="B.png", help="the other, of the same size")
    c.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: auto)")
    c.set_defaults(func=_compare)


def _add_run(sub: Subparsers, shared: _Shared) -> None:
    r = sub.add_parser(
        "run",
        help="capture every monitor on a schedule, in the foreground",
        description="Captures every interval_seconds until stopped (SIGTERM, Ctrl-C); SIGHUP "
        "reloads the config. Log lines carry the time, except in systemd's journal, which "
        "stamps each line itself.",
        parents=[shared.config],
    )
    r.add_argument(
        "--log",
        default=None,
        metavar="FILE",
        help="append the log and any other output to FILE, creating its folder "
        "(what the XDG autostart entry uses: it has no shell to redirect output)",
    )
    r.set_defaults(func=_run, stamped=True)


def _add_once(sub: Subparsers, shared: _Shared) -> None:
    o = sub.add_parser(
        "once", help="capture every monitor once and print each decision", parents=[shared.config]
    )
    o.set_defaults(func=_once)


def _add_why(sub: Subparsers, shared: _Shared) -> None:
    w = sub.add_parser(
        "why",
        help="explain from the catalog why a frame was kept or skipped",
        parents=[shared.config],
    )
    w.add_argument(
        "file",
        metavar="FILE",
        help="an archive file, or a frame name/time like 2026-03-10_10.00.00_1",
    )
    w.set_defaults(func=_why)


def _add_config(sub: Subparsers, shared: _Shared) -> None:
    cfg = sub.add_parser(
        "config",
        help="where the config is, write a default one, check one",
        parents=[shared.plain],
    )
    actions = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    cp = actions.add_parser(
        "path", help="print the default config file path", parents=[shared.plain]
    )
    cp.set_defaults(func=_config_path)
    ci = actions.add_parser("init", help="write a commented default config", parents=[shared.plain])
    ci.add_argument(
        "file", nargs="?", default=None, metavar="FILE", help="where (default: the platform's path)"
    )
    ci.set_defaults(func=_config_init)
    cc = actions.add_parser("check", help="validate a config file", parents=[shared.plain])
    cc.add_argument(
        "file", nargs="?", default=None, metavar="FILE", help="default: the platform's config"
    )
    cc.set_defaults(func=_config_check)


def _add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since", default=None, metavar="DATE", help="from this date or time (inclusive)"
    )
    p.add_argument(
        "--until", default=None, metavar="DATE", help="up to this date (inclusive) or time"
    )


def _add_archive_path(p: argparse.ArgumentParser, what: str) -> None:
    """The optional PATH of the commands that read an archive (`_archive` resolves it)."""
    p.add_argument(
        "path",
        nargs="?",
        default=None,
        metavar="PATH",
        help=f"{what} (default: the configured root)",
    )


def _add_highlights(sub: Subparsers, shared: _Shared) -> None:
    h = sub.add_parser(
        "highlights", help="the most unusual frames of a period", parents=[shared.config]
    )
    _add_archive_path(h, "archive root, or any folder of frames")
    _add_period(h)
    h.add_argument("-n", type=int, default=20, metavar="N", help="how many frames (default 20)")
    h.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    h.add_argument("--copy-to", default=None, metavar="DIR", help="also copy the frames into DIR")
    h.set_defaults(func=_highlights)


def _add_report(sub: Subparsers, shared: _Shared) -> None:
    r = sub.add_parser(
        "report",
        help="where the time went: active and unchanged time, per hour",
        parents=[shared.config],
    )
    _add_archive_path(r, "archive root")
    r.add_argument(
        "--day", default=None, metavar="DATE", help="one day (default: the last with captures)"
    )
    _add_period(r)
    r.add_argument("--json", action="store_true", help="the report as one JSON object")
    r.add_argument(
        "--html", default=None, metavar="OUT", help="write the period's browse site into OUT"
    )
    r.set_defaults(func=_report)


def _add_browse(sub: Subparsers, shared: _Shared) -> None:
    b = sub.add_parser(
        "browse",
        help="write or update the archive's site and open a day that plays in the browser",
        parents=[shared.config],
    )
    _add_archive_path(b, "archive root")
    b.add_argument(
        "--day",
        default=None,
        metavar="DATE",
        help="the day to open, YYYY-MM-DD (default: today, else the last with captures)",
    )
    b.add_argument(
        "--out", default=None, metavar="DIR", help="the site's folder (default: ROOT/site)"
    )
    b.add_argument(
        "--no-open", action="store_true", help="only write the site; do not start a browser"
    )
    b.set_defaults(func=_browse)


def _add_pause(sub: Subparsers, shared: _Shared) -> None:
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
    pa.set_defaults(func=_pause)


def _add_resume(sub: Subparsers, shared: _Shared) -> None:
    re_ = sub.add_parser("resume", help="capture again after `pause`", parents=[shared.config])
    re_.set_defaults(func=_resume)


_STATUS_CONFIG = "without --config: the config the installed service uses, else the platform's"
_STATUS_CONFIG_HELP = (
    "config file (default: the one the installed service uses, else the platform's)"
)


def _add_status(sub: Subparsers, shared: _Shared) -> None:
    st = sub.add_parser(
        "status",
        help="is it running, where it writes, what it last did",
        description=_STATUS_CONFIG,
        parents=[shared.config_meaning(_STATUS_CONFIG_HELP)],
    )
    st.set_defaults(func=_status)


def _add_service(sub: Subparsers, shared: _Shared) -> None:
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
    si.set_defaults(func=_service_install)
    su = actions.add_parser(
        "uninstall",
        help="stop it and remove what install created (never the archive)",
        parents=[shared.plain],
    )
    su.add_argument("--target", choices=service.TARGETS, default=None, help=target_help)
    su.add_argument(
        "--dry-run", action="store_true", help="print what would be removed, change nothing"
    )
    su.set_defaults(func=_service_uninstall)
    ss = actions.add_parser(
        "status",
        help="same as `screenrecord status`",
        description=_STATUS_CONFIG,
        parents=[shared.config_meaning(_STATUS_CONFIG_HELP)],
    )
    ss.set_defaults(func=_status)
    sl = actions.add_parser("logs", help="show the daemon's recent log", parents=[shared.plain])
    sl.add_argument("--target", choices=service.TARGETS, default=None, help=target_help)
    sl.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    sl.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    sl.set_defaults(func=_service_logs)


def _pause(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from screenrecord.archive import pause
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
    from screenrecord.archive import lock, pause

    cfg = _load_config(args.config)
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


def _dedup(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from screenrecord import dedup

    roots = [Path(p) for p in args.paths]
    base = _load_config(args.config).dedup_settings() if args.config else None
    settings = dedup.settings(
        base, args.duplicate_threshold, args.near_threshold, args.ring_size, args.device
    )
    with TerminalBar("dedup", enabled=sys.stderr.isatty() and not args.json) as bar:
        try:
            summary = dedup.run(
                roots,
                settings,
                apply=args.apply,
                on_record=(lambda r: print(json.dumps(dedup.to_json(r)))) if args.json else None,
                on_progress=bar,
            )
        finally:
            sys.stdout.flush()
    head = (
        f"{count(summary.frames, 'frame')}: {summary.duplicate} duplicate, {summary.near} near, "
        f"{summary.new} new, {count(summary.errors, 'error')}; "
        f"{count(summary.ignored, 'other file')} ignored"
    )
    mb = summary.freed / 1e6
    if summary.applied:
        tail = f"moved {count(summary.moved, 'file')} ({mb:.1f} MB of duplicates into dedup/, near-duplicates into similar/)"
    else:
        tail = f"would free {mb:.1f} MB; nothing moved (dry run: add --apply to move them)"
    print(f"screenrecord dedup: {head}\n{tail}", file=sys.stderr if args.json else sys.stdout)
    return 1 if summary.errors else 0


def _undo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import dedup
    from screenrecord.archive.journal import FILE_NAME as JOURNAL

    total_failed = 0
    for p in map(Path, args.paths):
        done = dedup.undo(p)
        if not done.journal:  # not an error: the folder is as dedup found it
            print(f"screenrecord: {p}: no dedup journal here ({JOURNAL}); nothing to undo")
            continue
        total_failed += done.failed
        print(
            f"screenrecord undo: {p}: {count(done.restored, 'file')} put back"
            + (f", {done.failed} could not be" if done.failed else "")
        )
    return 1 if total_failed else 0


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord.engine import similarity

    score = similarity.compare_files(Path(args.a), Path(args.b), device=args.device)
    print(f"{score:.6f}")
    return 0


def _load_config(arg: str | None):
    from pathlib import Path

    from screenrecord import config

    return config.load(Path(arg) if arg else None)


def _idle_after(arg: str | None) -> float:
    """Seconds without input that count as idle (report, browse): `activity.idle_after` from
    --config, else the platform's config file, else the default."""
    return float(_load_config(arg).activity.idle_after.total_seconds())


def _daemon_logging(verbose: int) -> None:
    """The daemon logs its decisions at INFO by default; APScheduler only when asked (-vv).

    Not for `once`: its decisions are what it prints; its log says only what went wrong.
    """
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

    from screenrecord import daemon
    from screenrecord.archive import pause

    cfg = _load_config(args.config)
    paused = pause.state(cfg.root)
    if paused[0]:
        print(f"{pause.describe(*paused)}: nothing captured (`screenrecord resume` to capture)")
        return 0
    records = daemon.once(cfg, os.environ, datetime.now())
    if not records:
        print("no monitor to capture (check `monitors` in the config)")
    for r in records:
        print(f"monitor {r.monitor} {r.width}x{r.height}: {daemon.describe(r, cfg.root)}")
    return 1 if any(r.error for r in records) else 0


def _why(args: argparse.Namespace) -> int:
    from screenrecord.review import why

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
    p = cfg.privacy
    print(
        f"{path}: ok (root {cfg.root}, every {cfg.interval_seconds:g}s, monitors {monitors}, "
        f"near_action {cfg.dedup.near_action}, {cfg.storage.format}, keep_at_least_every {every}, "
        f"retention {_retention(cfg.retention)}, "
        f"excluding {count(len(p.exclude_apps), 'app')} and "
        f"{count(len(p.exclude_titles), 'title pattern')})"
    )
    return 0


def _retention(r: Any) -> str:
    """`off`, or the schedule in the config's words: `keep_all 14d, thin 14d: 6/h, ...`."""
    from screenrecord.config.units import size

    if not r.active:
        return "off"
    thin = ", ".join(map(str, r.thin)) or "none"
    budget = size(r.max_bytes) if r.max_bytes is not None else "off"
    return f"keep_all {r.keep_all_days}d, thin {thin}, max_bytes {budget}"


def _archive(text: str | None, config: str | None) -> Path:
    """The folder PATH names, or else the configured archive root."""
    if text is not None:
        path = Path(text).expanduser()
        if not path.is_dir():
            raise UsageError(f"{path}: not a folder; give the archive root")
        return path
    cfg = _load_config(config)
    if not cfg.root.is_dir():
        raise UsageError(
            f"{cfg.root}: no archive here yet (the root of {cfg.source or 'the built-in defaults'}); "
            "capture first, or give the archive's PATH"
        )
    return cfg.root


def _highlights(args: argparse.Namespace) -> int:
    import json

    from screenrecord.review import highlights
    from screenrecord.review.report import parse_when

    root = _archive(args.path, args.config)
    if args.n < 1:
        raise UsageError(f"-n {args.n}: give at least 1")
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, end=True) if args.until else None
    with TerminalBar("highlights", enabled=sys.stderr.isatty()) as bar:
        picks = highlights.find(
            [root],
            since,
            until,
            n=args.n,
            catalog_scores=highlights.repeats(root, since, until),
            on_progress=bar,
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

    from screenrecord.review import report

    root = _archive(args.path, args.config)
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
    rep = report.build(root, since, until, _idle_after(args.config))
    if args.json:
        print(json.dumps(report.to_json(rep)))
    else:
        print(report.format_text(rep))
    if args.html:
        from pathlib import Path

        from screenrecord.review import site

        out, workers = Path(args.html).expanduser(), min(2, os.cpu_count() or 1)
        with TerminalBar("highlights", enabled=sys.stderr.isatty()) as bar:
            written = site.of_report(rep, out, workers, on_progress=bar)
        for page in written:
            print(f"wrote {page}", file=sys.stderr)
    return 0


def _browse(args: argparse.Namespace) -> int:
    import webbrowser
    from datetime import date

    from screenrecord.review import site

    root = _archive(args.path, args.config)
    day = None
    if args.day is not None:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise UsageError(f"--day {args.day!r}: not a date; use YYYY-MM-DD") from None
    out = Path(args.out).expanduser() if args.out else None
    workers = min(2, os.cpu_count() or 1)
    page = site.browse(root, out, day, date.today(), workers, _idle_after(args.config))
    if not args.no_open:
        webbrowser.open(page.absolute().as_uri())
    print(page)
    return 0


def _host() -> service.Host:
    import os

    return service.Host.this_machine(os.environ)


def _path(arg: str | None) -> Path | None:
    return Path(arg).expanduser() if arg else None


def _show(outcome: service.Outcome) -> int:
    for line in outcome.lines:
        print(line)
    if outcome.problem:
        print(f"screenrecord: {outcome.problem}", file=sys.stderr)
    return outcome.exit_code


def _service_install(args: argparse.Namespace) -> int:
    return _show(
        service.install(
            _host(),
            _path(args.config),
            args.target,
            start=not args.no_start,
            dry_run=args.dry_run,
        )
    )


def _service_uninstall(args: argparse.Namespace) -> int:
    return _show(service.uninstall(_host(), args.target, dry_run=args.dry_run))


def _service_logs(args: argparse.Namespace) -> int:
    import os

    found = service.logs(_host(), args.target, args.lines, args.follow)
    if found.command is not None:
        os.execvp(found.command[0], found.command)
    for line in found.lines:
        print(line, end="", flush=args.follow)
    return 0


def _status(args: argparse.Namespace) -> int:
    from datetime import datetime

    from screenrecord.review import status

    s = status.collect(datetime.now(), service.discover(_host()), _path(args.config), os.environ)
    print(status.format_status(s))
    return 0


class TerminalBar:
    """A tqdm progress bar on stderr (a `models.Progress`), drawn only when `enabled`."""

    def __init__(self, desc: str, enabled: bool, unit: str = "frame") -> None:
        self.desc = desc
        self.enabled = enabled
        self.unit = unit
        self._bar: Any = None  # tqdm ships no types

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.close()
        if self.enabled:
            self._bar = tqdm(
                total=total, desc=self.desc, unit=self.unit, leave=False, dynamic_ncols=True
            )

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TerminalBar:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_TIME = "%Y-%m-%d %H:%M:%S"
"""The time before each line of a log file: local time to the second, as `status` shows it."""


def setup_logging(verbose: int, stamped: bool = False) -> None:
    """Log to stderr: warnings, -v info, -vv debug; `stamped` puts the time before each line."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    fmt = "screenrecord: %(levelname)s: %(message)s"
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {fmt}" if stamped else fmt,
        datefmt=_TIME,
        stream=sys.stderr,
    )
    # PIL logs every PNG chunk it reads at DEBUG (`STREAM b'IHDR' 16 13`): noise, even at -vv.
    logging.getLogger("PIL").setLevel(max(level, logging.INFO))


def _journal_is_stderr(environ: Mapping[str, str]) -> bool:
    """Whether stderr is the systemd journal, which stamps every line itself.

    systemd sets JOURNAL_STREAM to the device and inode of the stream it connects to the
    journal; a child whose stderr went elsewhere (`run --log`, a pipe) inherits the variable,
    so the stream itself is compared, as systemd.exec(5) advises.
    """
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):  # no real stderr (a test's captured stream)
        return False
    return environ.get("JOURNAL_STREAM") == f"{st.st_dev}:{st.st_ino}"


def _append_output(path: Path) -> None:
    """Send this process's stdout and stderr to the end of `path`, creating its folder.

    For `run --log`: an XDG autostart entry runs the daemon with no shell to redirect its
    output, and a log file should hold tracebacks and warnings too, not only log lines.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as e:
        raise UsageError(
            f"--log {path}: cannot write ({e.strerror}); choose another file"
        ) from None
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, sys.stdout.fileno())
    os.dup2(fd, sys.stderr.fileno())
    os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.config is not None and not args.reads_config:
            parser.error(f"argument --config: `{args.command}` reads no config")
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    stamped = False
    try:
        if args.log is not None:
            _append_output(Path(args.log).expanduser())
        stamped = args.stamped and not _journal_is_stderr(os.environ)
        setup_logging(args.verbose, stamped)
        return args.func(args)
    except ScreenrecordError as e:
        log.debug("error", exc_info=True)
        when = time.strftime(_TIME) + " " if stamped else ""
        print(f"{when}screenrecord: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("screenrecord: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


__all__ = ["main", "UsageError"]
