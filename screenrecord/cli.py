"""Command line: subcommands that wire library calls together, and the single error boundary."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from screenrecord import __version__
from screenrecord.errors import ScreenrecordError, UsageError

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
