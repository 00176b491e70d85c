"""One process changes an archive at a time: `run`, `once`, `dedup --apply` and `undo` hold
ROOT/.screenrecord.lock while they write into it.

Two recorders on one archive would each delete the other's half-written temporary files at start
and interleave their catalog rows; a `dedup --apply` beside a recorder would move files under it.
The lock is an OS lock on an open file (flock, or msvcrt on Windows), so it goes away with the
process however it ends, and whether it is held tells a running recorder from a stopped one
(`status`). The file keeps the holder's pid and what it is doing, for the message the second one
prints, and what the holder wants `status` to know (note(): frames it cannot store). A process may take its own archive's lock again (a reload of the config builds the new
recorder before closing the old one).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from screenrecord.errors import StoreError

NAME = ".screenrecord.lock"

RECORDING = "recording into"
MOVING = "moving frames of"
PRUNING = "pruning frames of"
"""What a holder is doing, as the refusal message says it: `... is already recording into ...`."""

WAIT_S = 1.0
"""How long acquire() waits for a lock held only for a moment (`status` looks at it)."""

_WINDOWS_BYTE = 1 << 30
"""On Windows the lock covers this byte, far past the text, which stays readable (msvcrt locks
are mandatory: a locked byte cannot be read by another process)."""

_held: dict[Path, list] = {}
"""Archive root -> [file descriptor, times taken, what it is doing] for the locks this process
holds."""


@dataclass(frozen=True, slots=True)
class Holder:
    """The process that holds an archive's lock."""

    pid: int | None
    doing: str = RECORDING
    trouble: str | None = None
    """What is wrong with its work, in its words (note()): `the last 5 ticks could not write
    (Read-only file system)`; None when nothing is."""

    def __str__(self) -> str:
        return "pid unknown" if self.pid is None else f"pid {self.pid}"


def acquire(root: Path, doing: str = RECORDING) -> None:
    """Take the archive's lock, or raise StoreError naming the process that has it (or saying
    that the archive cannot be written)."""
    key = root.resolve()
    if key in _held:
        _held[key][1] += 1
        return
    try:
        fd = os.open(key / NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise StoreError(
            f"{root}: cannot write into this archive ({e.strerror}); make it writable, or set "
            "`root` in the config to a folder you can write"
        ) from None
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            _lock(fd, shared=False)
            break
        except OSError:
            if time.monotonic() >= deadline:
                holder = _read(fd)
                os.close(fd)
                raise StoreError(
                    f"{root}: another screenrecord ({holder}) is already {holder.doing} this "
                    "archive; stop it first (one process at a time per archive)"
                ) from None
            time.sleep(0.02)
    _write(fd, doing, None)
    _held[key] = [fd, 1, doing]


def note(root: Path, trouble: str | None) -> None:
    """Say in the lock file of an archive this process holds what is wrong with its work (one
    line, for `status`), or that nothing is (None). Writes into the file already open, so it
    works on an archive that turned read-only or full; fails silently where it cannot."""
    entry = _held.get(root.resolve())
    if entry is None:
        return
    with contextlib.suppress(OSError):
        _write(entry[0], entry[2], trouble)


def _write(fd: int, doing: str, trouble: str | None) -> None:
    lines = [f"pid {os.getpid()}", doing] + ([" ".join(trouble.split())] if trouble else [])
    text = "".join(f"{line}\n" for line in lines).encode()
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text)  # overwrite, then cut: a reader never sees an empty file
    os.ftruncate(fd, len(text))


def release(root: Path) -> None:
    """Give back a lock taken with acquire(); the last release unlocks the archive."""
    key = root.resolve()
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _held[key]
        os.close(entry[0])  # closing the file releases the OS lock


def holder(root: Path) -> Holder | None:
    """The process holding the archive's lock now (a running recorder), None when none does.

    Looks by taking the lock for a moment, shared (acquire() waits that moment out). Raises
    OSError when the lock file exists but cannot be opened.
    """
    key = root.resolve()
    if key in _held:
        return _read(_held[key][0])
    try:
        fd = os.open(key / NAME, os.O_RDWR if sys.platform == "win32" else os.O_RDONLY)
    except FileNotFoundError:
        return None  # never locked: nothing ever recorded here
    try:
        try:
            _lock(fd, shared=True)
        except OSError:
            return _read(fd)
        _unlock(fd)
        return None
    finally:
        os.close(fd)


def _lock(fd: int, shared: bool) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBRLCK if shared else msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _read(fd: int) -> Holder:
    """Who holds the lock, from the text its holder wrote; a holder that took the lock a moment
    ago may not have written it yet, so an empty file is read again for a little while."""
    deadline = time.monotonic() + WAIT_S
    while True:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            lines = os.read(fd, 1024).decode(errors="replace").splitlines()
            if lines and lines[0].startswith("pid ") and lines[0][4:].strip().isdigit():
                doing = lines[1].strip() if len(lines) > 1 and lines[1].strip() else RECORDING
                trouble = lines[2].strip() if len(lines) > 2 and lines[2].strip() else None
                return Holder(int(lines[0][4:]), doing, trouble)
        if time.monotonic() >= deadline:
            return Holder(None)
        time.sleep(0.02)
