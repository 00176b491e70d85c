"""Journaled runs: plan every step first, then apply them, and finish a run cut short.

`dedup --apply` (moves frames aside) and `prune --apply` (deletes frames) change many files of
an archive. Both go the same way, over one journal each (journal.py's format):

    plan    every step is written to the journal, then "planned" (fsynced) before any file changes
    apply   each step is carried out; then `settle` tells the archive's catalog what was done,
            and the run is marked "applied"
    finish  a run planned but never applied (a killed process) is carried out at the next start,
            before anything new is planned: a step is a rename or an unlink, each file is either
            before or after it, so doing it again is a matter of looking

`Archives` holds what such a run needs of the archives it changes: each one's lock, so that
nothing changes under a recorder, and its catalog. The archives a folder's files belong to are
the one it is in and every one nested below it (a recorder may be writing into ROOT/sub/archive
while `dedup --apply ROOT` walks it).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from screenrecord.archive import catalog, lock
from screenrecord.archive.catalog import Catalog
from screenrecord.archive.journal import Journal
from screenrecord.errors import StoreError

log = logging.getLogger(__name__)

Step = Callable[[dict], bool]
"""Carry out one journaled step; True when it is done (done already counts). Safe to repeat."""

Settle = Callable[[str, list[dict]], None]
"""Told a run's id and the steps done, once all of them were tried, before the run is marked
applied (so that a run cut short tells it when it is finished)."""


class Journaled:
    """The journaled runs of one folder: one command's journal there, how a step is carried out,
    and what is told once a run's steps are done.

    `what` names a run in the warning about finishing one, e.g. "dedup run (%d moves)".
    """

    def __init__(
        self, journal: Journal, step: Step, settle: Settle, what: str = "run (%d steps)"
    ) -> None:
        self.journal = journal
        self.step = step
        self.settle = settle
        self.what = what
        self.run_id: str | None = None

    def begin(self) -> str:
        """Begin planning a run (once; `plan` begins it at its first step otherwise)."""
        if self.run_id is None:
            try:
                self.run_id = self.journal.begin()
            except OSError as e:
                raise self._unwritable(e) from None
        return self.run_id

    def plan(self, rec: dict) -> None:
        """Add a step to the run's plan (not yet fsynced: `planned` does)."""
        run_id = self.begin()
        try:
            self.journal.write({"run": run_id, **rec})
        except OSError as e:
            raise self._unwritable(e) from None

    def planned(self, marker: object = True) -> None:
        """The plan is complete (`marker`, the value of its "planned" line): written and
        fsynced, so that from here on the run is finished however the process ends."""
        run_id = self.begin()
        try:
            self.journal.write({"run": run_id, "planned": marker}, sync=True)
        except OSError as e:
            raise self._unwritable(e) from None

    def _unwritable(self, e: OSError) -> StoreError:
        return StoreError(f"{self.journal.path}: cannot write the journal ({e})")

    def apply(self) -> list[dict]:
        """Carry out the planned run; returns the steps done."""
        assert self.run_id is not None, "nothing planned"
        return self._carry_out(self.run_id)

    def finish_interrupted(self) -> list[dict]:
        """Carry out every run whose plan is complete but that was never marked applied (a run
        without a complete plan changed nothing and is left alone); returns the steps done."""
        done: list[dict] = []
        for r in self.journal.runs():
            if r.planned and not r.applied:
                log.warning("%s: finishing an interrupted " + self.what, self.journal.root, r.moves)
                # its "applied" line counts the steps planned, as it always has (nothing reads N)
                done += self._carry_out(r.id, applied=r.moves)
        return done

    def _carry_out(self, run_id: str, applied: int | None = None) -> list[dict]:
        """Each step of a run, then `settle`, then the "applied" line (`applied`: its count,
        else the steps done); returns the steps done."""
        done = [rec for rec in self.journal.moves(run_id) if self.step(rec)]
        self.settle(run_id, done)
        n = len(done) if applied is None else applied
        self.journal.write({"run": run_id, "applied": n}, sync=True)
        return done

    def close(self) -> None:
        self.journal.close()


class Archives:
    """The archives a journaled run changes files of, held while it runs: each one's lock taken
    (`doing`, as lock.py says it), so that nothing changes under a recorder, and its catalog
    open, so that it follows every file moved or deleted."""

    def __init__(self, roots: Iterable[Path], doing: str) -> None:
        self.roots = list(roots)
        self.doing = doing
        self.catalogs: dict[Path, Catalog] = {}
        self._locked: list[Path] = []

    @classmethod
    def holding(cls, folders: Iterable[Path], doing: str = lock.MOVING) -> Archives:
        """The archives the files under `folders` belong to: the one each folder is in (found by
        its catalog) and every archive nested below it; files outside any archive are left to
        the journal."""
        found: set[Path] = set()
        for f in folders:
            if (r := catalog.root_of(f)) is not None:
                found.add(r)
            found.update(nested(f))
        return cls(sorted(found), doing)

    def __enter__(self) -> Archives:
        try:
            for root in self.roots:
                lock.acquire(root, self.doing)
                self._locked.append(root)
                if (root / catalog.FILE_NAME).exists():  # else a recorder that has not written yet
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
        """Files moved in `folder` (paths relative to it, from and to): each recorded in the
        catalog of the archive it is in (the nearest one holding it), if it is in one."""
        here = folder.absolute()
        by_archive: dict[Path, list[tuple[str, str]]] = {}
        for a, b in moves:
            src, dst = here / a, here / b
            inside = [r for r in self.catalogs if src.is_relative_to(r) and dst.is_relative_to(r)]
            if inside:
                root = max(inside, key=lambda r: len(r.parts))  # the nearest archive
                pair = (src.relative_to(root).as_posix(), dst.relative_to(root).as_posix())
                by_archive.setdefault(root, []).append(pair)
        for root, pairs in by_archive.items():
            try:
                self.catalogs[root].moved(pairs)
            except sqlite3.Error as e:  # the files moved all the same; `why` will miss these
                log.error("%s: %d moves not recorded (%s)", self.catalogs[root].path, len(pairs), e)


def nested(folder: Path) -> Iterator[Path]:
    """The archives in `folder` or below it: each folder holding a catalog or a recorder's lock
    file (one that has not written its catalog yet). Symbolic links are not followed."""
    top = Path(folder).absolute()
    for here, _dirs, files in os.walk(top):
        if catalog.FILE_NAME in files or lock.NAME in files:
            yield Path(here)
