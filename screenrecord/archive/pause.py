"""Pausing capture: a small file in the archive root that the running daemon reads every tick.

`ROOT/screenrecord.pause` holds one line: `indefinitely`, or the ISO 8601 time (with its UTC
offset) at which capturing starts again. No file, or a time that has passed, means capturing.
A file in the root (rather than a signal or the catalog) works whether the daemon runs or not,
from any shell of the user, and survives restarts: a pause set before a reboot still holds.
While paused the daemon takes no screenshot at all.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from screenrecord.archive import store
from screenrecord.errors import StoreError

FILE_NAME = "screenrecord.pause"
FOREVER = "indefinitely"


def path(root: Path) -> Path:
    return Path(root) / FILE_NAME


def state(root: Path, now: datetime | None = None) -> tuple[bool, datetime | None]:
    """(paused, until): until is when capturing resumes (aware local time), None if indefinitely.

    A damaged pause file counts as paused indefinitely: when in doubt, do not record.
    """
    try:
        text = path(root).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False, None
    except (OSError, UnicodeDecodeError):
        return True, None
    if text == FOREVER:
        return True, None
    try:
        until = datetime.fromisoformat(text)
    except ValueError:
        return True, None
    if until.tzinfo is None:
        until = until.astimezone()
    now = (now or datetime.now()).astimezone()
    if until <= now:
        return False, None
    return True, until


def pause(root: Path, duration: timedelta | None, now: datetime | None = None) -> datetime | None:
    """Pause capturing for `duration` (None: until resumed); returns when it resumes."""
    until = None if duration is None else (now or datetime.now()).astimezone() + duration
    text = FOREVER if until is None else until.isoformat(timespec="seconds")
    try:
        store.replace_atomic(path(root), (text + "\n").encode())
    except OSError as e:  # the temp file cannot even be made: a read-only or missing root
        raise StoreError(
            f"{path(root)}: cannot write ({e.strerror}); make the archive root writable to pause"
        ) from e
    return until


def resume(root: Path) -> bool:
    """Capture again; False if it was not paused."""
    if not os.path.lexists(path(root)):
        return False  # checked first: unlinking a missing file on a read-only root is EROFS
    was, _ = state(root)
    try:
        path(root).unlink()
    except FileNotFoundError:
        return False
    except OSError as e:
        raise StoreError(
            f"{path(root)}: cannot remove ({e.strerror}); make the archive root writable and "
            "run `screenrecord resume` again"
        ) from e
    store.fsync_dir(Path(root))
    return was


def describe(paused: bool, until: datetime | None) -> str:
    """One phrase for logs and `status`: 'paused until 2026-03-10 14:00', 'paused', 'capturing'."""
    if not paused:
        return "capturing"
    return "paused" if until is None else f"paused until {until:%Y-%m-%d %H:%M:%S}"
