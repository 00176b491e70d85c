"""Put a file in place under a new name, never replacing a file that already has that name.

Frames are published by a hard link of a complete temp file (store.write_atomic): the link
fails if the name exists. Drives without hard links (exFAT and FAT32 USB drives, many SMB and NAS
mounts) refuse the link (EPERM, EOPNOTSUPP, ...), so there a frame is published by a rename that
cannot replace:

1. Where the system has one, a rename told not to replace: Linux's `renameat2(RENAME_NOREPLACE)`,
   macOS's `renamex_np(RENAME_EXCL)`, and `os.rename` on Windows (which never replaces). The
   kernel checks the name and renames in one step, so nothing can slip in between.
2. Where that is refused (a filesystem that does not implement the flag: FUSE's exFAT, NFS), the
   name is first reserved by creating it with O_CREAT | O_EXCL, which succeeds for one creator
   only and fails if the name exists, however many processes try at once. The temp file is then
   renamed over that reservation. The only file that rename can replace is the empty one this
   call created a moment before, so no stored frame is ever overwritten. What it costs: for that
   moment a reader may see an empty file under the name, and a process killed in between leaves
   it empty, beside its complete temp file, whose name carries the reserved name: the daemon's
   start removes the two together (store.remove_temp_files), as it removes any temp file left
   by a write cut short. An empty file with no temp file naming it is not ours and stays.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import sys
from pathlib import Path

NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}
    | ({errno.EINVAL, errno.EACCES} if sys.platform == "win32" else set())
)
"""What `os.link` fails with on a filesystem that has no hard links (Windows says so with
ERROR_INVALID_FUNCTION or ERROR_ACCESS_DENIED on FAT)."""

_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})
"""What a rename with a no-replace flag fails with where the filesystem ignores the flag."""

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCL = 4  # macOS sys/stdio.h


def move(src: Path, dst: Path) -> None:
    """Give file `src` the name `dst` (same filesystem), never replacing: a hard link, then
    `src` unlinked; where the filesystem has no hard links, `rename`. FileExistsError if `dst`
    exists (then `src` is left as it was); other failures raise OSError."""
    try:
        os.link(src, dst)
    except OSError as e:
        if e.errno not in NO_HARD_LINKS:
            raise
        rename(src, dst)
        return
    os.unlink(src)


def rename(src: Path, dst: Path) -> None:
    """Rename `src` to `dst` on the same filesystem; FileExistsError if `dst` exists (then `src`
    is left as it was). Other failures raise OSError."""
    if sys.platform == "win32":
        os.rename(src, dst)  # MoveFileEx without MOVEFILE_REPLACE_EXISTING: never replaces
        return
    if _rename_exclusive(src, dst):
        return
    _rename_reserved(src, dst)


def _rename_exclusive(src: Path, dst: Path) -> bool:
    """The system's rename that refuses to replace; False where it is not available here."""
    libc = _libc()
    if libc is None:
        return False
    a, b = os.fsencode(src), os.fsencode(dst)
    if sys.platform == "darwin":
        fn = getattr(libc, "renamex_np", None)
        args: tuple = (a, b, _RENAME_EXCL)
    else:
        fn = getattr(libc, "renameat2", None)  # glibc 2.28 and later
        args = (_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_NOREPLACE)
    if fn is None:
        return False
    if fn(*args) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        raise FileExistsError(code, os.strerror(code), str(dst))
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(dst))


def _rename_reserved(src: Path, dst: Path) -> None:
    """Reserve `dst` by creating it exclusively, then rename `src` over that reservation."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # FileExistsError if taken
    os.close(fd)
    try:
        os.replace(src, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dst)  # still our empty reservation: the rename did not happen
        raise


_loaded: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    if not _loaded:
        try:
            _loaded.append(ctypes.CDLL(None, use_errno=True))  # the process's own libc
        except OSError:
            _loaded.append(None)
    return _loaded[0]
