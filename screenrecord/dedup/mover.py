"""`dedup --apply`'s sink: every frame set aside is a journaled move, carried out once planned.

Duplicates go to a `dedup/` subfolder and near-duplicates to `similar/` next to the file. Moves
are journaled runs (archive/journaled.py): written while deciding, carried out once the plan is
complete, finished by the next run if cut short. A move never overwrites a file and never leads
out of the archive through a symbolic link.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from screenrecord.archive import noreplace, store
from screenrecord.archive.journal import Journal
from screenrecord.archive.journaled import Archives, Journaled
from screenrecord.models import Frame, Placement
from screenrecord.pipeline import Stored

log = logging.getLogger(__name__)


class Stopped(Exception):
    """The run was asked to stop (Ctrl-C) and did, between two frames or two moves."""


class Mover:
    """`dedup --apply`'s sink: plans a journaled move for every frame set aside.

    A frame placed SIMILAR goes to `similar/` beside it, a skipped one (a duplicate) to
    `dedup/`; kept frames stay. Moves are only planned while deciding (the journal is written
    first); `apply` carries them out once the plan is complete, so a run cut short is finished by
    running again (`finish_interrupted`). The name returned is where the file will be, which is
    the name the ring and the record give it.
    """

    FOLDER = {Placement.SIMILAR: store.SIMILAR, Placement.SKIP: store.DEDUP}

    def __init__(
        self,
        roots: list[Path],
        archives: Archives | None = None,
        on_move: Callable[[], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.roots = roots
        self.archives = archives
        self.on_move = on_move
        """Told of each file moved, as it is (an interrupted run says how far it got)."""
        self.stop = stop
        """Asked before each move: True stops the moves there (Stopped)."""
        self.runs: dict[Path, Journaled] = {}
        """Folder given -> its run, begun at its first move."""
        self.taken: set[Path] = set()
        self.planned = 0
        """Moves planned so far."""

    def store(self, frame: Frame, placement: Placement) -> Stored | None:
        src = frame.path
        assert src is not None, "dedup frames come from files"
        if placement not in self.FOLDER:
            return Stored(str(src))
        root = self._root(src)
        dst = _destination(src, self.FOLDER[placement], self.taken)
        if leaves(root, dst):
            return Stored(str(src))
        if root not in self.runs:
            self.runs[root] = journaled(root, self.archives, self.on_move, self.stop)
        self.planned += 1
        self.runs[root].plan(
            {
                "src": _rel(src, root),
                "dst": _rel(dst, root),
                "decision": "near" if placement is Placement.SIMILAR else "duplicate",
            }
        )
        return Stored(str(dst))

    def _root(self, path: Path) -> Path:
        return next(r for r in self.roots if path.is_relative_to(r))

    def apply(self) -> int:
        """The plan is complete: mark it so, then carry out every move; returns files moved."""
        moved = 0
        for run in self.runs.values():
            run.planned()
            moved += len(run.apply())
            run.close()
        return moved

    def close(self) -> None:
        """Close the journals, however the run ended (again does nothing)."""
        for run in self.runs.values():
            run.close()


def journaled(
    root: Path,
    archives: Archives | None = None,
    on_move: Callable[[], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Journaled:
    """dedup's journaled runs in `root`: a step is one move (`on_move` is told of each file
    moved; `stop`, asked before each, raises Stopped there); once a run's moves are done, the
    catalog of each archive of `archives` that holds files moved is told where they went."""

    def step(rec: dict) -> bool:
        if stop is not None and stop():
            raise Stopped
        done = move(root, rec)
        if done and on_move is not None:
            on_move()
        return done

    def settle(run_id: str, done: list[dict]) -> None:
        if archives is not None:
            archives.moved(root, [(rec["src"], rec["dst"]) for rec in done])

    return Journaled(Journal(root), step, settle, "dedup run (%d moves)")


def finish_interrupted(
    root: Path,
    archives: Archives | None = None,
    on_move: Callable[[], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Finish runs whose plan was complete but whose moves were cut short; return files moved
    (`on_move` is told of each one as it is moved; `stop`, as for journaled())."""
    run = journaled(root, archives, on_move, stop)
    try:
        return len(run.finish_interrupted())
    finally:
        run.close()


def move(root: Path, rec: dict) -> bool:
    """Carry out one journaled move; True if the file is now at dst. Safe to repeat."""
    src, dst = root / rec["src"], root / rec["dst"]
    if leaves(root, dst):
        return False
    return relocate(src, dst)


def leaves(root: Path, path: Path) -> bool:
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


def relocate(src: Path, dst: Path) -> bool:
    """Move `src` to `dst`, never over a file; True if the file is at `dst` now. Safe to repeat."""
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
        noreplace.move(src, dst)
    except FileExistsError:
        log.error("%s: not moved, %s already exists", src, dst)
        return False
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


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)
