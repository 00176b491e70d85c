"""Archive mode: decide every frame of existing folders, then (with --apply) move repeats aside.

Duplicates go to a `dedup/` subfolder and near-duplicates to `similar/` next to the file, as the
original script did. Nothing is deleted or overwritten; every move is journaled before it happens
(see journal.py), so an interrupted run is finished by running again, and `undo` puts it all back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from screenrecord.archive import catalog, images, lock, store
from screenrecord.archive.ahead import prefetch
from screenrecord.archive.catalog import Catalog
from screenrecord.archive.journal import FILE_NAME as JOURNAL_NAME
from screenrecord.archive.journal import Journal
from screenrecord.config import units
from screenrecord.engine.prepared import Prepared
from screenrecord.errors import ImageError, StoreError, UsageError
from screenrecord.models import DedupSettings, Frame, Kind, Placement, Progress, Record
from screenrecord.pipeline import InPlace, KeepPolicy, Pipeline, Sink, Stored

log = logging.getLogger(__name__)

POLICY = KeepPolicy(near_action="separate", keep_at_least_every=None)
"""dedup never deletes: near-duplicates go to `similar/`, duplicates (not kept) to `dedup/`."""


@dataclass
class Summary:
    """What a dedup run decided and did."""

    frames: int = 0
    duplicate: int = 0
    near: int = 0
    new: int = 0
    errors: int = 0
    ignored: int = 0
    """Files that are not images (left alone)."""
    freed: int = 0
    """Bytes of the duplicates (freed once dedup/ folders are deleted)."""
    moved: int = 0
    applied: bool = False
    ring_bytes: int = 0
    """Memory the rings held at the end."""

    def count(self, rec: Record, size: int) -> None:
        self.frames += 1
        if rec.decision is Kind.ERROR:
            self.errors += 1
            return
        setattr(self, rec.decision.value, getattr(self, rec.decision.value) + 1)
        if rec.decision is Kind.DUPLICATE:
            self.freed += size


@dataclass(frozen=True, slots=True)
class Item:
    """An image met while walking: `known` frames (already in similar/) only feed the ring."""

    root: Path
    file: store.ArchiveFile
    known: bool = False


def items(roots: Iterable[Path], summary: Summary | None = None) -> Iterator[Item]:
    """Images under each root in time order, folder by folder (memory bounded by one folder).

    Frames already in a `similar/` folder come as `known` items, in time order with the others.
    Files that are not images are counted in `summary.ignored`.
    """
    for root in roots:
        top = root.parent if root.is_file() else root
        for folder in store.folders([root]):
            if summary is not None:
                summary.ignored += sum(1 for f in folder.files if not f.is_image)
            found = [Item(top, f) for f in folder.files if f.is_image]
            found += [Item(top, f, known=True) for f in folder.similar]
            found.sort(key=lambda i: (i.file.taken, i.file.monitor, i.file.path.name))
            yield from found


def count_frames(roots: Iterable[Path]) -> int:
    """How many frames a run over `roots` decides (for a progress bar's total)."""
    return sum(1 for i in items(roots) if not i.known)


class Decoded:
    """A decoded frame's pixels (or why they could not be read), until the stage that prepares
    them takes them: a 4K frame is 25 MB, and the futures that carry it live on for a while."""

    def __init__(self, item: Item) -> None:
        self._pixels: np.ndarray | ImageError | None = images.load_or_error(item.file.path)

    def take(self) -> np.ndarray | ImageError:
        pixels, self._pixels = self._pixels, None
        assert pixels is not None, "taken twice"
        return pixels


AHEAD_BYTES = 64_000_000
"""Decoded pixels each stage may work ahead of the next: four 1920x1080 frames (6.2 MB each;
with two, `dedup` of the corpus is 10% slower, as frame costs vary), two 3840x2160 ones (25 MB
each: with four, a 4K stream held 100 MB more at its peak) for the preparing stage, and the
decoding stage one 3840x2160 frame ahead of it (see `ahead`)."""


def ahead(first: Item | None) -> tuple[int, int]:
    """Frames the decoding and the preparing stages work ahead, by the size of the first frame.

    Each frame the preparing stage has ahead (2 to 4) waits there decoded, so decoding works
    ahead by what is left of the budget, at least one and at most as far: for frames of more
    than a quarter of it (4K, 5K), one, and such a run holds one full frame fewer."""
    try:
        w, h = images.size(first.file.path) if first is not None else (1, 1)
    except ImageError:
        w, h = 1, 1
    frames = AHEAD_BYTES // (w * h * 3)
    prepare = max(2, min(4, frames))
    return min(prepare, max(1, frames - (prepare - 1))), prepare


def _shape_only(frame: Frame) -> Frame:
    """The frame without its pixels, once prepared: dedup's sinks move files and never read
    them; a zero-strided view stands in, so that the frame keeps its size."""
    width, height = frame.size
    stand_in = np.broadcast_to(np.zeros((), np.uint8), (height, width, 3))
    return dataclasses.replace(frame, image=stand_in)


Ready = tuple[Frame, Prepared] | ImageError
"""A frame ready to decide, or why it cannot be."""


def run(
    roots: list[Path],
    settings: DedupSettings,
    apply: bool = False,
    on_record: Callable[[Record], None] | None = None,
    on_progress: Progress | None = None,
) -> Summary:
    """Decide every image under `roots`; with `apply`, move repeats aside (journaled).

    `on_record(record)` is called for each decided frame, in order, as soon as it is decided;
    `on_progress` is told how many frames there are to decide (a listing of the folders before
    the run), then of each one decided. A frame that cannot be read is a record with
    decision ERROR, counted in `errors`; the run goes on.
    """
    for p in roots:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    summary = Summary(applied=apply)
    if on_progress is not None:
        on_progress.start(count_frames(roots))
    folders = _dirs(roots)
    with Archives(folders if apply else []) as archives:
        return _run(
            roots, folders, settings, summary, archives if apply else None, on_record, on_progress
        )


def _run(
    roots: list[Path],
    folders: list[Path],
    settings: DedupSettings,
    summary: Summary,
    archives: Archives | None,
    on_record: Callable[[Record], None] | None,
    on_progress: Progress | None,
) -> Summary:
    """run(), its archives' locks held when it moves files (`archives`)."""
    if archives is not None:
        for root in folders:
            summary.moved += finish_interrupted(root, archives)
    mover = Mover(folders, archives) if archives is not None else None
    sink: Sink = mover if mover is not None else InPlace()
    pipeline = Pipeline(settings, POLICY, sink)

    def prepare(job: tuple[Item, Future[Decoded]]) -> Ready:
        """Second stage, one thread, capture order: decoded pixels -> frame -> prepared frame.
        Only the stream's previous frame keeps its pixels after this (see Pipeline.prepare)."""
        item, fut = job
        pixels = fut.result().take()
        if isinstance(pixels, ImageError):
            return pixels
        f = item.file
        frame = Frame(f.monitor, pixels, f.taken, str(f.path), f.path)
        try:
            return _shape_only(frame), pipeline.prepare(frame)
        except ImageError as e:
            return e

    # three stages on two cores: decode, prepare (half size, hashes), decide against the ring
    listing = items(roots, summary)
    first = next(listing, None)
    decode_depth, prepare_depth = ahead(first)
    listing = itertools.chain([] if first is None else [first], listing)
    decoded = prefetch(Decoded, listing, workers=1, depth=decode_depth)
    for (item, _), fut in prefetch(prepare, decoded, workers=1, depth=prepare_depth):
        got = fut.result()
        if item.known:
            if not isinstance(got, ImageError):
                pipeline.remember(*got)
            continue
        f = item.file
        if isinstance(got, ImageError):
            error = str(got) if str(f.path) in str(got) else f"{f.path}: {got}"
            log.warning("%s", error)
            rec = pipeline.failed(f.taken, f.monitor, error, source=str(f.path))
        else:
            frame, prepared = got
            rec = pipeline.process(frame, prepared)
        summary.count(rec, (store.file_size(f.path) or 0) if rec.decision is Kind.DUPLICATE else 0)
        if on_record is not None:
            on_record(rec)
        if on_progress is not None:
            on_progress.advance(1)
    memory = pipeline.memory()
    summary.ring_bytes = memory.ring
    log.info(
        "rings: %d streams, %.1f MB of frames (%d at most per stream)",
        len(pipeline.streams),
        summary.ring_bytes / 1e6,
        settings.ring_size,
    )
    log.info(
        "ring memory: %s per frame held (%d frames): tiles %s (%d distinct), block cache %s,"
        " coarse pass %s, hashes and thumbnails %s; besides the rings, previous frames %s",
        units.size(memory.ring // max(1, memory.frames)),
        memory.frames,
        units.size(memory.tiles),
        memory.distinct_tiles,
        units.size(memory.cache),
        units.size(memory.coarse),
        units.size(memory.own),
        units.size(memory.previous),
    )
    if mover is not None:
        summary.moved += mover.apply()
    return summary


def to_json(rec: Record) -> dict[str, Any]:
    """The `--json` line of a decided frame: where it was, the decision, and where it went."""
    return {
        "path": rec.source,
        "decision": rec.decision.value,
        "score": None if rec.score is None else round(rec.score, 6),
        "match": rec.match,
        "error": rec.error,
        "moved_to": rec.path if rec.path != rec.source else None,
    }


class Mover:
    """`dedup --apply`'s sink: plans a journaled move for every frame set aside.

    A frame placed SIMILAR goes to `similar/` beside it, a skipped one (a duplicate) to
    `dedup/`; kept frames stay. Moves are only planned while deciding (the journal is written
    first); `apply` carries them out once the plan is complete, so a run cut short is finished by
    running again (`finish_interrupted`). The name returned is where the file will be, which is
    the name the ring and the record give it.
    """

    FOLDER = {Placement.SIMILAR: store.SIMILAR, Placement.SKIP: store.DEDUP}

    def __init__(self, roots: list[Path], archives: Archives | None = None) -> None:
        self.roots = roots
        self.archives = archives
        self.journals: dict[Path, Journal] = {}
        self.run_ids: dict[Path, str] = {}
        self.taken: set[Path] = set()

    def store(self, frame: Frame, placement: Placement) -> Stored | None:
        src = frame.path
        assert src is not None, "dedup frames come from files"
        if placement not in self.FOLDER:
            return Stored(str(src))
        root = self._root(src)
        dst = _destination(src, self.FOLDER[placement], self.taken)
        if _leaves(root, dst):
            return Stored(str(src))
        try:
            if root not in self.journals:
                self.journals[root] = Journal(root)
                self.run_ids[root] = self.journals[root].begin()
            self.journals[root].write(
                {
                    "run": self.run_ids[root],
                    "src": _rel(src, root),
                    "dst": _rel(dst, root),
                    "decision": "near" if placement is Placement.SIMILAR else "duplicate",
                }
            )
        except OSError as e:
            raise StoreError(f"{root / JOURNAL_NAME}: cannot write the journal ({e})") from None
        return Stored(str(dst))

    def _root(self, path: Path) -> Path:
        return next(r for r in self.roots if path.is_relative_to(r))

    def apply(self) -> int:
        """The plan is complete: mark it so, then carry out every move; returns files moved."""
        moved = 0
        for root, journal in self.journals.items():
            journal.write({"run": self.run_ids[root], "planned": True}, sync=True)
            n = _carry_out(root, journal.moves(self.run_ids[root]), self.archives)
            journal.write({"run": self.run_ids[root], "applied": n}, sync=True)
            journal.close()
            moved += n
        return moved


def _carry_out(root: Path, moves: Iterable[dict], archives: Archives | None) -> int:
    """Carry out journaled moves, then tell the archive's catalog where the files went (before
    the run is marked applied, so a run cut short tells it when it is finished); returns how
    many files are now at their destination."""
    done = [(rec["src"], rec["dst"]) for rec in moves if move(root, rec)]
    if archives is not None:
        archives.moved(root, done)
    return len(done)


def move(root: Path, rec: dict) -> bool:
    """Carry out one journaled move; True if the file is now at dst. Safe to repeat."""
    src, dst = root / rec["src"], root / rec["dst"]
    if _leaves(root, dst):
        return False
    return _relocate(src, dst)


def _leaves(root: Path, path: Path) -> bool:
    """Whether `path`'s folder leads out of the archive through a symbolic link (never move there)."""
    if store.escapes(root, path.parent):
        log.error(
            "%s: not moved, %s leads out of %s through a symbolic link",
            path.name,
            path.parent,
            root,
        )
        return True
    return False


def _relocate(src: Path, dst: Path) -> bool:
    if src.exists() and dst.exists():
        if os.path.samefile(src, dst):  # killed between link and unlink
            src.unlink()
            return True
        log.error("%s: not moved, %s already exists", src, dst)
        return False
    if not src.exists():
        if dst.exists():
            return True
        log.error("%s: missing (neither here nor at %s)", src, dst)
        return False
    store.make_dirs(dst.parent)
    try:
        os.link(src, dst)  # fails rather than overwrite
        src.unlink()
    except FileExistsError:
        log.error("%s: not moved, %s already exists", src, dst)
        return False
    except OSError:  # no hard links on this filesystem (FAT, some network shares)
        if dst.exists():
            return False
        os.rename(src, dst)
    return True


def _destination(path: Path, folder_name: str, taken: set[Path]) -> Path:
    """A free name for `path` in its subfolder `folder_name`: the same name, else `name~N`."""
    folder = path.parent / folder_name
    dst = folder / path.name
    n = 1
    while dst.exists() or dst in taken:
        dst = folder / f"{path.stem}~{n}{path.suffix}"
        n += 1
    taken.add(dst)
    return dst


def finish_interrupted(root: Path, archives: Archives | None = None) -> int:
    """Finish runs whose plan was complete but whose moves were cut short; return files moved."""
    journal = Journal(root)
    done = 0
    for r in journal.runs():
        if r.planned and not r.applied:
            log.warning("%s: finishing an interrupted dedup run (%d moves)", root, r.moves)
            done += _carry_out(root, journal.moves(r.id), archives)
            journal.write({"run": r.id, "applied": r.moves}, sync=True)
    journal.close()
    return done


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def _dirs(roots: list[Path]) -> list[Path]:
    return [r if r.is_dir() else r.parent for r in roots]


def settings(
    base: DedupSettings | None = None,
    duplicate_threshold: float | None = None,
    near_threshold: float | None = None,
    ring_size: int | None = None,
    device: str | None = None,
) -> DedupSettings:
    """`base` (a config's settings, else the defaults) with the given values instead, checked."""
    b = base or DedupSettings()
    s = dataclasses.replace(
        b,
        duplicate_threshold=b.duplicate_threshold
        if duplicate_threshold is None
        else duplicate_threshold,
        near_threshold=b.near_threshold if near_threshold is None else near_threshold,
        ring_size=b.ring_size if ring_size is None else ring_size,
        device=b.device if device is None else device,
    )
    if not 0 < s.near_threshold <= s.duplicate_threshold <= 1:
        raise UsageError(
            f"thresholds must satisfy 0 < near ({s.near_threshold}) <= duplicate ({s.duplicate_threshold}) <= 1"
        )
    if s.ring_size < 1:
        raise UsageError(f"--ring-size must be at least 1, got {s.ring_size}")
    return s


@dataclass(frozen=True, slots=True)
class Undone:
    """What `undo` did in one folder."""

    restored: int = 0
    failed: int = 0
    journal: bool = True
    """False: the folder has no dedup journal, so there was nothing to undo."""


def undo(root: Path) -> Undone:
    """Put back every file the journal of `root` moved, newest run first.

    Holds the archive's lock (never beside a recorder), and its catalog follows every file back.
    """
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder (give the folder `dedup --apply` was run on)")
    if not (root / JOURNAL_NAME).exists():
        return Undone(journal=False)
    with Archives([root]) as archives:
        return _undo(root, archives)


def _undo(root: Path, archives: Archives) -> Undone:
    journal = Journal(root)
    restored = failed = 0
    folders: set[Path] = set()
    for r in reversed(journal.runs()):
        if not r.planned:
            continue
        back = []
        for rec in reversed(list(journal.moves(r.id))):
            src, dst = root / rec["src"], root / rec["dst"]
            folders.add(dst.parent)
            if not _leaves(root, src) and _relocate(dst, src):
                back.append((rec["dst"], rec["src"]))
            else:
                failed += 1
        archives.moved(root, back)
        restored += len(back)
    for folder in folders:  # the dedup/ and similar/ folders, if now empty
        with contextlib.suppress(OSError):
            folder.rmdir()
    if failed == 0:
        journal.remove()
    journal.close()
    return Undone(restored, failed)


class Archives:
    """The archives a `dedup --apply` or `undo` changes files of (folders inside one, found by
    their catalog): while it runs, each one's lock is held, so that nothing moves under a
    recorder, and each one's catalog follows every file moved, so that `why`, `report` and
    `highlights` find them where they are. Folders outside any archive are left to the journal.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self.roots = sorted({r for f in folders if (r := catalog.root_of(f)) is not None})
        self.catalogs: dict[Path, Catalog] = {}
        self._locked: list[Path] = []

    def __enter__(self) -> Archives:
        try:
            for root in self.roots:
                lock.acquire(root, lock.MOVING)
                self._locked.append(root)
                self.catalogs[root] = Catalog.open(root, create=False)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for cat in self.catalogs.values():
            cat.close()
        self.catalogs.clear()
        while self._locked:
            lock.release(self._locked.pop())

    def moved(self, folder: Path, moves: list[tuple[str, str]]) -> None:
        """Files moved in `folder` (paths relative to it, from and to): recorded in the catalog
        of its archive, if it is in one."""
        here = folder.absolute()
        inside = [r for r in self.catalogs if here.is_relative_to(r)]
        if not inside or not moves:
            return
        root = max(inside, key=lambda r: len(r.parts))  # the nearest archive
        pairs = [
            ((here / a).relative_to(root).as_posix(), (here / b).relative_to(root).as_posix())
            for a, b in moves
        ]
        try:
            self.catalogs[root].moved(pairs)
        except sqlite3.Error as e:  # the files moved all the same; `why` will miss these
            log.error("%s: %d moves not recorded (%s)", self.catalogs[root].path, len(pairs), e)
