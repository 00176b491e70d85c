"""One recorder per archive: `run` and `once` hold ROOT/.screenrecord.lock while they record.

Two recorders on one archive would each delete the other's half-written temporary files at start
and interleave their catalog rows. The lock is an OS lock on an open file (flock, or msvcrt on
Windows), so it goes away with the process however it ends; the file keeps the holder's pid for
the message the second one prints. A process may take its own archive's lock again (a reload of
the config builds the new recorder before closing the old one).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from screenrecord.errors import StoreError

NAME = ".screenrecord.lock"

_held: dict[Path, list] = {}
"""Archive root -> [file descriptor, times taken] for the locks this process holds."""


def acquire(root: Path) -> None:
    """Take the archive's lock, or raise StoreError naming the process that has it."""
    key = root.resolve()
    if key in _held:
        _held[key][1] += 1
        return
    fd = os.open(key / NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
    except OSError:
        holder = _read(fd)
        os.close(fd)
        raise StoreError(
            f"{root}: another screenrecord ({holder}) is already recording into this archive; "
            "stop it first (one recorder per archive)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}\n".encode())
    _held[key] = [fd, 1]


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


def held_by(root: Path) -> int | None:
    """The pid of the process recording into `root` (it holds the lock), or None when none does.

    0 means the lock is held but its file names no pid (the holder has not written it yet, or
    the platform does not let others read a locked file). Creates nothing. The question is asked
    by trying the lock (flock has no query): a recorder starting in that same instant is
    refused, as if two had started at once.
    """
    key = Path(root).resolve()
    if key in _held:
        return os.getpid()
    try:
        fd = os.open(key / NAME, os.O_RDONLY)
    except OSError:  # no lock file: nothing has recorded here (or it was removed)
        return None
    try:
        try:
            _lock(fd, shared=True)
        except OSError:
            text = _read(fd)
            pid = text.removeprefix("pid ")
            return int(pid) if pid.isdigit() else 0
        _unlock(fd)
        return None
    finally:
        os.close(fd)


def _lock(fd: int, shared: bool = False) -> None:
    """Lock without waiting (OSError if another process holds it); `shared` only asks."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _read(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 64).decode(errors="replace").strip() or "pid unknown"
    except OSError:
        return "pid unknown"
