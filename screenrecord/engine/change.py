"""What changed between two prepared frames, in regions a person can point at, and a stream's
noise mask: the cells that change at most of its frames (a clock, a caret, a ticker).

The score says how alike two frames are over the whole screen; a line of typed text changes so
few pixels of a 1080p screen that it scores above the duplicate threshold, like a clock tick
does. What tells them apart is where and how wide the change is: a clock's digits change at
every frame, in the same few cells, and a clock tick, a caret, a pointer are narrower than a
line of text.

Everything here works on the half-size planes the score reads (`Prepared`), and only in the
blocks whose hashes differ: a frame that repeats its match but for a clock costs one or two
32-pixel blocks compared pixel by pixel.

- `regions`: the CELL x CELL cells (16 x 16 pixels at full size) where two frames differ
  visibly, grouped into connected regions, each boxed tightly around the pixels that differ, in
  full-size pixels.
- `NoiseMask`: per stream, the cells that changed at NOISY of the last HISTORY frames, counted
  only in regions narrower than a line: a clock is learned, a line being typed or `top`
  refreshing (wide regions) is not.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from screenrecord.engine.prepared import TILE, Prepared
from screenrecord.models import Box

CELL = 8
"""Edge of a cell at half size: 16 full-size pixels, about two characters of a terminal font."""
PER_BLOCK = TILE // CELL
LINE = 96
"""Width in full-size pixels of the narrowest change kept although its score says duplicate:
about 12 characters of an 8-pixel font, a short word with its prompt or a line of output.
A clock's seconds, a caret, a pointer, a spinner are narrower; the analog clock's hands of the
corpus (97-129 px) sit at the edge, which is what the noise mask is for."""
VISIBLE = 8
"""Half-size pixels that differ by at most this (of 255) in every channel do not count: the
resize spreads a sharp change a few pixels around it, fading (16, 4, 1 levels past the edge of
a white digit on blue), and that faint tail would join the digits of a large clock, 27 px
apart at full size, into one region wider than a line."""
MAX_REGIONS = 4
"""Regions a record keeps, largest first: enough to point at what changed."""
HISTORY = 8
"""Frames of a stream the noise mask remembers."""
NOISY = 3
"""A cell is noise when it changed in at least this many of the last HISTORY frames."""
LEARN_AT_MOST = 0.25
"""A frame whose blocks changed more than this share is a new screen: it teaches the mask
nothing (its pixels are not compared)."""


def _differing_blocks(a: Prepared, b: Prepared) -> np.ndarray:
    return np.argwhere(a.blocks != b.blocks)


def _pixels_and_cells(
    a: Prepared, b: Prepared, blocks: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The half-size pixels that differ visibly (bool, planes shaped, filled only in the
    blocks whose hashes differ) and the cells that hold any of them. `b` may be a compact ring
    frame (its differing blocks are decompressed)."""
    rows, cols = a.blocks.shape
    if blocks is None:
        blocks = _differing_blocks(a, b)
    pixels = np.zeros((rows * TILE, cols * TILE), bool)
    cells = np.zeros((rows * PER_BLOCK, cols * PER_BLOCK), bool)
    pa = a.pixels if isinstance(a.pixels, np.ndarray) else None
    pb = b.pixels if isinstance(b.pixels, np.ndarray) else None
    for i, j in blocks.tolist():
        ys, xs = slice(i * TILE, (i + 1) * TILE), slice(j * TILE, (j + 1) * TILE)
        x = pa[:, ys, xs] if pa is not None else _block(a, i, j)
        y = pb[:, ys, xs] if pb is not None else _block(b, i, j)
        seen = (cv2.absdiff(x, y) > VISIBLE).any(axis=0)
        pixels[ys, xs] = seen
        cells[i * PER_BLOCK : (i + 1) * PER_BLOCK, j * PER_BLOCK : (j + 1) * PER_BLOCK] = (
            seen.reshape(PER_BLOCK, CELL, PER_BLOCK, CELL).any(axis=(1, 3))
        )
    return pixels, cells


def _block(p: Prepared, i: int, j: int) -> np.ndarray:
    assert not isinstance(p.pixels, np.ndarray)
    return p.pixels.block(i, j)


def regions(a: Prepared, b: Prepared, mask: np.ndarray | None = None) -> tuple[list[Box], int]:
    """Where a differs from b outside `mask` (a cell grid, True for noise): up to MAX_REGIONS
    boxes in full-size pixels, largest first, and the width of the widest region (0 if none)."""
    pixels, cells = _pixels_and_cells(a, b)
    if mask is not None:
        cells &= ~mask
    return boxes(pixels, cells, a.shape)


def boxes(pixels: np.ndarray, cells: np.ndarray, shape: tuple[int, int]) -> tuple[list[Box], int]:
    """Connected regions of `cells` (8-neighbours), each boxed tightly around its `pixels`, in
    full-size pixels (half-size times two: a changed full-size pixel reaches up to 3 half-size
    pixels through the resize, so a box is up to ~12 px wider than the change itself)."""
    if not cells.any():
        return [], 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cells.view(np.uint8), connectivity=8)
    h, w = shape
    found: list[Box] = []
    for k in range(1, n):
        x, y, cw, ch = (int(v) for v in stats[k, :4])
        sub = pixels[y * CELL : (y + ch) * CELL, x * CELL : (x + cw) * CELL]
        own = labels[y : y + ch, x : x + cw] == k
        sub = sub & own.repeat(CELL, axis=0).repeat(CELL, axis=1)
        ys, xs = np.flatnonzero(sub.any(axis=1)), np.flatnonzero(sub.any(axis=0))
        if not len(ys):  # the padding beyond the frame
            continue
        x0, y0 = x * CELL + int(xs[0]), y * CELL + int(ys[0])
        x1, y1 = min(x * CELL + int(xs[-1]) + 1, w), min(y * CELL + int(ys[-1]) + 1, h)
        if x1 > x0 and y1 > y0:
            found.append(Box(2 * x0, 2 * y0, 2 * (x1 - x0), 2 * (y1 - y0)))
    found.sort(key=lambda b: (-b.w * b.h, b.y, b.x))
    return found[:MAX_REGIONS], max((b.w for b in found), default=0)


def wide(width: int) -> bool:
    """Whether a change this wide (full-size pixels) is at least a line of text."""
    return width >= LINE


class NoiseMask:
    """The cells of one stream that changed at NOISY of its last HISTORY frames, in regions
    narrower than a line (`learn`); a cell that goes quiet leaves it after HISTORY - NOISY + 1
    frames."""

    def __init__(self) -> None:
        self.bits: np.ndarray | None = None
        """Per cell, one bit per remembered frame (newest lowest): whether it changed then."""
        self.learned = 0
        """Frames learned from."""

    @property
    def cells(self) -> np.ndarray | None:
        """The noise cells (a bool grid), None before anything was learned."""
        if self.bits is None:
            return None
        return _POPCOUNT[self.bits] >= NOISY

    def learn(self, p: Prepared, last: Prepared | None) -> None:
        """Learn from a frame of the stream and the one before it (None: the first)."""
        if last is None or last.blocks.shape != p.blocks.shape:
            self.bits = None
            return
        if self.bits is None:
            self.bits = np.zeros(
                (p.blocks.shape[0] * PER_BLOCK, p.blocks.shape[1] * PER_BLOCK), np.uint8
            )
        blocks = _differing_blocks(p, last)
        if len(blocks) > LEARN_AT_MOST * p.blocks.size:
            return  # a new screen: nothing to learn about its small changes
        small = _narrow_cells(_pixels_and_cells(p, last, blocks)[1])
        self.bits = (self.bits << 1) | small.view(np.uint8)
        self.learned += 1


def _narrow_cells(cells: np.ndarray) -> np.ndarray:
    """The cells of the connected regions narrower than a line (at cell resolution)."""
    if not cells.any():
        return cells
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cells.view(np.uint8), connectivity=8)
    narrow = stats[:, cv2.CC_STAT_WIDTH] * CELL * 2 < LINE
    narrow[0] = False
    out: np.ndarray = narrow[labels]
    return out


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def block_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """The blocks (of a `Prepared.blocks` grid of `shape`) whose every cell is noise."""
    if mask is None:
        return np.zeros(shape, bool)
    rows, cols = shape
    return np.asarray(mask.reshape(rows, PER_BLOCK, cols, PER_BLOCK).all(axis=(1, 3)))


def same_but_noise(
    p: Prepared,
    others: Sequence[tuple[int, Prepared]],
    mask: np.ndarray | None,
    within: int,
    tries: int = 3,
) -> int | None:
    """Of `others` (ring index, frame), one that p repeats but for noise or a change narrower
    than a line: checked by block hashes first (only frames differing from p in at most
    `within` blocks outside the noise, as many as its match does), then pixel by pixel, the
    `tries` closest only. Returns its ring index, or None."""
    noise = block_mask(mask, p.blocks.shape)
    scored = []
    for i, f in others:
        if f.blocks.shape != p.blocks.shape:
            continue
        n = int(((f.blocks != p.blocks) & ~noise).sum())
        if n == 0:
            return i
        if n <= within:
            scored.append((n, i, f))
    scored.sort(key=lambda t: t[:2])
    for _, i, f in scored[:tries]:
        if not wide(regions(p, f, mask)[1]):
            return i
    return None


def described(found: Sequence[Box]) -> str:
    """`1 region 612x18 at 120,340`, `2 regions 612x18 at 120,340, 22x18 at 1408,1062`."""
    n = len(found)
    return f"{n} region{'s' if n != 1 else ''} " + ", ".join(str(b) for b in found)


def reason(score: float | None, found: Sequence[Box]) -> str:
    """Why a frame that scored as a duplicate was kept: its score and what changed."""
    s = "-" if score is None else f"{score:.4f}"
    return f"duplicate by score {s}; kept: {described(found)} changed"
