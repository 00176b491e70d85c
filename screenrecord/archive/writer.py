"""The archive writer: the sink that keeps a frame by writing it as a new file of the archive.

The daemon hands it to the pipeline; the pipeline then records the frame's catalog row. Each
file is encoded and published atomically (store.write_atomic), so a reader never sees half of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from screenrecord.archive import store
from screenrecord.errors import StoreError
from screenrecord.models import Frame, Placement, Stored


class Encoding(Protocol):
    """How kept frames are encoded: the config's `storage` section (config.StorageConfig)."""

    @property
    def format(self) -> str: ...

    @property
    def compress_level(self) -> int: ...

    @property
    def ext(self) -> str: ...


class ArchiveWriter:
    """The daemon's sink: each kept frame is encoded and written as a new file of the archive,
    atomically, in its day folder or that folder's `similar/`. Skipped frames are not written."""

    def __init__(self, root: Path, storage: Encoding) -> None:
        self.root = root
        self.storage = storage

    def store(self, frame: Frame, placement: Placement) -> Stored | None:
        if placement is Placement.SKIP:
            return None
        fmt = self.storage
        path = store.frame_path(self.root, frame.taken, frame.monitor, fmt.ext)
        if placement is Placement.SIMILAR:
            path = path.parent / store.SIMILAR / path.name
        if store.escapes(self.root, path.parent):
            raise StoreError(
                f"{path.parent}: a symbolic link leads out of the archive {self.root}; "
                "not written there (replace the link with a folder)"
            )
        try:
            data = store.encode(frame.image, fmt.format, fmt.compress_level)
            store.write_atomic(path, data)
        except OSError as e:  # e.g. the day folder cannot be created on a full disk
            raise StoreError(f"{path}: cannot write ({e.strerror})") from None
        return Stored(path.relative_to(self.root).as_posix(), len(data))
