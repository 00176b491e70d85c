"""The archive walk that feeds `dedup`: every image under the folders given, in time order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from screenrecord.archive import store
from screenrecord.dedup.summary import Summary


@dataclass(frozen=True, slots=True)
class Item:
    """An image met while walking: `known` frames (already in similar/) only feed the ring."""

    root: Path
    file: store.ArchiveFile
    known: bool = False


def items(roots: Iterable[Path], summary: Summary | None = None) -> Iterator[Item]:
    """Images under each root in time order, folder by folder (memory bounded by one folder).

    Files given as roots are one group, in time order, before the folders: each monitor's
    frames are decided in the order they were taken, whatever the order of the arguments.
    Frames already in a `similar/` folder come as `known` items, in time order with the others.
    Files that are not images are counted in `summary.ignored`.
    """
    roots = list(roots)
    files = [r for r in roots if r.is_file()]
    yield from _sorted(i for r in files for i in _found(r, summary))
    for root in roots:
        if root not in files:
            yield from _found(root, summary)


def _found(root: Path, summary: Summary | None) -> Iterator[Item]:
    """The images under one root, folder by folder, each folder's in time order."""
    top = root.parent if root.is_file() else root
    for folder in store.folders([root]):
        if summary is not None:
            summary.ignored += sum(1 for f in folder.files if not f.is_image)
        found = [Item(top, f) for f in folder.files if f.is_image]
        found += [Item(top, f, known=True) for f in folder.similar]
        yield from _sorted(found)


def _sorted(found: Iterable[Item]) -> list[Item]:
    return sorted(found, key=lambda i: (i.file.taken, i.file.monitor, i.file.path.name))


def count_frames(roots: Iterable[Path]) -> int:
    """How many frames a run over `roots` decides (for a progress bar's total)."""
    return sum(1 for i in items(roots) if not i.known)
