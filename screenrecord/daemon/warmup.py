"""Refilling the rings from the archive at start, so that a restart does not write a repeat of
what is already kept."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from screenrecord import capture
from screenrecord.archive import ahead, images, store
from screenrecord.config import Config, units
from screenrecord.errors import ImageError
from screenrecord.models import Frame
from screenrecord.pipeline import Pipeline

log = logging.getLogger(__name__)


def warm_up(pipeline: Pipeline, cfg: Config, root: Path, monitors: list[capture.Monitor]) -> int:
    """Refill each attached monitor's ring from its newest kept frames on disk, oldest first.

    Only frames of the monitor's current size count (other sizes are other streams), so a
    restart does not write a repeat of what is already there. Unreadable files are skipped.
    Frames are picked by their headers, then decoded in a second thread, two ahead of the
    one being prepared: a ring of 100 1080p frames is never 600 MB of pixels at once.
    """
    start = time.perf_counter()
    sizes = {m.number: (m.width, m.height) for m in monitors if cfg.wants(m.number)}
    want = cfg.dedup.ring_size
    picked: dict[int, list[store.ArchiveFile]] = {n: [] for n in sizes}
    for f in store.newest_frames(root, monitors=None):
        pipeline.last_kept.setdefault(f.monitor, f.taken)
        if all(len(v) >= want for v in picked.values()):
            break
        if f.monitor not in sizes or len(picked[f.monitor]) >= want:
            continue
        try:
            if images.size(f.path) != sizes[f.monitor]:
                continue
        except ImageError as e:
            _skip_while_refilling(f.path, e)
            continue
        picked[f.monitor].append(f)
    n = 0
    oldest_first = [f for files in picked.values() for f in reversed(files)]
    decode = ahead.prefetch(lambda f: images.load_or_error(f.path), oldest_first, depth=2)
    for f, decoded in decode:  # oldest first, so the newest ends in front
        pixels = decoded.result()
        if isinstance(pixels, ImageError):
            _skip_while_refilling(f.path, pixels)
            continue
        name = f.path.relative_to(root).as_posix()
        pipeline.remember(Frame(f.monitor, pixels, f.taken, name, f.path))
        n += 1
    if n:
        log.info(
            "refilled the rings with %s from %s in %.1f s",
            units.count(n, "kept frame"),
            root,
            time.perf_counter() - start,
        )
    return n


def _skip_while_refilling(path: Path, e: ImageError) -> None:
    """Any unreadable image is skipped, never fatal."""
    reason = str(e).removeprefix(f"{path}: ")
    log.warning("%s: skipped while refilling the ring (%s)", path, reason)
