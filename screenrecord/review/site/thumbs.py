"""The thumbnail strip's images: one small JPEG per kept frame, made once, on both cores.

A thumbnail keeps its frame's name (and `similar/` place) with a `.jpg` suffix, so it can be
read back by name like a frame: the day's highlights are found on these thumbnails, not on the
full frames, which are then decoded once per site instead of twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from screenrecord.archive import images, store
from screenrecord.errors import ImageError, StoreError

log = logging.getLogger(__name__)

WIDTH = 240
"""Pixels wide: sharp at the strip's 120 CSS px on a 2x display; ~10 kB a screen at quality 70."""
QUALITY = 70


def name(rel: str) -> str:
    """The thumbnail's path (relative to the day's thumbnail folder) of frame `rel`."""
    return str(Path(rel).with_suffix(".jpg").as_posix())


def make(source: Path, dest: Path) -> bool:
    """Write the thumbnail of `source` to `dest`; False (logged) when the frame cannot be read."""
    try:
        jpeg = images.jpeg_thumbnail(source, WIDTH, QUALITY)
        # no fsync: a thumbnail left empty by a power cut is made again when its day changes
        store.replace_atomic(dest, jpeg, durable=False)
    except (ImageError, StoreError) as e:
        log.warning("%s, no thumbnail", e)
        return False
    return True


def update(folder: Path, out: Path, rels: Sequence[str], workers: int) -> int:
    """Make the missing thumbnails of the frames `rels` of day `folder` in `out`, in `workers`
    threads (decoding and resizing release the GIL); remove those of frames no longer there.
    Returns how many were made."""
    wanted = {name(r): r for r in rels}
    # missing, or left empty by a power cut (thumbnails are written without fsync)
    todo = [(folder / r, out / t) for t, r in wanted.items() if not store.file_size(out / t)]
    made = 0
    if todo:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            made = sum(pool.map(lambda job: make(*job), todo))
    for sub in (out, out / store.SIMILAR):
        with contextlib.suppress(OSError):
            for e in os.scandir(sub):
                rel = e.name if sub == out else f"{store.SIMILAR}/{e.name}"
                if (
                    e.is_file(follow_symlinks=False)
                    and rel not in wanted
                    and not e.name.startswith(store.TEMP_PREFIX)  # another run's write
                ):
                    os.unlink(e.path)  # a thumbnail of a frame moved away or removed
    return made


def missing(out: Path, rels: Iterable[str]) -> frozenset[str]:
    """The frames of `rels` with no thumbnail in `out` after `update`: those that could not be
    read, which the day page shows as unreadable rather than asking for a file that is not there."""
    return frozenset(r for r in rels if not store.file_size(out / name(r)))
