"""SSIM of screen frames against a ring of kept frames: pytorch_msssim's numbers, fast on a CPU.

The score is `pytorch_msssim.ssim(x, y, data_range=255)` (Gaussian window 11, sigma 1.5, K1 0.01,
K2 0.03) of RGB frames at half width and height. On a CPU it is computed without changing a decision:

- Every frame is cut into TILE x TILE output tiles, each hashed with the input pixels it reads
  (tile plus a 10-pixel halo). Where two frames agree on a tile, every SSIM window in it scores
  exactly 1, so only tiles that differ are filtered: a blinking cursor costs one tile, not a frame.
- Tiles that differ are scored in batches, most different first, and a comparison stops as soon as
  even a perfect score on the remaining tiles could not lift it over the bar it has to clear.
- A coarse pass (grayscale SSIM of 1/8-size thumbnails against the whole ring in one batch) picks
  the few ring frames worth an exact comparison. Over every pair of the test corpus the coarse
  score is never more than 0.03 below the exact one where the exact one is 0.95 or more; the
  margins below are four times that. A frame it would wrongly skip is kept, never lost.
- On CUDA or Apple MPS the ring is scored exactly, in batches, with pytorch_msssim itself.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from screenrecord.engine import halfres, tiles
from screenrecord.engine.ring import Ring
from screenrecord.errors import ImageError, UsageError
from screenrecord.models import Decision, DedupSettings, Kind

log = logging.getLogger(__name__)

WIN = 11
SIGMA = 1.5
C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
HALO = WIN - 1
TILE = 32
COARSE = 8
"""Thumbnail scale of the coarse pass, relative to the half-size frame."""
DUP_MARGIN = 0.10
NEAR_MARGIN = 0.12
"""How far below a threshold a coarse score may be and the ring frame still be compared exactly."""


def gauss_window() -> np.ndarray:
    """The 1-D Gaussian of pytorch_msssim, normalised in float32 as it does."""
    coords = np.arange(WIN, dtype=np.float32) - WIN // 2
    g = np.exp(-(coords**2) / np.float32(2 * SIGMA**2)).astype(np.float32)
    return g / g.sum(dtype=np.float32)


G = gauss_window()


def _filter(a: np.ndarray) -> np.ndarray:
    """Gaussian-filter (H, W, C) float32 and keep the valid region (H-10, W-10, C).

    cv2's separable filter gives torch conv2d's numbers (float32) several times faster.
    """
    h, w, c = a.shape
    f = cv2.sepFilter2D(a, -1, G, G, borderType=cv2.BORDER_CONSTANT).reshape(h, w, c)
    r = WIN // 2
    return f[r : h - r, r : w - r]


def _ssim_map(mu1: np.ndarray, mu2: np.ndarray, sq: np.ndarray, xy2: np.ndarray) -> np.ndarray:
    """pytorch_msssim's SSIM map from filtered x, y, x*x + y*y and 2*x*y; overwrites mu2, sq and
    xy2 (mu1 may be a broadcast view) and returns the map in a new array.

    The sums and the doubling are folded into the filtered maps and the rest is done in place:
    these are full-size passes over every compared window, fewer and without temporaries.
    """
    m12 = mu1 * mu2
    m12 += m12  # 2 mu1 mu2
    mu2 *= mu2
    mu2 += mu1 * mu1  # mu1^2 + mu2^2
    sq -= mu2
    sq += np.float32(C2)  # sigma1^2 + sigma2^2 + C2
    mu2 += np.float32(C1)
    mu2 *= sq
    xy2 -= m12
    xy2 += np.float32(C2)  # 2 sigma12 + C2
    m12 += np.float32(C1)
    m12 *= xy2
    m12 /= mu2
    return m12


def _filter_planes(a: np.ndarray) -> np.ndarray:
    """Gaussian-filter a 2-D float32 array of images laid side by side / stacked (no border use)."""
    return cv2.sepFilter2D(a, -1, G, G, borderType=cv2.BORDER_CONSTANT)


def ssim_many(x: np.ndarray, ys: np.ndarray, chunk: int = 256) -> np.ndarray:
    """SSIM of image x against each image in ys, for batches of small images (thumbnails).

    x: (H, W) or (H, W, C); ys: (N, H, W) or (N, H, W, C); values 0..255. Returns (N,) float64.
    Images are laid side by side in one wide plane per channel, so one filter call serves a whole
    chunk and neighbours never reach a valid window.
    """
    x = np.asarray(x, np.float32)
    ys = np.asarray(ys, np.float32)
    if x.ndim == 2:
        x, ys = x[..., None], ys[..., None]
    if ys.shape[1:] != x.shape:
        raise ValueError(
            f"Input images should have the same dimensions, but got {x.shape} and {ys.shape[1:]}."
        )
    n, (h, w, c) = len(ys), x.shape
    if h < WIN or w < WIN:
        raise ValueError(f"images of {w}x{h} are smaller than the {WIN}-pixel SSIM window")
    out = np.empty(n)
    r = WIN // 2
    xp = np.ascontiguousarray(x.transpose(2, 0, 1)).reshape(c * h, w)

    def valid(f: np.ndarray, m: int) -> np.ndarray:
        return f.reshape(c, h, m, w)[:, r : h - r, :, r : w - r]

    mu1 = valid(_filter_planes(xp), 1)
    xx = valid(_filter_planes(xp * xp), 1)
    for k in range(0, n, chunk):
        m = min(n, k + chunk) - k
        y = np.ascontiguousarray(ys[k : k + m].transpose(3, 1, 0, 2)).reshape(c * h, m * w)
        xy2 = np.tile(xp + xp, (1, m))
        np.multiply(xy2, y, out=xy2)
        sq = valid(_filter_planes(y * y), m)
        sq += xx
        s = _ssim_map(mu1, valid(_filter_planes(y), m), sq, valid(_filter_planes(xy2), m))
        out[k : k + m] = s.mean(axis=(0, 1, 3), dtype=np.float64)
    return out


@dataclass(eq=False)
class Prepared:
    """A half-size frame ready for comparison: padded planar pixels, block hashes, thumbnail.

    A frame being decided holds its planes whole; a ring frame holds them compact, as references
    to the blocks of a shared `tiles.TileStore` (see `keep`)."""

    pixels: np.ndarray | tiles.Compact
    """(3, rows*TILE, cols*TILE) uint8: R, G, B planes with the frame at the top left, zeros
    elsewhere; or the same planes as stored blocks."""
    shape: tuple[int, int]
    """(height, width) of the half-size frame."""
    blocks: np.ndarray
    """(rows, cols) uint64 hash of each TILE x TILE block of the planes."""
    digest: bytes
    coarse: Coarse | None
    full_blocks: np.ndarray | None = field(default=None, repr=False)
    """Digests of the full-size frame's blocks (halfres.block_hashes), to recognise it later."""
    refs: tiles.Known | None = field(default=None, repr=False)
    """For whole planes: the stored tiles known to hold the same pixels as some blocks, so that
    keeping the frame in a ring neither compresses nor compares those."""
    _device: object = field(default=None, repr=False)

    @property
    def planes(self) -> np.ndarray:
        """The padded planes (decompressed whole, for a compact frame)."""
        if isinstance(self.pixels, np.ndarray):
            return self.pixels
        return self.pixels.planes()

    @property
    def compact(self) -> bool:
        return not isinstance(self.pixels, np.ndarray)

    @property
    def half(self) -> np.ndarray:
        """The half-size frame as (3, H, W) planes (a view)."""
        h, w = self.shape
        return self.planes[:, :h, :w]

    @property
    def own_nbytes(self) -> int:
        """Bytes it holds, less the shared tiles a compact frame references."""
        pixels = self.pixels.nbytes if isinstance(self.pixels, np.ndarray) else 0
        listed = 0 if isinstance(self.pixels, np.ndarray) else self.pixels.own_nbytes
        return (
            pixels
            + listed
            + self.blocks.nbytes
            + (self.coarse.nbytes if self.coarse is not None else 0)
            + (self.full_blocks.nbytes if self.full_blocks is not None else 0)
            + (self.refs.nbytes if self.refs is not None else 0)
        )

    @property
    def nbytes(self) -> int:
        """Bytes it holds or references: a compact frame's tiles counted whole, as if it were
        alone (a ring's tiles are counted once by its store: `Pipeline.ring_bytes`)."""
        if isinstance(self.pixels, np.ndarray):
            return self.own_nbytes
        return self.own_nbytes - self.pixels.own_nbytes + self.pixels.nbytes

    @property
    def windows(self) -> int:
        h, w = self.shape
        return (h - HALO) * (w - HALO)

    def expanded(self) -> Prepared:
        """This frame with whole planes (itself, if it has them), its tiles as known refs."""
        if isinstance(self.pixels, np.ndarray):
            return self
        return Prepared(
            self.pixels.planes(),
            self.shape,
            self.blocks,
            self.digest,
            self.coarse,
            self.full_blocks,
            refs=tiles.Known.all_of(self.pixels),
        )


def keep(p: Prepared, store: tiles.TileStore) -> Prepared:
    """The compact form of p for a ring, its blocks put in `store` (each push takes a reference,
    `let_go` gives it back). p learns the tiles that hold its blocks, for the frames prepared
    from it."""
    known = tiles.Known.all_of(p.pixels) if isinstance(p.pixels, tiles.Compact) else p.refs
    whole = p.pixels if isinstance(p.pixels, np.ndarray) else None
    compact = store.add(whole, p.blocks, TILE, known)
    if whole is not None:
        p.refs = tiles.Known.all_of(compact)
    return Prepared(compact, p.shape, p.blocks, p.digest, p.coarse, p.full_blocks)


def let_go(p: Prepared, store: tiles.TileStore) -> None:
    """A frame `keep` made has left its ring: its references go back to `store`."""
    if isinstance(p.pixels, tiles.Compact):
        store.release(p.pixels)


def _inherit(planes: np.ndarray, base: np.ndarray, refs: tiles.Known) -> tiles.Known:
    """Of `refs` (the known tiles of planes `base`, of the same shape), those holding the blocks
    of `planes` too: at the same place and with equal pixels (compared, not taken from hashes)."""
    rows, cols = planes.shape[1] // TILE, planes.shape[2] // TILE
    differ = (planes != base).reshape(3, rows, TILE, cols, TILE).any(axis=(0, 2, 4)).ravel()
    return refs.without(differ)


@dataclass(eq=False)
class Previous:
    """What a stream keeps of its last frame: full-size pixels and prepared form."""

    full: np.ndarray
    prepared: Prepared


def _hash_blocks(
    planes: np.ndarray, blocks: np.ndarray, which: Sequence[tuple[int, int]] | None
) -> None:
    if which is None:
        rows, cols = blocks.shape
        t = (
            planes.reshape(3, rows, TILE, cols, TILE)
            .transpose(1, 3, 0, 2, 4)
            .reshape(rows * cols, -1)
        )
        t = np.ascontiguousarray(t)
        raw = b"".join(halfres.digest(b) for b in t)
        blocks[:] = np.frombuffer(raw, np.uint64).reshape(blocks.shape)
        return
    for i, j in which:
        b = planes[:, i * TILE : (i + 1) * TILE, j * TILE : (j + 1) * TILE].tobytes()
        blocks[i, j] = np.frombuffer(halfres.digest(b), np.uint64)[0]


@dataclass(eq=False)
class Coarse:
    """A grayscale thumbnail (1/COARSE of the half-size frame), 8 KB for 1080p."""

    pixels: np.ndarray
    """(h, w) uint8."""

    @property
    def nbytes(self) -> int:
        return self.pixels.nbytes

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Its filtered mean, mean^2 + C1 and variance + C2: the parts of SSIM that depend on one
        image only (computed when needed: a ring frame's go into its ring's stack once)."""
        x = self.pixels.astype(np.float32)
        mu = _filter(x[..., None])[..., 0].copy()
        sq = _filter((x * x)[..., None])[..., 0]
        mu_sq = mu * mu
        return mu, mu_sq + np.float32(C1), sq - mu_sq + np.float32(C2)


def _coarse(half: np.ndarray) -> Coarse | None:
    """Thumbnail of a half-size frame given as (3, H, W) planes."""
    h, w = half.shape[1:]
    ch, cw = h // COARSE, w // COARSE
    if ch < WIN or cw < WIN:
        return None
    rgb = cv2.merge([plane[: ch * COARSE, : cw * COARSE] for plane in half])
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return Coarse(cv2.resize(gray, (cw, ch), interpolation=cv2.INTER_AREA))


class CoarseStack:
    """The statistics of one ring's thumbnails side by side, kept between decisions (a ring
    changes by one frame at a time), so that a coarse pass is one multiply, one filter and a few
    in-place ops per chunk of slots.

    A slot keeps two float32 maps of its thumbnail (2 mu and var + C2: 50 KB for 1080p); the
    third SSIM term, mu^2 + C1, is (2 mu)^2 / 4 + C1, the same float32 number computed again (a
    power-of-two scale is exact), and the pixels are read from the thumbnails themselves, which
    the ring's frames hold anyway (8 KB for 1080p). The pass runs over CHUNK slots at a time, so
    its work arrays are a fixed 1.5 MB for 1080p, whatever the ring's size; the numbers are those
    of one pass over the whole stack (a valid window never reads its neighbour's pixels). Means
    are stored doubled so that 2 mu1 mu2 costs no extra pass; the product 2 x y is exact in
    float32. It grows by doubling, up to `limit` slots (the ring's size).

    With `keep_stats=False` the two maps are not kept but computed again from the thumbnails at
    every pass, chunk by chunk (two more filter calls per chunk, the same float32 numbers):
    50 KB less a 1080p ring frame, for about 4 ms more a pass over a ring of 100 (the daemon's
    choice: its decisions are minutes apart, its rings live for months).
    """

    CHUNK = 16
    """Slots per pass: enough for one filter call to be efficient, few enough for the work
    arrays to stay a few MB (and in cache, more or less)."""

    def __init__(self, limit: int, keep_stats: bool = True) -> None:
        self.limit = limit
        self.keep_stats = keep_stats
        self.slots: dict[int, int] = {}
        self.held: list[Coarse | None] = []
        """The thumbnail in each slot, held so that its id stays its own while it is there."""
        self.cap = 0

    def _grow(self, like: Coarse, cap: int) -> None:
        h, w = like.pixels.shape
        hv, wv = h - HALO, w - HALO
        old = (self.cap, getattr(self, "stats", None))
        kept = cap if self.keep_stats else 0
        self.stats = np.zeros((2, hv, kept, wv), np.float32)  # 2 mu, var + C2
        # Empty slots hold a black thumbnail's statistics (mu 0, var 0), whose SSIM denominator
        # is at least C1 C2 against any frame. They are scored and never read, and there are
        # some whenever the stack has grown by doubling or the ring holds one frame twice (a
        # screen kept again by keep_at_least_every, which warm-up prepares into one object):
        # zeros there divided by zero where the new frame is black.
        self.stats[1] = C2
        if old[1] is not None and self.keep_stats:
            self.stats[:, :, : old[0]] = old[1]
        self.held += [None] * (cap - self.cap)
        self.cap = cap
        chunk = min(cap, self.CHUNK)
        self._px = np.zeros((h, chunk, w), np.uint8)
        self._xy = np.empty(h * chunk * w, np.float32)
        self._filtered = np.empty((h, chunk * w), np.float32)
        self._tmp = np.empty((hv, chunk, wv), np.float32)
        # the chunk's statistics when they are not kept (its pixels and their squares are
        # filtered in the other work arrays, before the products need them)
        self._chunk = np.empty((0 if self.keep_stats else 2, hv, chunk, wv), np.float32)

    @property
    def nbytes(self) -> int:
        """Its statistics and work arrays (the thumbnails are their frames')."""
        if not self.cap:
            return 0
        work = (self.stats, self._px, self._xy, self._filtered, self._tmp, self._chunk)
        # an array that owns its data counts it in its size, with its header
        keys = len(self.slots) * sys.getsizeof(id(self))  # the slots' keys are ids, int objects
        return sum(map(sys.getsizeof, (*work, self.held, self.slots))) + keys

    def scores(self, x: Coarse, frames: Sequence[Coarse]) -> np.ndarray:
        keep = {id(f) for f in frames}
        for key in [k for k in self.slots if k not in keep]:
            self.held[self.slots.pop(key)] = None
        if self.cap and self.stats.shape[1] != x.pixels.shape[0] - HALO:  # another size
            self.slots, self.held, self.cap = {}, [], 0
        if self.cap < len(frames):
            self._grow(x, max(len(frames), min(2 * self.cap, self.limit)))
        free = sorted(set(range(self.cap)) - set(self.slots.values()))
        for f in frames:
            if id(f) not in self.slots:
                i = self.slots[id(f)] = free.pop(0)
                self.held[i] = f
                if self.keep_stats:
                    mu, _, var_c2 = f.stats()
                    self.stats[:, :, i] = (mu + mu, var_c2)
        x_mu, x_mu_sq_c1, x_var_c2 = x.stats()
        x2 = x.pixels * np.float32(2)
        s = np.empty(self.cap)
        for c in range(0, self.cap, self.CHUNK):
            s[c : c + self.CHUNK] = self._pass(
                c, min(self.cap, c + self.CHUNK), x2, x_mu, x_mu_sq_c1, x_var_c2
            )
        return np.array([s[self.slots[id(f)]] for f in frames])

    def _pass(
        self,
        start: int,
        stop: int,
        x2: np.ndarray,
        x_mu: np.ndarray,
        x_mu_sq_c1: np.ndarray,
        x_var_c2: np.ndarray,
    ) -> np.ndarray:
        """Mean SSIM of slots start..stop against the thumbnail whose doubled pixels are x2."""
        m = stop - start
        h, _, w = self._px.shape
        hv, wv = h - HALO, w - HALO
        r = WIN // 2
        px = self._px[:, :m]
        for k, f in enumerate(self.held[start:stop]):
            px[:, k] = 0 if f is None else f.pixels
        if self.keep_stats:
            mu2x2, var2_c2 = self.stats[:, :, start:stop]
        else:
            mu2x2, var2_c2 = self._stats_of(px)
        xy = np.multiply(px, x2[:, None, :], out=self._xy[: h * m * w].reshape(h, m, w))
        filtered: np.ndarray = cv2.sepFilter2D(
            xy.reshape(h, m * w),
            -1,
            G,
            G,
            dst=self._filtered[:, : m * w],
            borderType=cv2.BORDER_CONSTANT,
        )
        fxy = filtered.reshape(h, m, w)[r : h - r, :, r : w - r]  # 2 sigma_xy + 2 mu1 mu2
        num = self._xy[: hv * m * wv].reshape(hv, m, wv)  # xy is spent once filtered
        den = self._filtered.reshape(-1)[: hv * m * wv].reshape(hv, m, wv)  # f, once used
        tmp = self._tmp[:, :m]
        np.multiply(mu2x2, x_mu[:, None, :], out=tmp)  # 2 mu1 mu2
        np.subtract(fxy, tmp, out=num)
        num += np.float32(C2)
        tmp += np.float32(C1)
        num *= tmp  # (2 mu1 mu2 + C1) (2 sigma_xy + C2)
        np.multiply(mu2x2, mu2x2, out=den)
        den *= np.float32(0.25)
        den += np.float32(C1)  # mu2^2 + C1
        den += (x_mu_sq_c1 - np.float32(C1))[:, None, :]
        np.add(var2_c2, (x_var_c2 - np.float32(C2))[:, None, :], out=tmp)
        den *= tmp
        num /= den
        return num.sum(axis=0).sum(axis=1, dtype=np.float64) / (hv * wv)

    def _stats_of(self, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """2 mu and var + C2 of the (h, m, w) thumbnails side by side, as `Coarse.stats` computes
        them for one (the same float32 operations, so the same numbers)."""
        h, m, w = px.shape
        r = WIN // 2
        x = self._xy[: h * m * w].reshape(h, m * w)
        np.copyto(x, px.reshape(h, m * w))
        out = self._filtered[:, : m * w]

        def filtered(a: np.ndarray) -> np.ndarray:
            f = cv2.sepFilter2D(a, -1, G, G, dst=out, borderType=cv2.BORDER_CONSTANT)
            return f.reshape(h, m, w)[r : h - r, :, r : w - r]

        mu2x2, var2_c2 = self._chunk[:, :, :m]
        mu = filtered(x)
        np.multiply(mu, mu, out=var2_c2)  # mu^2
        np.add(mu, mu, out=mu2x2)
        x *= x
        np.subtract(filtered(x), var2_c2, out=var2_c2)
        var2_c2 += np.float32(C2)
        return mu2x2, var2_c2


def prepare_half(
    half: np.ndarray, prev: Prepared | None = None, rects: halfres.Rects | None = None
) -> Prepared:
    """Prepare a half-size frame given as (3, H, W) planes; given the prepared previous frame of
    the stream and the rectangles where `half` differs from it, redo only the blocks those touch."""
    h, w = half.shape[1:]
    if h < WIN or w < WIN:
        raise ImageError(
            f"frame of {2 * w}x{2 * h} is too small to compare (at least {2 * WIN}x{2 * WIN})"
        )
    if prev is not None and rects == [] and prev.shape == (h, w):
        return prev
    rows, cols = -(-(h - HALO) // TILE) + 1, -(-(w - HALO) // TILE) + 1
    if prev is not None and rects is not None and prev.shape == (h, w):
        planes = prev.planes.copy()
        blocks = prev.blocks.copy()
        which: set[tuple[int, int]] = set()
        for y0, y1, x0, x1 in rects:
            planes[:, y0:y1, x0:x1] = half[:, y0:y1, x0:x1]
            which.update(
                (i, j)
                for i in range(y0 // TILE, (y1 - 1) // TILE + 1)
                for j in range(x0 // TILE, (x1 - 1) // TILE + 1)
            )
        _hash_blocks(planes, blocks, sorted(which))
        refs = None
        if prev.refs is not None:  # blocks not redone are copies of prev's; the others compared
            differ = np.zeros(blocks.shape, bool)
            for i, j in which:
                sl = (slice(None), slice(i * TILE, (i + 1) * TILE), slice(j * TILE, (j + 1) * TILE))
                # a different hash is different pixels; an equal one is checked on the pixels
                differ[i, j] = blocks[i, j] != prev.blocks[i, j] or not np.array_equal(
                    planes[sl], prev.planes[sl]
                )
            refs = prev.refs.without(differ.ravel())
    else:
        planes = np.zeros((3, rows * TILE, cols * TILE), np.uint8)
        planes[:, :h, :w] = half
        blocks = np.empty((rows, cols), np.uint64)
        _hash_blocks(planes, blocks, None)
        refs = None
    digest = hashlib.blake2b(blocks.tobytes() + f"{h}x{w}".encode(), digest_size=16).digest()
    return Prepared(planes, (h, w), blocks, digest, _coarse(half), refs=refs)


def prepare(image: Image.Image | np.ndarray) -> Prepared:
    """Prepare a full-size RGB frame (PIL image or (H, W, 3) uint8 array) on its own."""
    half, _ = halfres.half_size(halfres.as_array(image))
    return prepare_half(half)


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
    s = _ssim_map(*f).reshape(-1, TILE, 3, k, COL_STRIP)
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


def _accelerator_possible() -> bool:
    """Whether CUDA or MPS could exist here, decided without importing torch (slow, ~200 MB)."""
    import platform
    import shutil

    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def resolve_device(name: str) -> str:
    """`auto` -> cuda, then mps, then cpu; an explicit device must be available.

    torch and pytorch_msssim come with the `gpu` extra; without it `auto` is the CPU and an
    explicit cuda or mps is a UsageError naming the extra."""
    if name not in ("auto", "cpu", "cuda", "mps"):
        raise UsageError(f"device {name!r} is not one of auto, cpu, cuda, mps")
    if name == "cpu" or (name == "auto" and not _accelerator_possible()):
        return "cpu"
    try:
        import pytorch_msssim  # noqa: F401  (TorchScorer's; torch alone cannot score)
        import torch
    except ImportError:  # installed without the gpu extra: the CPU engine is all there is
        if name == "auto":
            log.debug("torch or pytorch_msssim is not installed: scoring on the CPU")
            return "cpu"
        # From the clone: the "screenrecord" on PyPI is another project.
        raise UsageError(
            f"device {name!r} needs the gpu extra (torch, pytorch-msssim): in screenrecord's"
            " clone, pip install '.[gpu]' (or pipx install --force '.[gpu]');"
            ' or use device = "auto" or "cpu"'
        ) from None
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UsageError(f'device {name!r} is not available here; use device = "auto" or "cpu"')
    return name


def _recall(
    shape: tuple[int, int],
    hashes: np.ndarray,
    known: Sequence[Prepared],
    base: Prepared | None,
    changed: np.ndarray | None,
) -> tuple[Prepared | None, np.ndarray | None]:
    """The known frame of half size `shape` sharing the most full-size blocks with a frame of
    these block digests, and the blocks they differ in, if that beats `base` and `changed`."""
    same = [(f, f.full_blocks) for f in known if f.shape == shape and f.full_blocks is not None]
    if not same:
        return base, changed
    differ = np.stack([blocks for _, blocks in same]) != hashes
    i = int(np.argmin(differ.sum(axis=(1, 2))))
    if changed is not None and differ[i].sum() >= changed.sum():
        return base, changed
    return same[i][0], differ[i]


class Engine:
    """Prepares frames and decides them against a ring, on the CPU or on a torch device."""

    def __init__(
        self, settings: DedupSettings | None = None, scorer: TorchScorer | None = None
    ) -> None:
        """`scorer` scores exactly on a torch device; by default one is made for a cuda or mps
        `device`, and the CPU engine decides without torch."""
        self.settings = settings or DedupSettings()
        if self.settings.scale != 2:
            raise UsageError(
                f"scale {self.settings.scale} is not supported; frames are compared at half size (scale = 2)"
            )
        self.device = resolve_device(self.settings.device)
        cv2.setNumThreads(1)  # frames are small work items; the other core decodes or captures
        if scorer is None and self.device != "cpu":
            scorer = TorchScorer(self.device)
        self.scorer = scorer

    def prepare(
        self,
        image: Image.Image | np.ndarray,
        prev: Previous | None = None,
        known: Sequence[Prepared] = (),
    ) -> tuple[Prepared, Previous]:
        """Prepare a full-size frame, reusing the work done for the stream's previous frame or,
        for a screen that is mostly new since then, for a `known` frame (prepared frames of the
        stream's ring) whose blocks it mostly repeats: a lock screen that comes back costs a
        recomputation of its clock, not a whole resize.

        Returns the prepared frame and what the stream keeps for its next frame."""
        full = halfres.as_array(image)
        base, changed = None, None
        if prev is not None and prev.full.shape == full.shape:
            base = prev.prepared
            changed = halfres.changed_blocks(full, prev.full)
            hashes = halfres.block_hashes(full, changed, base.full_blocks)
        else:
            hashes = halfres.block_hashes(full)
        if changed is None or changed.mean() > halfres.MOSTLY_NEW:
            shape = (full.shape[0] // 2, full.shape[1] // 2)
            base, changed = _recall(shape, hashes, known, base, changed)
        if base is not None:
            base = base.expanded()  # a ring frame recalled: its planes whole, its tiles known
        half, rects = halfres.update(full, None if base is None else base.half, changed)
        p = prepare_half(half, base if rects is not None else None, rects)
        if (
            p.refs is None
            and base is not None
            and base.refs is not None
            and base.planes.shape == p.planes.shape
        ):  # resized whole (base is whole, expanded above): blocks equal to the base's still
            # need no compression
            p.refs = _inherit(p.planes, base.planes, base.refs)
        p.full_blocks = hashes
        return p, Previous(full, p)

    def decide(
        self, p: Prepared, ring: Ring[Prepared], coarse: CoarseStack
    ) -> tuple[Decision, int | None]:
        """Decision for p against the ring (most recent first), and the index of the ring frame it
        matched (duplicate) or scored best against (near, new). `coarse` is the coarse pass's
        stack kept for this ring (its owner, the stream, keeps both)."""
        if len(ring) == 0:
            return Decision(Kind.NEW, None, None, 0), None
        if self.scorer is not None:
            decision, index = self._decide_scores(self.scorer.scores(p, ring), ring)
        else:
            decision, index = self._decide_cpu(p, ring, coarse)
        if decision.score is not None and not math.isfinite(decision.score):
            # never a verdict from a broken number: the frame is kept, as one nothing matched
            log.warning(
                "score %s against %s: not a number; kept as new", decision.score, decision.match
            )
            return Decision(Kind.NEW, None, None, decision.compared), None
        return decision, index

    def _coarse_scores(
        self, stack: CoarseStack, p: Prepared, frames: list[Prepared], same: list[bool]
    ) -> np.ndarray:
        """Coarse score of p against every ring frame (+inf where there is no thumbnail)."""
        out = np.full(len(frames), -np.inf)
        idx = [i for i, f in enumerate(frames) if same[i]]
        if not idx:
            return out
        if p.coarse is None:
            out[idx] = np.inf
            return out
        out[idx] = stack.scores(p.coarse, [c for i in idx if (c := frames[i].coarse) is not None])
        return out

    def _kind(self, score: float) -> Kind:
        s = self.settings
        if score > s.duplicate_threshold:
            return Kind.DUPLICATE
        return Kind.NEAR if score >= s.near_threshold else Kind.NEW

    def _decide_scores(
        self, scores: np.ndarray, ring: Ring[Prepared]
    ) -> tuple[Decision, int | None]:
        """Reference semantics from exact scores: the first ring frame over the duplicate
        threshold wins, else the best one decides (a NaN never does)."""
        scores = np.where(np.isnan(scores), -np.inf, scores)
        over = np.flatnonzero(scores > self.settings.duplicate_threshold)
        i = int(over[0]) if len(over) else int(np.argmax(scores))
        s = float(scores[i])
        return Decision(self._kind(s), s, ring[i].name, len(scores)), i

    def _decide_cpu(
        self, p: Prepared, ring: Ring[Prepared], stack: CoarseStack
    ) -> tuple[Decision, int | None]:
        s = self.settings
        dup, near = s.duplicate_threshold, s.near_threshold
        frames = [e.frame for e in ring]
        same = [f.shape == p.shape for f in frames]
        pairs: dict[int, Pair] = {}

        def pair(i: int) -> Pair:
            if i not in pairs:
                pairs[i] = Pair(p, frames[i])
            return pairs[i]

        def duplicate(i: int, score: float) -> tuple[Decision, int]:
            return Decision(Kind.DUPLICATE, score, ring[i].name, len(pairs)), i

        # 1. the first ring frame, most recent first, over the duplicate threshold. The front
        # frame is tried before any coarse pass: an unchanged screen usually matches it.
        if same[0] and (frames[0].digest == p.digest or pair(0).run(dup) > dup):
            return duplicate(0, 1.0 if frames[0].digest == p.digest else pair(0).bound)
        coarse = self._coarse_scores(stack, p, frames, same)
        for i in range(1, len(frames)):
            if not same[i] or coarse[i] < dup - DUP_MARGIN:
                continue
            if frames[i].digest == p.digest:  # same pixels: SSIM is exactly 1
                return duplicate(i, 1.0)
            if pair(i).run(dup) > dup:
                return duplicate(i, pair(i).bound)
        # 2. otherwise the best score among the frames worth comparing decides near / new; the
        # closest one by the coarse pass is scored exactly, the others only as far as they could
        # beat it or reach the near threshold.
        cands = [i for i in range(len(frames)) if same[i] and coarse[i] >= near - NEAR_MARGIN]
        if not cands and any(same):  # nothing close: score the nearest, for the record
            cands = [int(np.argmax(np.where(same, coarse, -np.inf)))]
        best, best_i = -math.inf, None
        for _n, i in enumerate(sorted(cands, key=lambda i: -coarse[i])):
            bound = pair(i).run(best if best >= near else near - 1e-9)
            if pair(i).exact and bound > best:
                best, best_i = bound, i
        if best_i is None:
            return Decision(Kind.NEW, None, None, len(pairs)), None
        return Decision(self._kind(best), best, ring[best_i].name, len(pairs)), best_i


class TorchScorer:
    """Exact scores of a frame against the whole ring with pytorch_msssim on a torch device.

    A compact ring frame is decompressed once, when first scored, into a tensor on the device
    that stays with the frame: the device holds the ring's pixels whole (1.7 MB a 1080p frame
    on a GPU), the host only its compressed tiles."""

    CHUNK = 16

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def _tensor(self, p: Prepared) -> Any:  # a torch.Tensor on self.device
        if p._device is None:
            h, w = p.shape
            p._device = self.torch.from_numpy(np.ascontiguousarray(p.planes[:, :h, :w])).to(
                self.device
            )
        return p._device

    def scores(self, p: Prepared, ring: Ring[Prepared]) -> np.ndarray:
        from pytorch_msssim import ssim as torch_ssim

        torch = self.torch
        out = np.full(len(ring), -np.inf)
        x = self._tensor(p).float()[None]
        idx = [i for i, e in enumerate(ring) if e.frame.shape == p.shape]
        with torch.no_grad():
            for k in range(0, len(idx), self.CHUNK):
                part = idx[k : k + self.CHUNK]
                ys = torch.stack([self._tensor(ring[i].frame) for i in part]).float()
                s = torch_ssim(
                    x.expand(len(part), -1, -1, -1), ys, data_range=255, size_average=False
                )
                out[part] = s.double().cpu().numpy()
        return out


def compare_files(a: Path, b: Path, device: str = "auto") -> float:
    """SSIM of two image files at half size (the `compare` command)."""
    from screenrecord.archive import images

    pa, pb = prepare(images.load(a)), prepare(images.load(b))
    if pa.shape != pb.shape:
        raise UsageError(
            f"{a} and {b} differ in size ({pa.shape[1] * 2}x{pa.shape[0] * 2} vs {pb.shape[1] * 2}x{pb.shape[0] * 2}); frames of different size never match"
        )
    if resolve_device(device) != "cpu":
        ring: Ring[Prepared] = Ring(1)
        ring.push(str(b), pb)
        return float(TorchScorer(resolve_device(device)).scores(pa, ring)[0])
    return ssim(pa, pb)
