"""`dedup`, `undo` and `compare`: repeated frames of an existing archive, and the score itself."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from screenrecord.cli.common import Shared, load_config
from screenrecord.cli.terminal import TerminalBar
from screenrecord.config.units import count, size

if TYPE_CHECKING:
    from screenrecord import dedup
    from screenrecord.cli.common import Subparsers


def add_dedup(sub: Subparsers, shared: Shared) -> None:
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
        help="SSIM above which a frame is a duplicate, moved into dedup/ (default: the config file's, else 0.99)",
    )
    d.add_argument(
        "--near-threshold",
        type=float,
        default=None,
        metavar="S",
        help="SSIM above which it is a near-duplicate, moved into similar/ (default: the config file's, else 0.95)",
    )
    d.add_argument(
        "--ring-size",
        type=int,
        default=None,
        metavar="N",
        help="how many recent kept frames of a monitor each frame is compared with (default: the config file's, else 100)",
    )
    d.add_argument(
        "--device",
        default=None,
        help="auto | cpu | cuda | mps (default: the config file's, else auto)",
    )
    d.add_argument(
        "--no-local-changes",
        dest="keep_local_changes",
        action="store_const",
        const=False,
        default=None,
        help="the score alone decides: a frame above the duplicate threshold is a duplicate even "
        "if a line of it changed (default: the config file's keep_local_changes, else true)",
    )
    d.set_defaults(func=do_dedup)


def do_dedup(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from screenrecord import dedup

    roots = [Path(p) for p in args.paths]
    base = load_config(args.config).dedup_settings()  # the daemon's thresholds, as it decides
    settings = dedup.settings(
        base,
        args.duplicate_threshold,
        args.near_threshold,
        args.ring_size,
        args.device,
        args.keep_local_changes,
    )
    with (
        TerminalBar("dedup", enabled=sys.stderr.isatty() and not args.json) as bar,
        stop_on_sigint() if args.apply else contextlib.nullcontext(None) as stop,
    ):
        try:
            summary = dedup.run(
                roots,
                settings,
                apply=args.apply,
                on_record=(lambda r: print(json.dumps(dedup.to_json(r)))) if args.json else None,
                on_progress=bar,
                stop=stop,
            )
        finally:
            sys.stdout.flush()
    if summary.interrupted:
        print(f"screenrecord dedup: {interrupted(summary)}", file=sys.stderr)
        return 130
    head = (
        f"{count(summary.frames, 'frame')}: {summary.duplicate} duplicate, {summary.near} near, "
        f"{summary.new} new, {count(summary.errors, 'error')}; "
        f"{count(summary.ignored, 'other file')} ignored"
    )
    if summary.finished:
        head = f"finished the interrupted run: moved {count(summary.finished, 'file')}; then {head}"
    freed = size(summary.freed)
    if summary.applied:
        tail = f"moved {count(summary.moved, 'file')} ({freed} of duplicates into dedup/, near-duplicates into similar/)"
    else:
        tail = f"would free {freed}; nothing moved (dry run: add --apply to move them)"
    print(f"screenrecord dedup: {head}\n{tail}", file=sys.stderr if args.json else sys.stdout)
    return 1 if summary.errors else 0


@contextlib.contextmanager
def stop_on_sigint() -> Iterator[Callable[[], bool]]:
    """Ctrl-C (SIGINT) asks `dedup --apply` to stop before its next frame or move, so that it
    can tell exactly what it moved; a second Ctrl-C stops it at once (KeyboardInterrupt). A dry
    run moves nothing and keeps Python's own handler: it stops at once."""
    asked = threading.Event()

    def on_sigint(signum: int, frame: object) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupted(summary: dedup.Summary) -> str:
    """One line for a run cut short by Ctrl-C: what was moved, and that a rerun finishes."""
    again = "run the same command again to finish"
    earlier = f"moved {count(summary.finished, 'file')} of an earlier interrupted run"
    if summary.stage in ("listing", "finishing"):
        moved = earlier if summary.finished else "nothing moved"
        return f"interrupted before deciding any frame: {moved}; {again}"
    if summary.stage == "deciding":
        moved = f"{earlier}, nothing of this run" if summary.finished else "nothing moved"
        return f"interrupted after deciding {count(summary.frames, 'frame')}: {moved}; {again}"
    done = f"moved {summary.moved} of {count(summary.planned, 'file')}"
    if summary.finished:
        done += f" (and {summary.finished} of an earlier interrupted run)"
    left = summary.planned - summary.moved
    if summary.stage == "done":
        return f"interrupted as it ended: {done}; nothing is left to do"
    if left == 0:
        return f"interrupted: {done}; {again} (it tells the catalog where they went)"
    return f"interrupted while moving files: {done}; {again} (the {left} left are in the journal)"


def add_undo(sub: Subparsers, shared: Shared) -> None:
    u = sub.add_parser(
        "undo", help="put back every file an earlier `dedup --apply` moved", parents=[shared.plain]
    )
    u.add_argument(
        "paths", nargs="+", metavar="PATH", help="the folders given to that `dedup --apply`"
    )
    u.set_defaults(func=do_undo)


def do_undo(args: argparse.Namespace) -> int:
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


def add_compare(sub: Subparsers, shared: Shared) -> None:
    c = sub.add_parser("compare", help="print the SSIM score of two images", parents=[shared.plain])
    c.add_argument("a", metavar="A.png", help="one image")
    c.add_argument("b", metavar="B.png", help="the other, of the same size")
    c.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: auto)")
    c.set_defaults(func=do_compare)


def do_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord.engine.compare import compare_files

    score = compare_files(Path(args.a), Path(args.b), device=args.device)
    print(f"{score:.6f}")
    return 0
