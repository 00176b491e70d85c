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
