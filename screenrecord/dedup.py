"""Archive mode: decide every frame of existing folders, then (with --apply) move repeats aside.

Duplicates go to a `dedup/` subfolder and near-duplicates to `similar/` next to the file, as the
original script did. Nothing is deleted or overwritten; every move is journaled before it happens
(see journal.py), so an interrupted run is finished by running again, and `undo` puts it all back.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from screenrecord import images, store
from screenrecord.errors import ImageError, ScreenrecordError, StoreError, UsageError
from screenrecord.journal import FILE_NAME as JOURNAL_NAME
from screenrecord.journal import Journal
from screenrecord.models import DedupSettings, Frame, Kind

log = logging.getLogger(__name__)

FOLDER_FOR = {Kind.DUPLICATE: "dedup", Kind.NEAR: "similar"}


@dataclass
class Summary:
    frames: int = 0
    duplicate: int = 0
    near: int = 0
    new: int = 0
    errors: int = 0
    ignored: int = 0
    freed: int = 0
    moved: int = 0

    def line(self, applied: bool) -> str:
        head = (
            f"{self.frames} frames: {self.duplicate} duplicate, {self.near} near, {self.new} new, "
            f"{self.errors} errors; {self.ignored} other files ignored"
        )
        mb = self.freed / 1e6
        if applied:
            return f"{head}\nmoved {self.moved} files ({mb:.1f} MB of duplicates into dedup/, near-duplicates into similar/)"
        return f"{head}\nwould free {mb:.1f} MB; nothing moved (dry run: add --apply to move them)"


@dataclass(frozen=True, slots=True)
class Item:
    """An image met while walking: `known` frames (already in similar/) only feed the ring."""

    root: Path
    file: store.ArchiveFile
    known: bool = False


def items(roots: Iterable[Path], summary: Summary) -> Iterator[Item]:
    """Images under each root in time order, folder by folder (memory bounded by one folder)."""
    for root in roots:
        if root.is_file():
            yield Item(root.parent, store.describe(root))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames if d not in store.SET_ASIDE and not d.startswith(".")
            )
            folder = Path(dirpath)
            found = [(store.describe(folder / n), False) for n in filenames]
            similar = folder / "similar"
            if similar.is_dir() and not similar.is_symlink():
                found += [(store.describe(similar / n), True) for n in os.listdir(similar)]
            found = [(f, k) for f, k in found if not f.path.is_symlink() and f.path.is_file()]
            summary.ignored += sum(1 for f, k in found if not f.is_image and not k)
            found = [(f, k) for f, k in found if f.is_image]
            found.sort(key=lambda fk: (fk[0].taken, fk[0].monitor, fk[0].path.name))
            for f, k in found:
                yield Item(root, f, k)


T = TypeVar("T")
R = TypeVar("R")


def prefetch(fn: Callable[[T], R], it: Iterable[T], workers: int) -> Iterator[tuple[T, Future]]:
    """Run fn on items in background threads, a few ahead, yielding (item, future) in order."""
    depth = 2 * workers + 2
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        window: deque[tuple[T, Future]] = deque()
        for x in it:
            window.append((x, pool.submit(fn, x)))
            if len(window) >= depth:
                yield window.popleft()
        while window:
            yield window.popleft()


def _decode(item: Item):
    try:
        return images.load(item.file.path)
    except ImageError as e:
        return e


def _frame(item: Item, pixels) -> Frame | ImageError:
    if isinstance(pixels, ImageError):
        return pixels
    return Frame(item.file.monitor, pixels, item.file.taken, str(item.file.path), item.file.path)


def count_images(roots: list[Path]) -> int:
    n = 0
    for root in roots:
        if root.is_file():
            n += 1
            continue
        for _dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [
                d for d in dirnames if d not in store.SET_ASIDE and not d.startswith(".")
            ]
            n += sum(1 for f in filenames if Path(f).suffix.lower() in store.IMAGE_SUFFIXES)
    return n


def run(
    roots: list[Path],
    settings: DedupSettings,
    on_result: Callable[[Item, dict, Kind | None], None],
    summary: Summary,
    progress: bool = False,
) -> None:
    """Decide every image under roots; on_result(item, record, kind) for each decided frame."""
    from tqdm import tqdm

    from screenrecord.pipeline import Deduper

    deduper = Deduper(settings)

    def prepare(job: tuple[Item, Future]):
        """Second stage, one thread, capture order: decode result -> frame -> prepared frame."""
        item, fut = job
        frame = _frame(item, fut.result())
        if isinstance(frame, ImageError):
            return frame, None
        try:
            return frame, deduper.prepare(frame)
        except ImageError as e:
            return e, None

    bar = tqdm(
        total=count_images(roots),
        unit="frame",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    # three stages on two cores: decode, prepare (half size, hashes), decide against the ring
    decoded = prefetch(_decode, items(roots, summary), workers=1)
    with bar:
        for (item, _), fut in prefetch(prepare, decoded, workers=1):
            bar.update(1)
            path = item.file.path
            frame, prepared = fut.result()
            if item.known:
                if prepared is not None:
                    deduper.remember(frame, prepared)
                continue
            summary.frames += 1
            record = {
                "path": str(path),
                "decision": "error",
                "score": None,
                "match": None,
                "error": None,
            }
            kind = None
            try:
                if isinstance(frame, ImageError):
                    raise frame
                d = deduper.process(frame, prepared=prepared)
                kind = d.kind
                record.update(
                    decision=d.kind.value,
                    score=None if d.score is None else round(d.score, 6),
                    match=d.match,
                )
            except ImageError as e:
                record["error"] = str(e) if str(path) in str(e) else f"{path}: {e}"
                summary.errors += 1
                log.warning("%s", record["error"])
            if kind is not None:
                setattr(summary, kind.value, getattr(summary, kind.value) + 1)
                if kind is Kind.DUPLICATE:
                    summary.freed += _size(path)
            on_result(item, record, kind)
    log.info(
        "rings: %d streams, %.1f MB of frames (%d at most per stream)",
        len(deduper.streams),
        deduper.ring_bytes() / 1e6,
        settings.ring_size,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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


def _destination(path: Path, kind: Kind, taken: set[Path]) -> Path:
    folder = path.parent / FOLDER_FOR[kind]
    dst = folder / path.name
    n = 1
    while dst.exists() or dst in taken:
        dst = folder / f"{path.stem}~{n}{path.suffix}"
        n += 1
    taken.add(dst)
    return dst


def finish_interrupted(root: Path) -> int:
    """Finish runs whose plan was complete but whose moves were cut short; return files moved."""
    journal = Journal(root)
    done = 0
    for r in journal.runs():
        if r.planned and not r.applied:
            log.warning("%s: finishing an interrupted dedup run (%d moves)", root, r.moves)
            done += sum(move(root, rec) for rec in journal.moves(r.id))
            journal.write({"run": r.id, "applied": r.moves}, sync=True)
    journal.close()
    return done


def main(args: argparse.Namespace) -> int:
    roots = [Path(p) for p in args.paths]
    for p in roots:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    settings = _settings(args)
    summary = Summary()
    if args.apply:
        for root in _dirs(roots):
            summary.moved += finish_interrupted(root)
    journals: dict[Path, Journal] = {}
    run_ids: dict[Path, str] = {}
    taken: set[Path] = set()

    def on_result(item: Item, record: dict, kind: Kind | None) -> None:
        if args.json:
            print(json.dumps(record), flush=False)
        if args.apply and kind in FOLDER_FOR:
            root = item.root
            if root not in journals:
                journals[root] = Journal(root)
                run_ids[root] = journals[root].begin()
            dst = _destination(item.file.path, kind, taken)
            if _leaves(root, dst):
                return
            journals[root].write(
                {
                    "run": run_ids[root],
                    "src": _rel(item.file.path, root),
                    "dst": _rel(dst, root),
                    "decision": kind.value,
                }
            )

    try:
        run(roots, settings, on_result, summary, progress=sys.stderr.isatty() and not args.json)
    finally:
        sys.stdout.flush()
    for root, journal in journals.items():  # plan complete: now move
        journal.write({"run": run_ids[root], "planned": True}, sync=True)
        n = 0
        for rec in journal.moves(run_ids[root]):
            n += move(root, rec)
        journal.write({"run": run_ids[root], "applied": n}, sync=True)
        journal.close()
        summary.moved += n
    print(
        f"screenrecord dedup: {summary.line(args.apply)}",
        file=sys.stderr if args.json else sys.stdout,
    )
    return 1 if summary.errors else 0


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def _dirs(roots: list[Path]) -> list[Path]:
    return [r if r.is_dir() else r.parent for r in roots]


def _settings(args: argparse.Namespace) -> DedupSettings:
    base = DedupSettings()
    if getattr(args, "config", None):
        from screenrecord import config

        base = config.load(Path(args.config)).dedup_settings()
    changes = {
        k: v
        for k, v in {
            "duplicate_threshold": args.duplicate_threshold,
            "near_threshold": args.near_threshold,
            "ring_size": args.ring_size,
            "device": args.device,
        }.items()
        if v is not None
    }
    s = dataclasses.replace(base, **changes)
    if not 0 < s.near_threshold <= s.duplicate_threshold <= 1:
        raise UsageError(
            f"thresholds must satisfy 0 < near ({s.near_threshold}) <= duplicate ({s.duplicate_threshold}) <= 1"
        )
    if s.ring_size < 1:
        raise UsageError(f"--ring-size must be at least 1, got {s.ring_size}")
    return s


def undo(root: Path) -> tuple[int, int]:
    """Put back every file the journal of `root` moved, newest run first; (restored, failed)."""
    journal = Journal(root)
    restored = failed = 0
    folders: set[Path] = set()
    for r in reversed(journal.runs()):
        if not r.planned:
            continue
        for rec in reversed(list(journal.moves(r.id))):
            src, dst = root / rec["src"], root / rec["dst"]
            folders.add(dst.parent)
            if not _leaves(root, src) and _relocate(dst, src):
                restored += 1
            else:
                failed += 1
    for folder in folders:  # the dedup/ and similar/ folders, if now empty
        with contextlib.suppress(OSError):
            folder.rmdir()
    if failed == 0:
        journal.remove()
    journal.close()
    return restored, failed


def undo_main(args: argparse.Namespace) -> int:
    total_failed = 0
    for p in map(Path, args.paths):
        if not p.is_dir():
            raise UsageError(f"{p}: not a folder (give the folder `dedup --apply` was run on)")
        if not (p / JOURNAL_NAME).exists():
            raise StoreError(f"{p}: no dedup journal here ({JOURNAL_NAME}); nothing to undo")
        restored, failed = undo(p)
        total_failed += failed
        print(
            f"screenrecord undo: {p}: {restored} files put back"
            + (f", {failed} could not be" if failed else "")
        )
    return 1 if total_failed else 0


__all__ = ["main", "undo_main", "ScreenrecordError"]
