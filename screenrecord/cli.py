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
