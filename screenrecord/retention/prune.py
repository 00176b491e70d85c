"""`screenrecord prune`: carry out a retention plan (retention.py), journaled like `dedup --apply`.

The plan is written to ROOT/.screenrecord-prune.jsonl and fsynced before the first file goes
(a journaled run, see archive/journaled.py: a run, one record per file, "planned", then "applied"). Deleting a file is
one unlink, so a run killed at any point leaves each file either kept or gone, never half there;
the next `prune` (or the daemon's next daily run) finishes a planned run before planning anew,
and only then marks the catalog rows and forgets the journal. Deleted frames cannot be undone:
the journal is a promise to finish, not a way back.

Prune holds the archive's lock, and refuses while a dedup journal is pending (its moves can
still be undone, and undo would look for files that prune removed). It deletes only files it
planned: regular files in day folders and their `similar/`, never in `dedup/`, never through a
symbolic link, never outside the archive.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from screenrecord.archive import catalog, lock, store
from screenrecord.archive.catalog import Catalog, Prune
from screenrecord.archive.journal import Journal
from screenrecord.archive.journaled import Journaled
from screenrecord.config import Config, units
from screenrecord.errors import ScreenrecordError, StoreError, UsageError
from screenrecord.models import Retention
from screenrecord.retention import plan as retention

log = logging.getLogger(__name__)

JOURNAL = ".screenrecord-prune.jsonl"


@dataclass(frozen=True, slots=True)
class Result:
    """What a `prune` run planned and (with --apply) did."""

    plan: retention.Plan
    applied: bool
    removed: int = 0
    """Files deleted by this run (the plan's, and those of an interrupted run it finished)."""
    freed: int = 0
    """Their bytes."""
    finished: int = 0
    """Files of an interrupted run that this one deleted before planning."""


def run(
    root: Path,
    settings: Retention,
    now: datetime,
    apply: bool = False,
    stretches: retention.Stretches | None = None,
) -> Result:
    """Plan the retention of the archive at `root` as of `now`; with `apply`, carry it out.

    An archive without a catalog (written by another tool, or by the original cron script) is
    planned from its files alone: every frame counts as a tick of its own, so its active
    stretches split by the gaps between frames, and no catalog is made or marked."""
    if not has_catalog(root) and not _has_day_folders(root):
        raise UsageError(
            f"{root}: not a screenrecord archive (no {catalog.FILE_NAME} and no day folders "
            "YYYY-MM/YYYY-MM-DD); give the folder screenrecord records into"
        )
    if not apply:
        with _catalog_of(root) as cat:
            return Result(
                _checked(retention.plan(root, settings, now.date(), cat, stretches)), False
            )
    lock.acquire(root, lock.PRUNING)
    try:
        with _catalog_of(root) as cat:
            return _run_held(root, settings, now, cat, stretches)
    finally:
        lock.release(root)


def has_catalog(root: Path) -> bool:
    return (root / catalog.FILE_NAME).is_file()


def _has_day_folders(root: Path) -> bool:
    """Whether `root` holds the archive's layout, ROOT/YYYY-MM/YYYY-MM-DD/."""
    return any(
        len(folder.path.relative_to(root).parts) == 2
        for folder in store.folders([root], dated_only=True)
    )


@contextlib.contextmanager
def _catalog_of(root: Path) -> Iterator[Catalog | None]:
    """The archive's catalog, open while the block runs; None where it has none."""
    if not has_catalog(root):
        yield None
        return
    with Catalog.open(root, create=False) as cat:
        yield cat


def _run_held(
    root: Path,
    settings: Retention,
    now: datetime,
    cat: Catalog | None,
    stretches: retention.Stretches | None,
) -> Result:
    """Finish an interrupted run, plan, and carry the plan out, the archive's lock held."""
    finished, freed_before = finish_interrupted(root, cat, now)
    p = _checked(retention.plan(root, settings, now.date(), cat, stretches))
    removed, freed = _apply(root, p, cat, now)
    return Result(p, True, finished + removed, freed_before + freed, finished)


def _checked(p: retention.Plan) -> retention.Plan:
    if p.pending_dedup:
        journal = p.pending_dedup[0]
        raise UsageError(
            f"{journal}: dedup moves that can still be undone; run `screenrecord undo "
            f"{journal.parent}` or delete that journal to keep them as they are, then prune"
        )
    return p


def _journaled(root: Path, cat: Catalog | None, now: datetime) -> Journaled:
    """Prune's journaled runs in `root`: a step deletes one file; once a run's files are gone,
    their folders are synced and the catalog, where there is one, marks their rows pruned and
    records the run (one transaction)."""

    def settle(run_id: str, done: list[dict]) -> None:
        gone = [rec["src"] for rec in done]
        for folder in {(root / rel).parent for rel in gone}:
            store.fsync_dir(folder)
            if folder.name == store.SIMILAR:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only when empty
        if cat is not None:
            cat.pruned(gone, now.date(), Prune(now, len(gone), _bytes(done), run_id))

    return Journaled(
        Journal(root, JOURNAL), lambda rec: _delete(root, rec["src"]), settle, "prune (%d files)"
    )


def _bytes(done: list[dict]) -> int:
    return sum(int(rec.get("bytes") or 0) for rec in done)


def _apply(root: Path, p: retention.Plan, cat: Catalog | None, now: datetime) -> tuple[int, int]:
    """Journal the plan (fsynced), then delete its files; returns files deleted and bytes."""
    journaled = _journaled(root, cat, now)
    try:
        journaled.begin()
        for d in p.gone:
            journaled.plan({"src": d.frame.rel, "bytes": d.frame.bytes})
        journaled.planned(len(p.gone))
    except StoreError:
        journaled.close()
        raise
    done = journaled.apply()
    journaled.journal.remove()
    return len(done), _bytes(done)


def _delete(root: Path, rel: str) -> bool:
    """Delete one planned file; True if it is gone now. Never a link, never in `dedup/`, never
    outside the archive; a file already gone (an interrupted run) counts as deleted."""
    parts = Path(rel).parts
    path = root / rel
    if ".." in parts or store.DEDUP in parts or Path(rel).is_absolute():
        log.error("%s: not deleted, not a frame of a day folder", rel)
        return False
    if store.escapes(root, path.parent):
        log.error("%s: not deleted, %s leads out of %s through a link", rel, path.parent, root)
        return False
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return True
    if not stat.S_ISREG(mode):
        log.error("%s: not deleted, not a regular file", path)
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return True
    except OSError as e:
        log.error("%s: not deleted (%s)", path, e.strerror)
        return False
    return True


def finish_interrupted(root: Path, cat: Catalog | None, now: datetime) -> tuple[int, int]:
    """Finish a prune whose plan was written but whose deletions were cut short, then forget
    the journal (a run without a complete plan deleted nothing); returns files and bytes."""
    journaled = _journaled(root, cat, now)
    if not journaled.journal.path.exists():
        return 0, 0
    done = journaled.finish_interrupted()
    journaled.journal.remove()
    return len(done), _bytes(done)


def pending(root: Path) -> bool:
    """Whether a prune of `root` was cut short (the daemon finishes it at its next daily run)."""
    return any(r.planned and not r.applied for r in Journal(root, JOURNAL).runs())


class Daily:
    """The daemon's retention: once a day, after a tick, the config's [retention] applied on a
    thread of its own at idle priority, so that a long first prune never delays a capture."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._thread: threading.Thread | None = None

    def after_tick(self, cfg: Config, now: datetime) -> None:
        """Start today's prune unless it ran (or runs) already or retention is off."""
        if not cfg.retention.active or self._day == now.date():
            return
        if self._thread is not None and self._thread.is_alive():
            return
        self._day = now.date()
        self._thread = threading.Thread(
            target=daily, args=(cfg, now), name="screenrecord-prune", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def daily(cfg: Config, now: datetime) -> Result | None:
    """One day's prune of the configured archive, at idle priority; logs one line of what it
    removed (and one warning when the budget is not met), never raises. None when a prune ran
    today already (a restarted daemon) and nothing is left to finish."""
    idle_priority()
    root = cfg.root
    try:
        with Catalog.open(root, create=False) as cat:
            last = cat.last_prune()
        if last is not None and last.finished.date() == now.date() and not pending(root):
            return None
        stretches = retention.Stretches.of(cfg.interval_seconds, cfg.activity.idle_after)
        done = run(root, cfg.retention, now, apply=True, stretches=stretches)
    except ScreenrecordError as e:
        log.error("retention: not applied: %s", e)
        return None
    log.info(
        "retention: removed %s (%s) from %s; %s of frames kept",
        units.count(done.removed, "frame"),
        units.size(done.freed),
        root,
        units.size(done.plan.size_after),
    )
    if done.plan.warning:
        log.warning("retention: %s", done.plan.warning)
    return done


def idle_priority() -> None:
    """Lower the calling thread's CPU priority to the lowest (nice 19), and that of the threads
    it starts (highlights' decoders inherit it). Linux only: there a thread's nice value is its
    own; elsewhere os.nice would slow the whole daemon, so the thread runs as it is."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
