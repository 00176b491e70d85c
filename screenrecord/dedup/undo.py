"""`screenrecord undo`: put back every file the dedup journal of a folder moved."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from screenrecord.archive.journal import FILE_NAME as JOURNAL_NAME
from screenrecord.archive.journal import Journal
from screenrecord.archive.journaled import Archives
from screenrecord.dedup.mover import leaves, relocate
from screenrecord.errors import UsageError


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
    with Archives.holding([root]) as archives:
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
            if not leaves(root, src) and relocate(dst, src):
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
