"""Half-size frames, exactly as PIL's LANCZOS resize makes them, recomputed only where a frame changed.

Resizing a 1920x1080 frame costs ~25 ms, more than everything else a decision needs. Each half-size
pixel depends only on nearby full-size pixels (LANCZOS, a=3, at scale 2 reads 12 pixels around
it), and PIL's resize with a `box` reads pixels outside the box up to the image border, so resizing
the changed part of a frame gives bit for bit the pixels that resizing the whole frame gives. An
unchanged or slightly changed screen therefore costs a comparison with the previous frame and a few
small resizes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

BLOCK = 64
"""Full-size block edge used to find what changed between two frames."""
MARGIN = 4
PAD = 16
"""Full-size pixels of context kept around a part that is resized on its own (even, > 6)."""
"""Half-size pixels around a changed block that its pixels reach through the LANCZOS kernel (3, plus one spare)."""


def as_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """RGB pixels as a C-contiguous (H, W, 3) uint8 array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 array, got {image.shape} {image.dtype}")
        return np.ascontiguousarray(image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def resize(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Half size of `image` (or of the even-aligned `box` of it) with PIL's LANCZOS filter."""
    w, h = image.size
    if box is None:
        return np.asarray(image.resize((w // 2, h // 2), Image.LANCZOS))
    x0, y0, x1, y1 = box
    return np.asarray(image.resize(((x1 - x0) // 2, (y1 - y0) // 2), Image.LANCZOS, box=box))


def changed_blocks(full: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """(rows, cols) bool array: which BLOCKxBLOCK blocks of two same-size frames differ."""
    h, w = full.shape[:2]
    a, b = full.reshape(h, w * 3), prev.reshape(h, w * 3)
    unit, per_block = 1, BLOCK * 3
    if (w * 3) % 8 == 0 and per_block % 8 == 0:  # compare 8 bytes at a time
        a, b, unit = a.view(np.uint64), b.view(np.uint64), 8
    diff = a != b
    rows = np.logical_or.reduceat(diff, np.arange(0, h, BLOCK), axis=0)
    return np.logical_or.reduceat(rows, np.arange(0, diff.shape[1], per_block // unit), axis=1)


Rects = list[tuple[int, int, int, int]]


def half_size(
    full: np.ndarray, prev_full: np.ndarray | None = None, prev_half: np.ndarray | None = None
) -> tuple[np.ndarray, Rects | None]:
    """Half-size frame of `full`, and the half-size rectangles (y0, y1, x0, x1) where it differs
    from `prev_half`, the half-size frame of `prev_full` (None: it may differ anywhere)."""
    h, w = full.shape[:2]
    if prev_full is None or prev_half is None or prev_full.shape != full.shape or h % 2 or w % 2:
        return resize(Image.fromarray(full)), None
    blocks = changed_blocks(full, prev_full)
    if not blocks.any():
        return prev_half, []
    if blocks.mean() > 0.7:  # mostly new: one resize of everything is cheapest
        return resize(Image.fromarray(full)), None
    half = prev_half.copy()
    hh, hw = h // 2, w // 2
    step = BLOCK // 2
    rects = []
    for r0, r1, c0, c1 in _rectangles(blocks):
        y0, y1 = max(0, r0 * step - MARGIN), min(hh, r1 * step + MARGIN)
        x0, x1 = max(0, c0 * step - MARGIN), min(hw, c1 * step + MARGIN)
        half[y0:y1, x0:x1] = _resize_part(full, y0, y1, x0, x1)
        rects.append((y0, y1, x0, x1))
    return half, rects


def _resize_part(full: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """Half-size pixels [y0:y1, x0:x1] of `full`, resizing only a padded crop of it.

    The crop reaches PAD full-size pixels past the box (the kernel reads 6), or the frame's own
    edge, so PIL computes from exactly the pixels and weights it would use on the whole frame.
    """
    h, w = full.shape[:2]
    fy0, fx0 = max(0, 2 * y0 - PAD), max(0, 2 * x0 - PAD)
    fy1, fx1 = min(h, 2 * y1 + PAD), min(w, 2 * x1 + PAD)
    crop = Image.fromarray(full[fy0:fy1, fx0:fx1])
    return resize(crop, (2 * x0 - fx0, 2 * y0 - fy0, 2 * x1 - fx0, 2 * y1 - fy0))


def _rectangles(blocks: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cover the changed blocks with few rectangles (r0, r1, c0, c1), end exclusive: runs of
    changed blocks in a row (gaps of one block bridged), stacked where rows repeat a run."""
    done, open_ = [], {}
    for r, row in enumerate(blocks):
        cols = np.flatnonzero(row)
        runs = []
        for c in cols:
            if runs and c - runs[-1][1] <= 1:
                runs[-1][1] = c + 1
            else:
                runs.append([c, c + 1])
        still = {}
        for c0, c1 in runs:
            r0 = open_.pop((c0, c1), r)
            still[(c0, c1)] = r0
        done.extend((r0, r, c0, c1) for (c0, c1), r0 in open_.items())
        open_ = still
    done.extend((r0, len(blocks), c0, c1) for (c0, c1), r0 in open_.items())
    return done
