"""The archive on disk: the seed's folder layout, atomic writes, and walking it in time order."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from screenrecord.archive import noreplace
from screenrecord.errors import StoreError

# YYYY-MM-DD_HH.MM.SS.ffffff_N.png, the layout of the original cron script; a name taken already
# (local time repeating, a name `dedup` found taken) gets ~1, ~2, ... before the extension.
NAME_RE = re.compile(
    r"^(?P<stamp>\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}\.\d{2}(?:\.\d{1,6})?)_(?P<monitor>\d+)(?:~(?P<repeat>\d+))?\.(?P<ext>png|webp|jpe?g)$",
    re.IGNORECASE,
)
IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif"}
DEDUP = "dedup"
"""Subfolder where `dedup --apply` sets duplicates aside."""
SIMILAR = "similar"
"""Subfolder of a day (or any folder, for `dedup`) that holds its near-duplicates."""
SET_ASIDE = (DEDUP, SIMILAR)
"""Subfolders that hold frames already set aside: never walked as folders of their own."""
SITE_MARK = ".screenrecord-site"
"""A file in the folder `browse` writes its site into. The walker never enters a folder holding
it: the site's thumbnails are named like the frames they show, and are not frames."""

DIR_MODE = 0o700
FILE_MODE = 0o600


def frame_name(taken: datetime, monitor: int, ext: str = "png", repeat: int = 0) -> str:
    """File name of a frame: `YYYY-MM-DD_HH.MM.SS.ffffff_N.ext`.

    Names are local wall-clock time, which can give a name again (a clock set back by NTP or by
    hand, the hour that DST's fall-back repeats): the frames that find it taken are
    `YYYY-MM-DD_HH.MM.SS.ffffff_N~R.ext`, R = 1, 2, ... (`repeat`), the suffix `dedup` gives a
    name it finds taken. They sort after the first, by name and in capture order (`folders`).
    A stored frame is never replaced (see `free_frame_path`).
    """
    again = f"~{repeat}" if repeat else ""
    return f"{taken:%Y-%m-%d_%H.%M.%S.%f}_{monitor}{again}.{ext}"


def repeat_of(name: str) -> int:
    """Which repeat of its name a frame's file is (0 for the first; see `frame_name`)."""
    m = NAME_RE.match(name)
    return int(m["repeat"]) if m and m["repeat"] else 0


def free_frame_path(folder: Path, taken: datetime, monitor: int, ext: str = "png") -> Path:
    """The path in `folder` for a new frame: its name, or its first repeat not yet taken in
    `folder` or its `similar/` (a frame keeps its name when moved between them)."""
    repeat = 0
    while True:
        name = frame_name(taken, monitor, ext, repeat)
        if not any(os.path.lexists(f / name) for f in (folder, folder / SIMILAR)):
            return folder / name
        repeat += 1


def day_folder(root: Path, taken: datetime) -> Path:
    """`ROOT/YYYY-MM/YYYY-MM-DD`, the folder a frame taken then belongs to."""
    return root / f"{taken:%Y-%m}" / f"{taken:%Y-%m-%d}"


def frame_path(root: Path, taken: datetime, monitor: int, ext: str = "png") -> Path:
    return day_folder(root, taken) / frame_name(taken, monitor, ext)


def parse_name(name: str) -> tuple[datetime, int] | None:
    """Capture time and monitor number from a file name, or None if it is not ours."""
    m = NAME_RE.match(name)
    if not m:
        return None
    stamp = m["stamp"]
    fmt = "%Y-%m-%d_%H.%M.%S.%f" if stamp.count(".") == 3 else "%Y-%m-%d_%H.%M.%S"
    try:
        return datetime.strptime(stamp, fmt), int(m["monitor"])
    except ValueError:
        return None


class NotRegularFile(OSError):
    """A path that is a FIFO, a socket or a device where a file was expected."""

    def __init__(self, path: Path, mode: int) -> None:
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "special"
        )
        super().__init__(f"{path}: not a regular file ({kind})")
        self.kind = kind


def open_regular(path: Path) -> BinaryIO:
    """Open a file for reading, refusing (NotRegularFile) anything but a regular file.

    Opened without blocking first: a FIFO named like a frame or a config would otherwise hang
    the open until some writer comes, and reading a device never ends. A folder raises
    IsADirectoryError, as `open` does.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file (see `open_regular`)."""
    with open_regular(path) as f:
        return f.read()


def make_dirs(path: Path) -> None:
    """Create a folder (and parents) readable by the owner only.

    Every folder created here gets 0700, the missing parents too (`Path.mkdir(parents=True)`
    would give them the umask's 0755); folders that already exist are left as they are.
    """
    missing = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for p in reversed(missing):
        p.mkdir(mode=DIR_MODE, exist_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that it is either complete or absent: temp file, fsync, link.

    Never replaces an existing file. Where the filesystem has no hard links (exFAT, FAT32, many
    network shares), the temp file is renamed by a rename that cannot replace (noreplace.py).
    """
    _publish(path, data, replace=False)


def replace_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` (owner-only), replacing what was there: temp file, fsync, rename.

    For small files that are meant to change (an HTML page, the pause file), never for frames.
    `durable=False` skips both fsyncs, for files that can be made again (the site's thumbnails:
    the fsyncs cost as much as making one): still complete or absent while the system runs,
    but a power cut may leave the latest ones empty.
    """
    _publish(path, data, replace=True, durable=durable)


def _publish(path: Path, data: bytes, replace: bool, durable: bool = True) -> None:
    """Temp file in the same folder, written and fsynced, owner-only, then put in place."""
    make_dirs(path.parent)
    prefix = f"{temp_prefix()}{path.stem}-"  # the name it is for (see _reserved)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        if replace:
            os.replace(tmp, path)
        else:
            noreplace.move(Path(tmp), path)  # never overwrites a stored frame
    except FileExistsError:
        raise StoreError(f"{path}: already exists, not overwritten") from None
    except OSError as e:
        raise StoreError(f"{path}: cannot write ({e.strerror})") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if durable:
        fsync_dir(path.parent)


TEMP_PREFIX = ".tmp-"
"""Temp files of write_atomic, `.tmp-PID-NAME-XXXXXXXX.png`; one left behind by a process that is
gone means a write was cut short (kill -9, power loss)."""
_TEMP_PID_RE = re.compile(r"^\.tmp-(\d+)-")
_TEMP_NAME_RE = re.compile(r"^\.tmp-\d+-(?P<stem>.+)-[^-.]+(?P<suffix>\.[^.]+)$")
"""A temp file's name carries the name it is written for: `.tmp-PID-STEM-XXXXXXXX.SUFFIX`."""


def temp_prefix() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-"


def _writer_alive(name: str) -> bool:
    """Whether the process that owns temp file `name` still runs (and is not this one)."""
    m = _TEMP_PID_RE.match(name)
    if not m or int(m[1]) == os.getpid():
        return False
    try:
        os.kill(int(m[1]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's live process (or unknowable): leave its file alone
    return True


def remove_temp_files(root: Path) -> list[Path]:
    """Delete temp files left in the archive by writes that were cut short; returns them.

    Looks where frames are written: the root, month and day folders and their `similar/`.
    A temp file is never a frame (frames appear only by a link of a complete, fsynced temp
    file), so removing it loses nothing. Temp files of a process that still runs (a `once`
    beside the daemon) are left to it. Where there are no hard links, a write reserves the
    frame's name with an empty file before renaming the temp file over it (noreplace.py): a
    temp file left with its name still reserved (empty) goes with that reservation.
    """
    removed = []
    places = [p for f in folders([root], dated_only=True) for p in (f.path, f.path / SIMILAR)]
    for folder in places:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if not e.is_file(follow_symlinks=False):
                continue
            if e.name.startswith(TEMP_PREFIX) and not _writer_alive(e.name):
                reserved = _reserved(Path(e.path))
                for p in (Path(e.path), *([reserved] if reserved else [])):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p)
                        removed.append(p)
    return removed


def _reserved(temp: Path) -> Path | None:
    """The name reserved for temp file `temp` (noreplace.py) if a kill left it reserved: an
    empty file named as a frame, the name the temp file's own name carries."""
    m = _TEMP_NAME_RE.match(temp.name)
    if not m or parse_name(m["stem"] + m["suffix"]) is None:
        return None
    target = temp.with_name(m["stem"] + m["suffix"])
    try:
        st = target.lstat()
    except OSError:
        return None
    return target if stat.S_ISREG(st.st_mode) and st.st_size == 0 else None


def file_size(path: Path) -> int | None:
    """Size of a file in bytes, None when it cannot be read (gone, no permission)."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def escapes(root: Path, path: Path) -> bool:
    """Whether `path` (inside `root` by name) leads out of `root` through a symbolic link."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return os.path.commonpath([real_root, real]) != real_root


def fsync_dir(path: Path) -> None:
    """Make a rename or link in `path` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def encode(image: Image.Image | np.ndarray, fmt: str = "png", compress_level: int = 1) -> bytes:
    """Encode a frame (PIL image or (H, W, 3) uint8 RGB array) losslessly as PNG or WebP."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    if fmt == "png":
        image.save(buf, "PNG", compress_level=compress_level)
    elif fmt == "webp":
        image.save(buf, "WEBP", lossless=True, quality=0, method=0)
    else:
        raise StoreError(f"unknown image format {fmt!r}: use png or webp")
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """A file met while walking an archive."""

    path: Path
    taken: datetime
    monitor: int
    is_image: bool


@dataclass(frozen=True, slots=True)
class Folder:
    """One folder met while walking: its files and the near-duplicates in its `similar/`."""

    path: Path
    files: list[ArchiveFile]
    """Its files (images and others; with `dated_only`, regular files named as frames; else
    also FIFOs, sockets and devices, which reading refuses), in capture order."""
    similar: list[ArchiveFile]
    """The images of its `similar/` subfolder, in capture order."""


def folders(
    roots: Iterable[Path], newest_first: bool = False, dated_only: bool = False
) -> Iterator[Folder]:
    """The one archive walker: folder by folder under each root, a folder before its subfolders.

    Set-aside folders (`dedup/`, `similar/`) are never walked as folders of their own, hidden
    folders are skipped and symbolic links are never followed. Each folder is listed when it is
    reached, so memory is bounded by one folder and a caller that stops early reads no further.
    `dated_only` keeps to the archive's layout, `ROOT/YYYY-MM/YYYY-MM-DD/`, and to files named
    as frames (the daemon's view); `newest_first` reverses every order.
    A root that is a file is one folder holding just that file.
    """
    for top in roots:
        if top.is_dir():
            yield from _folders(top, 0, newest_first, dated_only)
        elif top.exists() and not top.is_symlink():  # a file (or a FIFO: reading it says so)
            yield Folder(top.parent, [describe(top)], [])


_DATED = (re.compile(r"^\d{4}-\d{2}$"), re.compile(r"^\d{4}-\d{2}-\d{2}$"))
"""Folder names at depth 1 and 2 of the archive's layout: months, then days."""


def _folders(folder: Path, depth: int, newest_first: bool, dated_only: bool) -> Iterator[Folder]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=newest_first)
    except OSError:
        return
    files: list[ArchiveFile] = []
    subfolders: list[Path] = []
    for e in entries:
        if e.is_symlink():
            continue
        if e.is_dir():
            if e.name in SET_ASIDE or e.name.startswith(".") or is_site(Path(e.path)):
                continue
            if dated_only and (depth >= len(_DATED) or not _DATED[depth].match(e.name)):
                continue
            subfolders.append(Path(e.path))
        elif dated_only:  # the daemon's view: regular files named as frames
            if e.is_file() and parse_name(e.name) is not None:
                files.append(describe(Path(e.path)))
        else:  # FIFOs, sockets and devices too: a reader of them says what they are, not hangs
            files.append(describe(Path(e.path)))
    similar: list[ArchiveFile] = []
    aside = folder / SIMILAR
    if aside.is_dir() and not aside.is_symlink():
        with contextlib.suppress(OSError):
            for e in os.scandir(aside):
                if e.is_symlink() or not e.is_file():
                    continue
                if parse_name(e.name) is not None if dated_only else _is_image(e.name):
                    similar.append(describe(Path(e.path)))
    order = _capture_order
    files.sort(key=order, reverse=newest_first)
    similar.sort(key=order, reverse=newest_first)
    yield Folder(folder, files, similar)
    for sub in subfolders:
        yield from _folders(sub, depth + 1, newest_first, dated_only)


def is_site(folder: Path) -> bool:
    """Whether `folder` is a site written by `browse` (see SITE_MARK)."""
    return (folder / SITE_MARK).is_file()


def _capture_order(f: ArchiveFile) -> tuple[datetime, int, int, str]:
    return f.taken, f.monitor, repeat_of(f.path.name), f.path.name


def _is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under `paths` (not those set aside), folder by folder."""
    for folder in folders(paths):
        for f in folder.files:
            yield f.path


def describe(path: Path) -> ArchiveFile:
    """Capture time and monitor of a file: from its name, else its modification time and monitor 1."""
    parsed = parse_name(path.name)
    is_image = _is_image(path.name)
    if parsed:
        return ArchiveFile(path, parsed[0], parsed[1], is_image)
    try:
        mtime = datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        mtime = datetime.fromtimestamp(0)
    m = re.search(r"_(\d+)\.[A-Za-z]+$", path.name)
    return ArchiveFile(path, mtime, int(m[1]) if m else 1, is_image)


def newest_frames(root: Path, monitors: Iterable[int] | None = None) -> Iterator[ArchiveFile]:
    """Kept frames of the archive, newest first: day folders and their `similar/`, never `dedup/`.

    Reads one day at a time (see `folders`), so a caller that stops early (ring warm-up) lists
    only the days it needs. `monitors` limits the output.
    """
    wanted = None if monitors is None else set(monitors)
    for folder in folders([root], newest_first=True, dated_only=True):
        found = folder.files + folder.similar
        found.sort(key=_capture_order, reverse=True)
        yield from (f for f in found if wanted is None or f.monitor in wanted)
