"""Command line: the top parser, logging set-up, and the single error boundary.

Each command group has a module of its own here, its parser builders (`add_<command>`) beside
their handlers (`do_<command>`); a handler parses, calls one library function, prints.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from screenrecord import __version__
from screenrecord.archive import store
from screenrecord.cli import (
    capture,
    config,
    dedup,
    pause,
    retention,
    review,
    service,
    setup,
    status,
)
from screenrecord.cli.common import CONFIG_HELP, Shared, options
from screenrecord.errors import ScreenrecordError, UsageError

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]

BUILDERS = (  # the order of `screenrecord --help`: what people use most comes first
    capture.add_run,
    capture.add_once,
    status.add_status,
    service.add_service,
    setup.add_setup,
    pause.add_pause,
    pause.add_resume,
    review.add_why,
    review.add_report,
    review.add_browse,
    review.add_highlights,
    config.add_config,
    dedup.add_dedup,
    dedup.add_undo,
    retention.add_prune,
    dedup.add_compare,
)
"""One builder per command: each adds its command's parser, the handler set as `func`."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="screenrecord",
        description="A visual diary of your computer: every monitor, kept only when it changed.",
        parents=[options(CONFIG_HELP, suppress=False)],
    )
    p.add_argument("--version", action="version", version=f"screenrecord {__version__}")
    p.set_defaults(reads_config=False, log=None, stamped=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    shared = Shared(options(None, suppress=True), options(CONFIG_HELP, suppress=True))
    for add in BUILDERS:
        add(sub, shared)
    return p


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
    output, and a log file should hold tracebacks and warnings too, not only log lines. The log
    tells when the screen was locked and the user idle, so it is private like the archive: a
    new file is 0600 and the folders made for it 0700, whatever the umask.
    """
    try:
        store.make_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, store.FILE_MODE)
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
