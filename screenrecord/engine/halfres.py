"""Half-size frames, bit for bit as PIL's LANCZOS resize makes them, recomputed only where a frame changed.

The score is defined on PIL's `image.resize((w // 2, h // 2), Image.LANCZOS)`, ~28 ms for a
1920x1080 frame. Each half-size pixel depends only on full-size pixels within 6 of it, so an
unchanged or slightly changed screen costs a comparison with the previous frame and the
recomputation of the parts that changed.

Those parts are computed here rather than by PIL on a crop: PIL picks the order of its two passes
from the shape of what it resizes (Pillow 13 runs the vertical pass first on images more than
twice as tall as wide), so a tall narrow crop would not give the whole frame's pixels. PIL computes
in fixed point: 22-bit integer weights, a horizontal pass rounded to 8 bits, then a vertical pass,
each output `clip(floor((sum(weight * pixel) + 2**21) / 2**22))`. At scale 2 every output away from
the frame's edges uses the same 12 weights; split into even and odd inputs, a pass is two 6-tap
filters whose float64 sums are exact integers (8-bit pixels times 22-bit weights, far below 2**53),
and `addWeighted` scales and rounds them to the same 8-bit values. The three outputs at each edge
use PIL's edge weights, computed in PIL's order of operations. With the three channels stacked
(one call per pass) in 128-row bands, a whole 1080p frame takes ~20 ms on one core against PIL's
~28 ms, and a changed part costs no crop or conversion for PIL (1.7x faster than PIL on the
changed parts of corpus frames).

Frames more than twice as tall as wide, frames of odd width or height, and any PIL whose output
these weights would not reproduce (checked once, on test images) go through PIL itself.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math

import cv2
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

BLOCK = 64
"""Full-size block edge used to find what changed between two frames."""
MARGIN = 4
"""Half-size pixels around a changed block that its pixels reach through the LANCZOS kernel (3, plus one spare)."""
BITS = 22
"""PIL's PRECISION_BITS for 8-bit images."""
SCALE = 2.0**-BITS
ROUND = 2.0**-24
"""Added before rounding to nearest: floor(x + 0.5) for the multiples of 2**-22 a sum can be."""
BAND = 128
"""Half-size rows computed at once."""
MIN_SIZE = 16
"""Smallest width and height (full size) with three edge pixels and an interior on each axis."""


def as_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """RGB pixels as a C-contiguous (H, W, 3) uint8 array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 array, got {image.shape} {image.dtype}")
        return np.ascontiguousarray(image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def pil_half(full: np.ndarray) -> np.ndarray:
    """Half size of an (H, W, 3) frame by PIL itself, as (3, H // 2, W // 2) planes."""
    h, w = full.shape[:2]
    half = np.asarray(Image.fromarray(full).resize((w // 2, h // 2), Image.Resampling.LANCZOS))
    return np.ascontiguousarray(half.transpose(2, 0, 1))


def _lanczos(x: float) -> float:
    def sinc(x: float) -> float:
        if x == 0.0:
            return 1.0
        x = x * math.pi
        return math.sin(x) / x

    return sinc(x) * sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


@functools.lru_cache(maxsize=64)
def weights(n: int, xx: int) -> tuple[int, np.ndarray]:
    """PIL's integer LANCZOS weights of output xx for n inputs -> n // 2 outputs: (first input,
    weights), computed in PIL's order of double operations (precompute_coeffs,
    normalize_coeffs_8bpc). Only the edge outputs and one interior output are ever needed."""
    scale = n / (n // 2)
    support = 3.0 * scale
    center = 0.0 + (xx + 0.5) * scale
    xmin = max(int(center - support + 0.5), 0)
    count = min(int(center + support + 0.5), n) - xmin
    k = [_lanczos((x + xmin - center + 0.5) * (1.0 / scale)) for x in range(count)]
    total = 0.0
    for v in k:
        total += v
    k = [v / total if total != 0.0 else v for v in k]
    fixed = [int(-0.5 + v * (1 << BITS)) if v < 0 else int(0.5 + v * (1 << BITS)) for v in k]
    return xmin, np.array(fixed, np.float64)


@functools.lru_cache(maxsize=32)
def _inner(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The interior weights split for even and odd inputs: output x reads even[x-2 .. x+3] and
    odd[x-3 .. x+2] (full-size inputs 2x-5 .. 2x+6)."""
    xx = n // 4
    xmin, k = weights(n, xx)
    assert xmin == 2 * xx - 5 and len(k) == 12, (n, xmin, len(k))
    return np.ascontiguousarray(k[1::2][None]), np.ascontiguousarray(k[0::2][None])


def _pass(even: np.ndarray, odd: np.ndarray, n: int, vertical: bool) -> np.ndarray:
    """One fixed-point pass over interior outputs: (even * k_even + odd * k_odd) rounded to uint8."""
    ke, ko = _inner(n)
    if vertical:
        ke, ko, ae, ao = ke.T, ko.T, (0, 2), (0, 3)
    else:
        ae, ao = (2, 0), (3, 0)
    fe = cv2.filter2D(even, cv2.CV_64F, ke, anchor=ae, borderType=cv2.BORDER_REPLICATE)
    fo = cv2.filter2D(odd, cv2.CV_64F, ko, anchor=ao, borderType=cv2.BORDER_REPLICATE)
    return cv2.addWeighted(fe, SCALE, fo, SCALE, ROUND, dtype=cv2.CV_8U)


def _fix_edges(
    src: np.ndarray, dst: np.ndarray, n: int, first: int, want: range, axis: int
) -> None:
    """Redo, with PIL's edge weights, the wanted outputs within 3 of either end of an axis of n
    inputs. `src` holds the inputs from index 2 * first on along `axis`, `dst` the outputs from
    `first`; the crop around `want` always reaches the frame's edge where it matters."""
    half = n // 2
    for xx in (0, 1, 2, half - 3, half - 2, half - 1):
        if xx not in want:
            continue
        xmin, k = weights(n, xx)
        lo = xmin - 2 * first
        part = src[:, lo : lo + len(k)] if axis == 1 else src[lo : lo + len(k)].T
        v = np.clip(np.floor((part.astype(np.float64) @ k + (1 << (BITS - 1))) * SCALE), 0, 255)
        if axis == 1:
            dst[:, xx - first] = v
        else:
            dst[xx - first] = v


def exact_half(
    full: np.ndarray, y0: int = 0, y1: int | None = None, x0: int = 0, x1: int | None = None
) -> np.ndarray:
    """Half-size pixels [y0:y1, x0:x1] of an (H, W, 3) frame of even size, as (3, y1-y0, x1-x0)
    planes, equal bit for bit to the same part of PIL's LANCZOS resize of the whole frame."""
    h, w = full.shape[:2]
    y1 = h // 2 if y1 is None else y1
    x1 = w // 2 if x1 is None else x1
    if y1 - y0 > BAND:  # in bands, written into the result: small temporaries, in cache
        out = np.empty((3, y1 - y0, x1 - x0), np.uint8)
        for y in range(y0, y1, BAND):
            out[:, y - y0 : min(y + BAND, y1) - y0] = exact_half(full, y, min(y + BAND, y1), x0, x1)
        return out
    ry0, ry1 = max(0, 2 * y0 - 6), min(h, 2 * y1 + 6)
    cx0, cx1 = max(0, 2 * x0 - 6), min(w, 2 * x1 + 6)
    crop = full[ry0:ry1, cx0:cx1]
    ch, cw = ry1 - ry0, (cx1 - cx0) // 2
    # even and odd columns of the three channels, each stacked channel above channel: one
    # vertical filter call serves all three, and a channel's wanted outputs never read another's
    # rows; the horizontal pass goes channel by channel, so that its float64 sums (8 bytes a
    # pixel, 12 MB at once for a 3840-wide band of three channels) are a third of that
    even, odd = np.empty((3, ch, cw), np.uint8), np.empty((3, ch, cw), np.uint8)
    pairs = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # (source, destination) channels
    cv2.mixChannels([crop.reshape(ch, cw, 6)], [*even, *odd], pairs)
    rows = np.stack([_pass(even[c], odd[c], w, vertical=False) for c in range(3)])
    for c in range(3):
        _fix_edges(crop[:, :, c], rows[c], w, cx0 // 2, range(x0, x1), axis=1)
    rows = rows[:, :, x0 - cx0 // 2 : x1 - cx0 // 2].reshape(3 * ch, x1 - x0)
    cols = _pass(rows[0::2], rows[1::2], h, vertical=True).reshape(3, ch // 2, x1 - x0)
    for c in range(3):
        _fix_edges(rows.reshape(3, ch, -1)[c], cols[c], h, ry0 // 2, range(y0, y1), axis=0)
    return np.ascontiguousarray(cols[:, y0 - ry0 // 2 : y1 - ry0 // 2])


@functools.cache
def _exact_matches_pil() -> bool:
    """Whether exact_half reproduces this PIL's resize (checked once, on sharp and noisy images)."""
    rng = np.random.default_rng(0)
    tests = [
        rng.integers(0, 256, (52, 96, 3), dtype=np.uint8),
        rng.integers(0, 2, (64, 32, 3), dtype=np.uint8) * 255,
        np.kron(
            rng.integers(0, 2, (12, 16, 3), dtype=np.uint8) * 255, np.ones((4, 4, 1), np.uint8)
        ),
    ]
    ok = all(np.array_equal(exact_half(t), pil_half(t)) for t in tests)
    if not ok:
        log.warning("this Pillow resizes differently than expected; using its own (slower) resize")
    return ok


def _fast(h: int, w: int) -> bool:
    """Whether exact_half gives PIL's pixels for frames of this size."""
    even = h % 2 == 0 and w % 2 == 0
    return even and min(h, w) >= MIN_SIZE and h <= 2 * w and _exact_matches_pil()


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


def digest(data: bytes | np.ndarray) -> bytes:
    """A 64-bit digest of pixels: SHA-1 (hardware-accelerated on current x86 and ARM CPUs, twice
    BLAKE2b's speed here), truncated; equal digests are taken as equal pixels."""
    buf = data if isinstance(data, bytes) else data.data  # an array's own buffer, not a copy
    return hashlib.sha1(buf, usedforsecurity=False).digest()[:8]


def block_hashes(
    full: np.ndarray, which: np.ndarray | None = None, known: np.ndarray | None = None
) -> np.ndarray:
    """(rows, cols) uint64 digests of the BLOCK x BLOCK blocks of a full-size frame: equal digests,
    equal pixels. With `which` (a bool mask) only those blocks are hashed; the others are taken
    from `known`, the digests of a frame they are equal in."""
    h, w = full.shape[:2]
    out = np.empty((-(-h // BLOCK), -(-w // BLOCK)), np.uint64) if known is None else known.copy()
    cells = np.argwhere(which) if which is not None else np.argwhere(np.ones(out.shape, bool))
    grid = None
    if len(cells) > 64:  # gather whole blocks into contiguous memory a row of blocks at a time
        rs, cs = h // BLOCK, w // BLOCK
        grid = full[: rs * BLOCK, : cs * BLOCK].reshape(rs, BLOCK, cs, BLOCK * 3)
    row, at = None, -1
    for r, c in cells:
        if grid is not None and r < grid.shape[0] and c < grid.shape[2]:
            if r != at:  # one row of blocks (a 64th of a frame's height), not a copy of it all
                at, blocks = r, grid[r].transpose(1, 0, 2)
                row = np.ascontiguousarray(blocks).reshape(len(blocks), -1)
            assert row is not None
            part = row[c]
        else:
            part = full[r * BLOCK : (r + 1) * BLOCK, c * BLOCK : (c + 1) * BLOCK].tobytes()
        out[r, c] = int.from_bytes(digest(part), "little")
    return out


Rects = list[tuple[int, int, int, int]]

MOSTLY_NEW = 0.7
"""Share of changed blocks above which one resize of the whole frame is cheaper than parts."""


def half_size(
    full: np.ndarray, prev_full: np.ndarray | None = None, prev_half: np.ndarray | None = None
) -> tuple[np.ndarray, Rects | None]:
    """Half-size (3, H/2, W/2) planes of the (H, W, 3) frame `full`, and the half-size rectangles
    (y0, y1, x0, x1) where they differ from `prev_half`, those of `prev_full` (None: anywhere)."""
    if prev_full is None or prev_half is None or prev_full.shape != full.shape:
        return update(full, None, None)
    return update(full, prev_half, changed_blocks(full, prev_full))


def update(
    full: np.ndarray, base_half: np.ndarray | None, changed: np.ndarray | None
) -> tuple[np.ndarray, Rects | None]:
    """Half-size planes of `full` from `base_half`, the half size of a frame that differs from it
    only in the `changed` blocks, and the rectangles redone (None: all of it)."""
    h, w = full.shape[:2]
    if base_half is not None and changed is not None and not changed.any():
        return base_half, []  # the same pixels, whatever makes their half size
    if not _fast(h, w):
        return pil_half(full), None
    if base_half is None or changed is None or changed.mean() > MOSTLY_NEW:
        return exact_half(full), None
    half = base_half.copy()
    hh, hw = h // 2, w // 2
    step = BLOCK // 2
    rects = []
    for r0, r1, c0, c1 in _rectangles(changed):
        y0, y1 = max(0, r0 * step - MARGIN), min(hh, r1 * step + MARGIN)
        x0, x1 = max(0, c0 * step - MARGIN), min(hw, c1 * step + MARGIN)
        half[:, y0:y1, x0:x1] = exact_half(full, y0, y1, x0, x1)
        rects.append((y0, y1, x0, x1))
    return half, rects


def _rectangles(blocks: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cover the changed blocks with few rectangles (r0, r1, c0, c1), end exclusive: runs of
    changed blocks in a row (gaps of one block bridged), stacked where rows repeat a run."""
    done: list[tuple[int, int, int, int]] = []
    open_: dict[tuple[int, int], int] = {}  # a run of columns -> the row where it began
    for r, row in enumerate(blocks):
        cols = np.flatnonzero(row).tolist()
        runs: list[list[int]] = []
        for c in cols:
            if runs and c - runs[-1][1] <= 1:
                runs[-1][1] = c + 1
            else:
                runs.append([c, c + 1])
        still: dict[tuple[int, int], int] = {}
        for c0, c1 in runs:
            r0 = open_.pop((c0, c1), r)
            still[(c0, c1)] = r0
        done.extend((r0, r, c0, c1) for (c0, c1), r0 in open_.items())
        open_ = still
    done.extend((r0, len(blocks), c0, c1) for (c0, c1), r0 in open_.items())
    return done
