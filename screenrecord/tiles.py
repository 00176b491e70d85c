"""A store of the blocks of ring frames: each distinct block once, compressed, shared.

A ring frame's half-size planes are cut into the same TILE x TILE blocks the engine hashes
(`similarity.Prepared.blocks`). Screens repeat themselves, within a frame (flat backgrounds) and
across a ring (the same desktop, a clock that moved), so a ring frame keeps only references to
`Tile`s in a store shared by the ring, each distinct block held once, compressed with zstd at
level 1 (on 1080p corpus screenshots 12.5x smaller than the raw block, ~8 us a block to compress
and ~4 us to decompress on a 2-core CPU; zlib at level 1 was 11x, 19 us and 8 us, lz4 6.5x,
3 us and 2 us). A comparison decompresses only the blocks it reads.

Blocks are keyed by their 64-bit hash, and a hash is never taken as proof of equal pixels: a
block is shared only when its pixels are known equal, by construction (`Prepared.refs`: a block
copied from a frame whose tiles are known) or by comparing the bytes (the stored block
decompressed; equal compressed bytes are equal pixels too, as decompression is a function). Blocks
whose hashes collide are kept side by side under the same key. A tile is reference-counted by the
ring frames that use it and leaves the store with the last of them.

Only the thread that pushes and evicts ring frames changes the store; a `Tile`'s bytes never
change, so a frame being read elsewhere (the preparing thread recalling a ring frame) keeps its
tiles readable even after they leave the store.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import zstandard

LEVEL = 1


class _Codec(threading.local):
    """zstd contexts, one pair per thread (a context is not safe to share between threads: the
    deciding thread stores and reads tiles, the preparing one may read a recalled ring frame's).
    Frames carry no checksum: equality is checked on the pixels."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False)
        self.decompressor = zstandard.ZstdDecompressor()


_codec = _Codec()


def compress(raw: bytes | memoryview) -> bytes:
    """The block compressed, in a bytes object of its own size: zstandard returns one that keeps
    the whole output bound allocated (3 KB for a 32x32 block whatever it compressed to)."""
    return bytes(memoryview(_codec.compressor.compress(raw)))


def decompress(data: bytes) -> bytes:
    return _codec.decompressor.decompress(data)


@dataclass(eq=False, slots=True)
class Tile:
    """One distinct block: (3, size, size) uint8 planes, compressed."""

    key: int
    """The engine's 64-bit hash of the block."""
    data: bytes
    count: int = 0
    """Ring frames (pushes) that use it."""

    def pixels(self, size: int) -> np.ndarray:
        return np.frombuffer(decompress(self.data), np.uint8).reshape(3, size, size)


def _size_of_empty_tile() -> int:
    return sys.getsizeof(Tile(2**63, b"")) + sys.getsizeof(b"")


DICT_ENTRY = 64
"""A dict entry's share of its table, counted generously (CPython: 24 bytes an entry and 1-8 an
index slot, the table at most 2/3 full, grown by doubling)."""
TILE_OVERHEAD = _size_of_empty_tile() + sys.getsizeof(2**63) + DICT_ENTRY
"""Bytes a stored tile costs besides its compressed data: the Tile and bytes objects, its key
(one int object: the tile's and the store's dict's) and its entry in the store's dict. An
estimate, never below (tests/test_tiles.py checks it against what the process allocates)."""


class BlockCache:
    """The blocks most recently stored or read, whole, most recent last: consecutive decisions
    read the same few ring frames (the front, the candidates), so a small cache spares most of
    their decompression. Keyed by the Tile itself (held, so that its identity stays its own).
    Used only by the thread that decides."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._blocks: OrderedDict[Tile, np.ndarray] = OrderedDict()

    def put(self, tile: Tile, px: np.ndarray) -> None:
        self._blocks[tile] = px
        if len(self._blocks) > self.limit:
            self._blocks.popitem(last=False)

    def get(self, tile: Tile, size: int) -> np.ndarray:
        px = self._blocks.get(tile)
        if px is None:
            px = tile.pixels(size)
            self.put(tile, px)
        else:
            self._blocks.move_to_end(tile)
        return px

    def drop(self, tile: Tile) -> None:
        self._blocks.pop(tile, None)

    def __len__(self) -> int:
        return len(self._blocks)

    def nbytes(self, size: int) -> int:
        """Bytes it may hold when full (it fills within a few decisions)."""
        return self.limit * (3 * size * size + sys.getsizeof(np.empty(0)) + 64)


CACHE_BLOCKS = 512
"""Blocks the store's cache holds: 1.6 MB, about 3 frames' worth of changed blocks."""


@dataclass(eq=False)
class Compact:
    """A frame's planes as references to stored tiles, row-major over its (rows, cols) blocks."""

    tiles: list[Tile]
    grid: tuple[int, int]
    size: int
    cache: BlockCache | None = None
    """Where `fill` (the deciding thread's reads) looks first."""

    def block(self, i: int, j: int) -> np.ndarray:
        return self.tiles[i * self.grid[1] + j].pixels(self.size)

    def fill(self, out: np.ndarray, cells: np.ndarray) -> None:
        """Decompress the blocks at `cells` ((n, 2) block indices) into `out`, planes shaped."""
        t, cols = self.size, self.grid[1]
        for i, j in cells.tolist():
            tile = self.tiles[i * cols + j]
            px = tile.pixels(t) if self.cache is None else self.cache.get(tile, t)
            out[:, i * t : (i + 1) * t, j * t : (j + 1) * t] = px

    def planes(self) -> np.ndarray:
        """The whole (3, rows*size, cols*size) planes; each distinct tile decompressed once."""
        rows, cols = self.grid
        t = self.size
        out = np.empty((3, rows * t, cols * t), np.uint8)
        seen: dict[int, np.ndarray] = {}
        for k, tile in enumerate(self.tiles):
            px = seen.get(id(tile))
            if px is None:
                px = seen[id(tile)] = tile.pixels(t)
            i, j = divmod(k, cols)
            out[:, i * t : (i + 1) * t, j * t : (j + 1) * t] = px
        return out

    @property
    def own_nbytes(self) -> int:
        """What the frame holds itself: its list of references."""
        return sys.getsizeof(self.tiles)

    @property
    def nbytes(self) -> int:
        """Everything it references: its list and each distinct tile it uses, whole."""
        distinct = {id(t): t for t in self.tiles}.values()
        return self.own_nbytes + sum(len(t.data) + TILE_OVERHEAD for t in distinct)


class TileStore:
    """Distinct blocks of the frames of one or more rings, reference-counted.

    One dict entry a distinct tile, keyed by its hash; tiles whose hashes collide while their
    pixels differ (never seen, but never assumed away) wait in a second dict, in a list per key.
    """

    WHOLE = 0.25
    """Share of a frame's blocks to store above which the frame is cut into blocks in one pass."""

    def __init__(self, cache_blocks: int = CACHE_BLOCKS) -> None:
        self._tiles: dict[int, Tile] = {}
        self._collided: dict[int, list[Tile]] = {}
        self.tile_bytes = 0
        """Compressed data plus TILE_OVERHEAD per tile."""
        self.count = 0
        """Distinct tiles held."""
        self.cache = BlockCache(cache_blocks)
        self._size = 0

    @property
    def nbytes(self) -> int:
        """Bytes held: the tiles, and the block cache as if full (it holds only tiles held)."""
        return self.tile_bytes + (self.cache.nbytes(self._size) if self._size else 0)

    def __len__(self) -> int:
        return self.count

    def add(
        self,
        planes: np.ndarray | None,
        blocks: np.ndarray,
        size: int,
        refs: Sequence[Tile | None] | None = None,
    ) -> Compact:
        """Store the blocks of `planes` ((3, rows*size, cols*size) uint8) hashed in `blocks`
        ((rows, cols) uint64) and return the frame's references. `refs[k]`, where not None, is
        a tile known to hold block k's pixels; `planes` is read only for the others."""
        rows, cols = blocks.shape
        self._size = size
        keys = blocks.ravel().tolist()
        unknown = [k for k in range(len(keys)) if refs is None or refs[k] is None]
        if unknown and planes is None:
            raise ValueError(
                f"block {divmod(unknown[0], cols)} has neither pixels nor a known tile"
            )
        cut = None
        if planes is not None and len(unknown) > self.WHOLE * len(keys):
            cut = np.ascontiguousarray(
                planes.reshape(3, rows, size, cols, size).transpose(1, 3, 0, 2, 4)
            ).reshape(rows * cols, 3 * size * size)
        out: list[Tile] = []
        held = self._tiles.get
        for k, key in enumerate(keys):
            ref = None if refs is None else refs[k]
            if ref is not None:
                t = held(key)
                if t is ref:  # the usual case: a block unchanged since a frame of this ring
                    t.count += 1
                    out.append(t)
                else:
                    out.append(self._take_known(key, ref))
                continue
            assert planes is not None
            if cut is not None:
                raw = cut[k].tobytes()
            else:
                i, j = divmod(k, cols)
                raw = planes[:, i * size : (i + 1) * size, j * size : (j + 1) * size].tobytes()
            # the usual case for a block not known: a new one, with no stored tile to compare
            out.append(
                self._new(key, raw, size) if held(key) is None else self._take_raw(key, raw, size)
            )
        return Compact(out, (rows, cols), size, self.cache)

    def _find(self, key: int, same: Callable[[Tile], bool]) -> Tile | None:
        t = self._tiles.get(key)
        if t is None:
            return None
        if same(t):
            return t
        return next((c for c in self._collided.get(key, ()) if same(c)), None)

    def _take_known(self, key: int, ref: Tile) -> Tile:
        t = self._find(key, lambda t: t is ref or t.data == ref.data)
        if t is not None:
            t.count += 1
            return t
        if ref.count:  # held by another store: this one gets its own
            return self._insert(key, Tile(key, ref.data))
        return self._insert(key, ref)

    def _take_raw(self, key: int, raw: bytes, size: int) -> Tile:
        """The tile holding the block `raw` (its bytes), stored if new."""
        t = self._find(key, lambda t: decompress(t.data) == raw)
        if t is not None:
            t.count += 1
            return t
        return self._new(key, raw, size)

    def _new(self, key: int, raw: bytes, size: int) -> Tile:
        """A tile for a block no stored tile holds: compressed, stored, and cached whole (the
        frame just kept is the one the next decision most likely reads)."""
        tile = self._insert(key, Tile(key, compress(raw)))
        self.cache.put(tile, np.frombuffer(raw, np.uint8).reshape(3, size, size))
        return tile

    def _insert(self, key: int, tile: Tile) -> Tile:
        tile.count = 1
        first = self._tiles.setdefault(key, tile)
        if first is not tile:
            self._collided.setdefault(key, []).append(tile)
        else:
            tile.key = key  # the dict's int object, held once
        self.tile_bytes += len(tile.data) + TILE_OVERHEAD
        self.count += 1
        return tile

    def release(self, frame: Compact) -> None:
        """A frame that used these tiles left its ring: tiles no frame uses any more leave."""
        for t in frame.tiles:
            t.count -= 1
            if t.count == 0:
                self._remove(t)
                self.tile_bytes -= len(t.data) + TILE_OVERHEAD
                self.count -= 1
                self.cache.drop(t)

    def _remove(self, t: Tile) -> None:
        others = self._collided.get(t.key)
        if self._tiles.get(t.key) is t:
            if others:  # a collided one takes its place
                self._tiles[t.key] = others.pop(0)
            else:
                del self._tiles[t.key]
        elif others is not None:
            others.remove(t)  # by identity: Tile compares by identity
        if others is not None and not others:
            del self._collided[t.key]

    def __contains__(self, tile: object) -> bool:
        return isinstance(tile, Tile) and (
            self._tiles.get(tile.key) is tile
            or any(t is tile for t in self._collided.get(tile.key, ()))
        )
