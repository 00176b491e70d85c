"""What a start repairs in the archive before the first tick: temp files left by a write that
was cut short, a damaged catalog (set aside and rebuilt from the files), and frames a crash left
written but not recorded."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from screenrecord.archive import catalog, images, store
from screenrecord.archive.catalog import Catalog, CatalogDamaged
from screenrecord.errors import ImageError
from screenrecord.models import Kind, Record
from screenrecord.pipeline import Pipeline

log = logging.getLogger(__name__)


def remove_temp_files(root: Path) -> None:
    """Remove the temp files of writes that were cut short (the archive's lock held)."""
    for tmp in store.remove_temp_files(root):
        log.warning("%s: removed, left by a write that was cut short", tmp)


def open_catalog(root: Path) -> Catalog:
    """The archive's catalog; a damaged one is set aside and a new one rebuilt from the
    archive, so that a disk hiccup in derived data never stops the recording of frames."""
    try:
        return Catalog.open(root, check=True)
    except CatalogDamaged as e:
        damage = e
    aside = catalog.set_aside(root, datetime.now())
    cat = Catalog.open(root)
    try:
        n = cat.record_many(kept_records(root, store.newest_frames(root)))
    except BaseException:
        cat.close()
        raise
    log.error(
        "%s; kept as %s, new catalog rebuilt from the %d frames of the archive "
        "(the repeats skipped before now are not in it)",
        damage,
        aside.name,
        n,
    )
    return cat


def kept_records(root: Path, found: Iterable[store.ArchiveFile]) -> Iterator[Record]:
    """A record for each kept frame found on disk: new, or near in `similar/` (unreadable
    files are logged and left out)."""
    for f in found:
        try:
            size = f.path.stat().st_size
            width, height = images.size(f.path)
        except (OSError, ImageError) as e:  # not ours to judge here: warm-up skips them
            log.warning("%s: not recorded (%s)", f.path, e)
            continue
        kind = Kind.NEAR if f.path.parent.name == store.SIMILAR else Kind.NEW
        rel = f.path.relative_to(root).as_posix()
        yield Record(f.taken, f.monitor, width, height, kind, path=rel, bytes=size)


def record_unrecorded(root: Path, cat: Catalog, pipeline: Pipeline) -> None:
    """Record frames written by the last tick before a crash but not yet in the catalog.

    A frame is linked into place before its decision is recorded, so a kill -9 between the
    two leaves a complete file the catalog does not know. Only frames at or after the newest
    recorded decision can be such files; an archive without catalog rows is left alone.
    """
    latest = cat.latest_taken()
    if latest is None:
        return
    unrecorded = itertools.takewhile(lambda f: f.taken >= latest, store.newest_frames(root))
    for rec in kept_records(
        root, (f for f in unrecorded if cat.find(f.path.relative_to(root).as_posix()) is None)
    ):
        pipeline.record(rec)
        log.warning("%s: recorded now, written just before the daemon stopped", rec.path)
