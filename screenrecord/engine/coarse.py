"""The coarse pass: grayscale SSIM of 1/8-size thumbnails against a whole ring at once.

It picks the few ring frames worth an exact comparison. Over every pair of the test corpus the
coarse score is never more than 0.03 below the exact one where the exact one is 0.95 or more; the
margins below are four times that. A frame it would wrongly skip is kept, never lost.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from screenrecord.engine.ssim import C1, C2, HALO, WIN, G, filter_valid

COARSE = 8
"""Thumbnail scale of the coarse pass, relative to the half-size frame."""
DUP_MARGIN = 0.10
NEAR_MARGIN = 0.12
"""How far below a threshold a coarse score may be and the ring frame still be compared exactly."""


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
        mu = filter_valid(x[..., None])[..., 0].copy()
        sq = filter_valid((x * x)[..., None])[..., 0]
        mu_sq = mu * mu
        return mu, mu_sq + np.float32(C1), sq - mu_sq + np.float32(C2)


def thumbnail(half: np.ndarray) -> Coarse | None:
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
