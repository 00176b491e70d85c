"""Keeping the catalog whole, at start and while the daemon runs: temp files left by a write that
was cut short; a damaged catalog (set aside and rebuilt from the files) or one deleted or
replaced under the daemon (rebuilt); kept frames the catalog has no row for (recorded); and
catalog writes that never hold a capture up (`Ledger`)."""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from screenrecord.archive import catalog, images, store
from screenrecord.archive.catalog import Catalog, CatalogDamaged
from screenrecord.errors import ImageError, StoreError
from screenrecord.models import Kind, Record

log = logging.getLogger(__name__)

BUSY_WAIT_S = 0.5
"""How long the daemon's catalog write waits for another writer's lock (`prune`, `dedup
--apply`, a reader's exclusive transaction) before the tick's records wait in memory for the
next tick: the catalog never holds a capture up (SQLite's default here was 30 s a tick)."""
PENDING_MAX = 10_000
"""Records kept in memory while the catalog cannot be written (about a week of one monitor at
one a minute); beyond, the oldest are dropped and their kept frames recorded from the files once
the catalog can be written again."""


def remove_temp_files(root: Path) -> None:
    """Remove the temp files of writes that were cut short (the archive's lock held)."""
    for tmp in store.remove_temp_files(root):
        log.warning("%s: removed, left by a write that was cut short", tmp)


def open_catalog(root: Path, wait_s: float = 30.0) -> Catalog:
    """The archive's catalog; a damaged one is set aside and a new one rebuilt from the
    archive, so that a disk hiccup in derived data never stops the recording of frames.

    The -wal and -shm files of a catalog that was deleted are set aside first: SQLite would
    otherwise read them into the new one.
    """
    if not (root / catalog.FILE_NAME).exists():
        catalog.set_aside(root, datetime.now(), journal_only=True)
    try:
        return Catalog.open(root, check=True, wait_s=wait_s)
    except CatalogDamaged as e:
        damage = e
    aside = catalog.set_aside(root, datetime.now())
    cat = Catalog.open(root, wait_s=wait_s)
    try:
        n = cat.record_many(unrecorded(root, cat))
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


def unrecorded(root: Path, cat: Catalog) -> Iterator[Record]:
    """A record for each kept frame of the archive that has no catalog row, wherever it is:
    written just before a kill, kept while the catalog could not be written, or every frame of
    a catalog that was lost. Day folder by day folder, each compared with its rows (one range
    of the catalog's `path` index), so a large archive costs a listing per day."""
    for folder in store.folders([root], dated_only=True):
        found = folder.files + folder.similar
        if not found:
            continue
        known = cat.recorded_in(folder.path.relative_to(root).as_posix())
        yield from kept_records(
            root, (f for f in found if f.path.relative_to(root).as_posix() not in known)
        )


class Ledger:
    """The daemon's catalog: a tick's records are written in one transaction that waits at most
    BUSY_WAIT_S for another writer; what cannot be written now waits in memory and goes in
    with a later tick's. A catalog deleted or replaced under the daemon is noticed at the next
    write and rebuilt from the frames, and every kept frame without a row is recorded, at start
    and after a rebuild. Use it from one thread."""

    def __init__(self, root: Path) -> None:
        """Open (or rebuild) the catalog; raises StoreError where it cannot be opened at all."""
        self.root = root
        missing = not (root / catalog.FILE_NAME).exists()
        self.catalog: Catalog | None = open_catalog(root)
        self.catalog.wait(BUSY_WAIT_S)
        self.pending: deque[Record] = deque()
        self.backfill = True
        """Whether kept frames without a row are to be looked for at the next write."""
        self.failing: str | None = None
        """Why the last write failed, to log it once rather than every tick."""
        self.dropped = 0
        self._write(missing)

    def write(self, records: Iterable[Record]) -> None:
        """Record a tick's decisions, with those still waiting; never raises for the catalog."""
        self.pending.extend(records)
        while len(self.pending) > PENDING_MAX:
            self.pending.popleft()
            self.dropped += 1
            self.backfill = True  # a dropped record's kept frame is recorded from its file
        if self.catalog is not None and self.catalog.replaced():
            log.error(
                "%s: deleted or replaced while screenrecord ran; a new catalog is rebuilt from "
                "the frames of the archive (the repeats skipped before now are not in it)",
                self.catalog.path,
            )
            self.catalog.close()  # SQLite leaves its -wal, -shm where a moved file was
            self.catalog = None
            try:
                catalog.set_aside(self.root, datetime.now(), journal_only=True)
            except StoreError as e:
                log.error("%s", e)
        if self.pending or self.backfill or self.catalog is None:
            self._write()

    def _write(self, missing: bool = False) -> None:
        """Write what waits, and the back-fill when due, in one transaction; `missing`: the
        catalog was not there at start."""
        try:
            if self.catalog is None:
                self.catalog = open_catalog(self.root, BUSY_WAIT_S)
                self.catalog.wait(BUSY_WAIT_S)
                self.backfill = True
            cat = self.catalog
            waiting = len(self.pending)
            found = unrecorded(self.root, cat) if self.backfill else iter(())
            # the back-fill's queries run after the waiting rows are in: none is recorded twice
            n = cat.record_many(itertools.chain(self.pending, found)) - waiting
        except (sqlite3.Error, StoreError) as e:
            why = f"{e}"
            if why != self.failing:
                log.warning(
                    "%s: decisions not recorded yet (%s); they wait in memory for a later tick",
                    self.root / catalog.FILE_NAME,
                    why,
                )
            self.failing = why
            return
        if self.failing is not None:
            log.warning(
                "%s: recorded again, with the %d decisions that waited",
                cat.path,
                waiting,
            )
        if self.dropped:
            log.warning("%d decisions waited too long and were left out", self.dropped)
        if n and missing:
            log.warning(
                "%s: there was none; rebuilt from the %d frames of the archive", cat.path, n
            )
        elif n:
            log.warning("%s: %d kept frames had no row; recorded now", cat.path, n)
        self.pending.clear()
        self.failing, self.backfill, self.dropped = None, False, 0

    def close(self) -> None:
        """Write what waits (one last try), then close; says what could not be recorded."""
        if self.pending or self.backfill:
            self.write(())
        if self.pending:
            log.warning(
                "%d decisions not recorded: the catalog could not be written; their kept "
                "frames are recorded at the next start",
                len(self.pending),
            )
        if self.catalog is not None:
            self.catalog.close()
