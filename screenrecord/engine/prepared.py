"""Prepared frames: a frame at half size, padded into TILE x TILE blocks, each block hashed, with
its coarse thumbnail; made from scratch or from the stream's previous or a recalled ring frame.

Two frames that agree on a block's hash hold the same pixels there (the exact comparison skips
the windows that read only such blocks), and two frames of one `digest` (their size and all
their block hashes) are the same screen: SSIM exactly 1. A ring frame is kept compact: its blocks
as references to the tiles of a shared `tiles.TileStore` (`keep`, `let_go`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from screenrecord.engine import halfres, tiles
from screenrecord.engine.coarse import Coarse, thumbnail
from screenrecord.engine.ssim import HALO, WIN
from screenrecord.errors import ImageError

TILE = 32
"""Side of a block of the padded planes, and of an output tile of the exact comparison."""


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
    return Prepared(planes, (h, w), blocks, digest, thumbnail(half), refs=refs)


def prepare(image: Image.Image | np.ndarray) -> Prepared:
    """Prepare a full-size RGB frame (PIL image or (H, W, 3) uint8 array) on its own."""
    half, _ = halfres.half_size(halfres.as_array(image))
    return prepare_half(half)


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


def prepare_next(
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
