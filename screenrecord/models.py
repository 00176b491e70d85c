"""Values shared by every module: no logic, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

import numpy as np
from PIL import Image


class Kind(str, Enum):
    """What the engine decided about a frame."""

    NEW = "new"
    NEAR = "near"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Frame:
    """One screenshot of one monitor, full resolution, RGB."""

    monitor: int
    image: Image.Image | np.ndarray
    """A PIL RGB image or an (H, W, 3) uint8 RGB array."""
    taken: datetime
    name: str
    """A stable name for the frame: its archive path, or the file name it will get."""
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        if isinstance(self.image, np.ndarray):
            return self.image.shape[1], self.image.shape[0]
        return self.image.size


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict on a frame against its stream's ring."""

    kind: Kind
    score: float | None
    """Best SSIM found, None when the ring held nothing to compare with."""
    match: str | None
    """Name of the ring frame that made it a duplicate (or scored best)."""
    compared: int = 0
    """How many exact SSIM comparisons the decision needed."""


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """Thresholds and sizes of the similarity engine."""

    duplicate_threshold: float = 0.99
    near_threshold: float = 0.95
    ring_size: int = 100
    scale: int = 2
    device: str = "auto"
