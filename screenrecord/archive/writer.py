"""The archive writer: the sink that keeps a frame by writing it as a new file of the archive.

The daemon hands it to the pipeline; the pipeline then records the frame's catalog row. Each
file is encoded and published atomically (store.write_atomic), so a reader never sees half of it.
"""

from __future__ import annotations

import os
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
        day = store.day_folder(self.root, frame.taken)
        folder = day / store.SIMILAR if placement is Placement.SIMILAR else day
        if store.escapes(self.root, folder):
            raise StoreError(
                f"{folder}: a symbolic link leads out of the archive {self.root}; "
                "not written there (replace the link with a folder)"
            )
        try:
            data = store.encode(frame.image, fmt.format, fmt.compress_level)
            path = self._publish(day, folder, frame, data)
        except OSError as e:  # e.g. the day folder cannot be created on a full disk
            raise StoreError(f"{folder}: cannot write ({e.strerror})") from None
        return Stored(path.relative_to(self.root).as_posix(), len(data))

    def _publish(self, day: Path, folder: Path, frame: Frame, data: bytes) -> Path:
        """Write `data` under the frame's name, or a repeat of it where local time gave that
        name already (store.frame_name): a stored frame is never replaced, and this one is
        still kept. Retried when another writer takes the name between the look and the write."""
        for _ in range(_TRIES):
            path = (
                folder
                / store.free_frame_path(day, frame.taken, frame.monitor, self.storage.ext).name
            )
            try:
                store.write_atomic(path, data)
            except StoreError:
                if not os.path.lexists(path):  # not a name taken meanwhile: a real failure
                    raise
                continue
            return path
        raise StoreError(f"{path}: already exists, not overwritten")


_TRIES = 5
"""Names tried for one frame when other writers (a `once` beside the daemon) keep taking them."""
