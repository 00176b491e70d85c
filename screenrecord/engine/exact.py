"""The exact score of two prepared frames, tile by tile, stopped as soon as it is decided.

Its numbers are pytorch_msssim's (see `ssim`), computed without changing a decision:

- Every frame is cut into TILE x TILE output tiles, each hashed with the input pixels it reads
  (tile plus a 10-pixel halo). Where two frames agree on a tile, every SSIM window in it scores
  exactly 1, so only tiles that differ are filtered: a blinking cursor costs one tile, not a frame.
- Tiles that differ are scored in batches, most different first, and a comparison stops as soon as
  even a perfect score on the remaining tiles could not lift it over the bar it has to clear.
"""

from __future__ import annotations

import math

import numpy as np

from screenrecord.engine.coarse import COARSE
from screenrecord.engine.prepared import TILE, Prepared
from screenrecord.engine.ssim import HALO, WIN, G, ssim_map


def _changed_tiles(a: Prepared, b: Prepared) -> np.ndarray:
    """Output tiles whose input pixels (tile + halo, within blocks i..i+1, j..j+1) differ."""
    m = a.blocks != b.blocks
    out = m[:-1, :-1] | m[1:, :-1] | m[:-1, 1:] | m[1:, 1:]
    return np.argwhere(out)


class _Reader:
    """The planes of a frame as a comparison reads them: a compact frame's blocks are
    decompressed when first read, into a scratch frame that lives as long as the comparison."""

    def __init__(self, p: Prepared, other: Prepared | None = None) -> None:
        """`other`: the frame p is compared with; where its whole planes hold a block of p's
        tiles (its `refs` say so), the block is copied from there, not decompressed."""
        self.compact = None if isinstance(p.pixels, np.ndarray) else p.pixels
        self.other: np.ndarray | None = None
        self.shared: np.ndarray | None = None
        """For a compact p: whether each block's tile is one `other` knows it holds."""
        if (
            self.compact is not None
            and other is not None
            and isinstance(other.pixels, np.ndarray)
            and other.refs is not None
        ):
            self.other = other.pixels
            self.shared = self.compact.same_tiles(other.refs, slice(None))
        if isinstance(p.pixels, np.ndarray):
            self.planes = p.pixels
            self.filled = np.ones(p.blocks.shape, bool)
        else:
            rows, cols = p.pixels.grid
            self.planes = np.empty((3, rows * TILE, cols * TILE), np.uint8)
            self.filled = np.zeros(p.blocks.shape, bool)

    def read(self, cells: np.ndarray) -> np.ndarray:
        """The planes, with the blocks the given output tiles read (i..i+1, j..j+1) in place."""
        if self.compact is not None:
            need = np.zeros_like(self.filled)
            i, j = cells[:, 0], cells[:, 1]
            need[i, j] = need[i + 1, j] = need[i, j + 1] = need[i + 1, j + 1] = True
            need &= ~self.filled
            self.filled |= need
            cells = np.argwhere(need)
            if self.other is not None and self.shared is not None:
                known = self.shared[cells[:, 0] * self.compact.grid[1] + cells[:, 1]]
                for i, j in cells[known].tolist():
                    ys, xs = slice(i * TILE, (i + 1) * TILE), slice(j * TILE, (j + 1) * TILE)
                    self.planes[:, ys, xs] = self.other[:, ys, xs]
                cells = cells[~known]
            self.compact.fill(self.planes, cells)
        return self.planes


class Pair:
    """An exact SSIM comparison, computed tile batch by tile batch until it is decided."""

    FIRST_BATCH = 8
    MAX_BATCH = 512

    def __init__(self, a: Prepared, b: Prepared) -> None:
        self.a, self.b = a, b
        self._a, self._b = _Reader(a, b), _Reader(b, a)
        h, w = a.shape
        self.total = a.windows
        tiles = _changed_tiles(a, b)
        if len(tiles) > 1 and a.coarse is not None and b.coarse is not None:
            # most different first: the bound drops fastest
            difference = _tile_difference(a.coarse.pixels, b.coarse.pixels, tiles)
            tiles = tiles[np.argsort(-difference, kind="stable")]
        self.tiles = tiles
        self.rows = np.minimum(TILE, h - HALO - tiles[:, 0] * TILE)
        self.cols = np.minimum(TILE, w - HALO - tiles[:, 1] * TILE)
        counts = self.rows * self.cols
        self.done = 0
        self.sum = float(self.total - counts.sum())  # unchanged windows score exactly 1
        self.remaining = float(counts.sum())

    @property
    def exact(self) -> bool:
        return self.done == len(self.tiles)

    @property
    def bound(self) -> float:
        """The score if every tile not yet computed scored 1: an upper bound, exact when done."""
        return (self.sum + self.remaining) / self.total

    def _batch(self, cutoff: float) -> int:
        """How many tiles to compute next: enough, at the rate seen so far, to reach the cutoff."""
        left = len(self.tiles) - self.done
        if self.done == 0:
            return min(left, self.FIRST_BATCH) if cutoff > -math.inf else min(left, self.MAX_BATCH)
        if cutoff == -math.inf:
            return min(left, self.MAX_BATCH)
        seen = float((self.rows[: self.done] * self.cols[: self.done]).sum())
        lost = seen - (
            self.sum - (self.total - seen - self.remaining)
        )  # deficit of computed windows
        need = (self.bound - cutoff) * self.total
        per_tile = max(lost / self.done, 1.0)
        return int(min(left, self.MAX_BATCH, max(self.FIRST_BATCH, 1.2 * need / per_tile)))

    def run(self, cutoff: float = -math.inf) -> float:
        """Compute until the score is exact or provably at most `cutoff`; return the bound."""
        while not self.exact and self.bound > cutoff:
            sl = slice(self.done, self.done + self._batch(cutoff))
            batch = self.tiles[sl]
            a, b = self._a.read(batch), self._b.read(batch)
            self.sum += _tile_sums(a, b, batch, self.rows[sl], self.cols[sl])
            self.remaining -= float((self.rows[sl] * self.cols[sl]).sum())
            self.done = min(len(self.tiles), sl.stop)
        return self.bound


def _tile_difference(a: np.ndarray, b: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """Sum of absolute thumbnail differences over the area of each tile."""
    k = TILE // COARSE
    d = np.abs(a.astype(np.float32) - b)
    h, w = d.shape
    grid = np.zeros((-(-h // k) + 1, -(-w // k) + 1), np.float32)
    g = np.add.reduceat(np.add.reduceat(d, np.arange(0, h, k), axis=0), np.arange(0, w, k), axis=1)
    grid[: g.shape[0], : g.shape[1]] = g
    return grid[tiles[:, 0], tiles[:, 1]] + grid[tiles[:, 0] + 1, tiles[:, 1]] * 0.25


def _band(n: int) -> np.ndarray:
    """(n, n + HALO) float32 matrix with G at offset i in row i: a product with it filters
    n + HALO rows (or columns) down to their n valid ones."""
    m = np.zeros((n, n + HALO), np.float32)
    for i in range(n):
        m[i, i : i + WIN] = G
    return m


ROW_STRIP, COL_STRIP = TILE // 4, TILE // 2
"""Tiles are filtered in strips of rows and of columns: the narrower a band matrix, the fewer of
its products are by zero, but the smaller and less efficient each product; these two measure best."""
_ROW_BANDS = np.stack([_band(ROW_STRIP)] * 3 + [2 * _band(ROW_STRIP)])  # the last map is 2*x*y
_COL_BAND = _band(COL_STRIP).T


BLAS_TILES = 8
"""Tiles per matrix product: few enough that OpenBLAS (numpy's BLAS) keeps each product on one
thread. With more (16 already), it wakes a second thread, whose spinning doubles the CPU time on
the core the decoder needs, for about 10% less wall time."""


def _tile_sums(
    a: np.ndarray, b: np.ndarray, cells: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> float:
    """Sum over the given tiles (cells) of the SSIM map (mean over channels), valid windows only, of two
    frames' padded planes (only the blocks the tiles read need be there).

    Filtering (valid region only) is two float32 matrix products with band matrices (BLAS sgemm),
    faster than cv2.sepFilter2D on tiles this small, rows first as pytorch_msssim does. The 4
    maps (x, y, x*x + y*y, 2*x*y: filtering is linear) are built with the in-tile row axis first,
    so the row product reads them as they are, (rows, 3 * tiles * (TILE + HALO) columns), and
    gives one line of TILE + HALO columns per (row, channel, tile) for the column product.
    """
    if len(cells) > BLAS_TILES:
        return sum(
            _tile_sums(
                a, b, cells[n : n + BLAS_TILES], rows[n : n + BLAS_TILES], cols[n : n + BLAS_TILES]
            )
            for n in range(0, len(cells), BLAS_TILES)
        )
    k, p = len(cells), TILE + HALO
    maps: np.ndarray = np.empty((4, p, 3, k, p), np.float32)
    for n, (i, j) in enumerate(cells):
        y, x = i * TILE, j * TILE
        maps[0, :, :, n] = a[:, y : y + p, x : x + p].transpose(1, 0, 2)
        maps[1, :, :, n] = b[:, y : y + p, x : x + p].transpose(1, 0, 2)
    np.multiply(maps[0], maps[1], out=maps[3])
    np.multiply(maps[0], maps[0], out=maps[2])
    maps[2] += maps[1] * maps[1]
    maps = maps.reshape(4, p, 3 * k * p)
    v: np.ndarray = np.empty((4, TILE, 3 * k * p), np.float32)
    for r in range(0, TILE, ROW_STRIP):
        np.matmul(_ROW_BANDS, maps[:, r : r + ROW_STRIP + HALO], out=v[:, r : r + ROW_STRIP])
    v = v.reshape(4, TILE * 3 * k, p)
    f = np.empty((4, TILE // COL_STRIP, TILE * 3 * k, COL_STRIP), np.float32)
    for n, c in enumerate(range(0, TILE, COL_STRIP)):
        np.matmul(v[:, :, c : c + COL_STRIP + HALO], _COL_BAND, out=f[:, n])
    # (column strip, row, channel, tile, column in strip)
    s = ssim_map(*f).reshape(-1, TILE, 3, k, COL_STRIP)
    if (rows < TILE).any() or (cols < TILE).any():  # tiles at the bottom and right edges
        col = np.arange(TILE).reshape(-1, 1, 1, 1, COL_STRIP)
        row = np.arange(TILE).reshape(1, -1, 1, 1, 1)
        s = s * ((row < rows[:, None]) & (col < cols[:, None]))
    return float(s.sum(dtype=np.float64)) / 3


def ssim(a: Prepared, b: Prepared) -> float:
    """Exact SSIM of two prepared frames of the same size."""
    if a.shape != b.shape:
        raise ValueError(
            f"Input images should have the same dimensions, but got {a.shape} and {b.shape}."
        )
    return Pair(a, b).run()
