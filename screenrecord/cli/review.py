"""`why`, `report`, `browse` and `highlights`: reading the archive back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from screenrecord.cli.common import (
    Shared,
    add_archive_path,
    add_period,
    archive,
    idle_after,
    load_config,
)
from screenrecord.cli.terminal import TerminalBar
from screenrecord.errors import UsageError

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_why(sub: Subparsers, shared: Shared) -> None:
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
    w.set_defaults(func=do_why)


def do_why(args: argparse.Namespace) -> int:
    from screenrecord.review import why

    print(why.explain(args.file, lambda: load_config(args.config)))
    return 0


def add_report(sub: Subparsers, shared: Shared) -> None:
    r = sub.add_parser(
        "report",
        help="where the time went: active and unchanged time, per hour",
        parents=[shared.config],
    )
    add_archive_path(r, "archive root")
    r.add_argument(
        "--day", default=None, metavar="DATE", help="one day (default: the last with captures)"
    )
    add_period(r)
    r.add_argument("--json", action="store_true", help="the report as one JSON object")
    r.add_argument(
        "--html", default=None, metavar="OUT", help="write the period's browse site into OUT"
    )
    r.set_defaults(func=do_report)


def do_report(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime, timedelta

    from screenrecord.review import report

    root = archive(args.path, args.config)
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
    rep = report.build(root, since, until, idle_after(args.config))
    if args.json:
        print(json.dumps(report.to_json(rep)))
    else:
        print(report.format_text(rep))
    if args.html:
        from screenrecord.review import site

        with TerminalBar("highlights", enabled=sys.stderr.isatty()) as bar:
            written = site.of_report(rep, Path(args.html).expanduser(), on_progress=bar)
        for page in written:
            print(f"wrote {page}", file=sys.stderr)
    return 0


def add_browse(sub: Subparsers, shared: Shared) -> None:
    b = sub.add_parser(
        "browse",
        help="write or update the archive's site and open a day that plays in the browser",
        parents=[shared.config],
    )
    add_archive_path(b, "archive root")
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
    b.set_defaults(func=do_browse)


def do_browse(args: argparse.Namespace) -> int:
    import webbrowser
    from datetime import date

    from screenrecord.review import site

    root = archive(args.path, args.config)
    day = None
    if args.day is not None:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise UsageError(f"--day {args.day!r}: not a date; use YYYY-MM-DD") from None
    out = Path(args.out).expanduser() if args.out else None
    page = site.browse(root, out, day, date.today(), idle_after=idle_after(args.config))
    if not args.no_open:
        webbrowser.open(page.absolute().as_uri())
    print(page)
    return 0


def add_highlights(sub: Subparsers, shared: Shared) -> None:
    h = sub.add_parser(
        "highlights", help="the most unusual frames of a period", parents=[shared.config]
    )
    add_archive_path(h, "archive root, or any folder of frames")
    add_period(h)
    h.add_argument("-n", type=int, default=20, metavar="N", help="how many frames (default 20)")
    h.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    h.add_argument("--copy-to", default=None, metavar="DIR", help="also copy the frames into DIR")
    h.set_defaults(func=do_highlights)


def do_highlights(args: argparse.Namespace) -> int:
    import json

    from screenrecord.review import highlights
    from screenrecord.review.report import parse_when

    root = archive(args.path, args.config)
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
