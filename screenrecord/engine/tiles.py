"""A store of the blocks of ring frames: each distinct block once, compressed, shared.

A ring frame's half-size planes are cut into the same TILE x TILE blocks the engine hashes
(`prepared.Prepared.blocks`). Screens repeat themselves, within a frame (flat backgrounds) and
across a ring (the same desktop, a clock that moved), so a ring frame keeps only references to
tiles in a store shared by the ring, each distinct block held once, compressed with zstd at
level 1 (on 1080p corpus screenshots 12.5x smaller than the raw block, ~8 us a block to compress
and ~4 us to decompress on a 2-core CPU; zlib at level 1 was 11x, 19 us and 8 us, lz4 6.5x,
3 us and 2 us). A comparison decompresses only the blocks it reads.

The tiles a frame brings into the store are packed into one `Blob`: their compressed bytes back
to back in one bytes object, with numpy arrays for their ends, hashes and reference counts, so a
tile costs its compressed size and 16 bytes, not the ~190 of a Python object, its bytes object
and a dict entry each (100 KB a 1080p frame whose blocks are all new). The store finds a tile by
hash in a sorted numpy index (16 bytes a tile). A ring frame (`Compact`) holds the blobs it
reads and, for each block, which of them and where: it reads its pixels without the store.

Blocks are keyed by their 64-bit hash, and a hash is never taken as proof of equal pixels: a
block is shared only when its pixels are known equal, by construction (`Known`: a block copied
from a frame whose tiles are known) or by comparing the bytes (the stored block decompressed;
equal compressed bytes are equal pixels too, as decompression is a function). Blocks whose
hashes collide are kept side by side under the same key. A tile is reference-counted by the ring
frames that use it and leaves the store with the last of them; a blob's bytes go with its last
tile. So that a few long-lived tiles (a desktop, a taskbar) do not keep whole blobs alive, a
blob left with fewer than half its tiles in use is compacted: those tiles' compressed bytes are
copied (not recompressed) into a new blob, and the frames that read them are pointed there.

Only the thread that pushes and evicts ring frames changes the store. A blob's bytes never
change, and a frame's references change only as a whole (one attribute, `Compact.layout`,
replaced), so a frame being read elsewhere (the preparing thread recalling a ring frame) reads
one consistent layout, and stays readable even after its tiles leave the store.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import zstandard

LEVEL = 1
_PARAMS = zstandard.ZstdCompressionParameters.from_level(
    LEVEL, write_checksum=0, write_content_size=0, format=zstandard.FORMAT_ZSTD1_MAGICLESS
)
"""Frames without the magic number, checksum or size (5 of ~250 bytes a block): a tile's size is
known, equality is checked on the pixels, and nothing but this module reads them."""


class _Codec(threading.local):
    """zstd contexts, one pair per thread (a context is not safe to share between threads: the
    deciding thread stores and reads tiles, the preparing one may read a recalled ring frame's)."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(compression_params=_PARAMS)
        self.decompressor = zstandard.ZstdDecompressor(format=zstandard.FORMAT_ZSTD1_MAGICLESS)


_codec = _Codec()


def compress(raw: bytes | memoryview) -> bytes:
    """The block compressed, in a bytes object of its own size: zstandard returns one that keeps
    the whole output bound allocated (3 KB for a 32x32 block whatever it compressed to), and a
    frame's new blocks wait in them until they are packed (5 MB for a 4K frame)."""
    return bytes(memoryview(_codec.compressor.compress(raw)))


def decompress(data: bytes | memoryview, size: int) -> bytes:
    """A block of (3, size, size) pixels from its compressed bytes."""
    return _codec.decompressor.decompress(data, max_output_size=3 * size * size)


_ARRAY = sys.getsizeof(np.empty(0))
"""A numpy array's header: each array that owns its data counts it besides."""


@dataclass(eq=False, slots=True)
class Blob:
    """The tiles one frame brought into a store: (3, size, size) uint8 blocks, compressed, back
    to back. Compares by identity: a tile is (blob, index)."""

    data: bytes
    ends: np.ndarray
    """(n,) uint32: where each tile's bytes end (each starts where the one before ends)."""
    keys: np.ndarray
    """(n,) uint64: the engine's hash of each block."""
    counts: np.ndarray
    """(n,) int32: ring frames (pushes) using each tile, in `owner`."""
    owner: int
    """id() of the store that counts its tiles."""
    live: int = 0
    """Tiles with a count above 0."""
    slot: int = -1
    """Its place in the owner's list of blobs (the index points there)."""

    def tile(self, i: int) -> memoryview:
        start = int(self.ends[i - 1]) if i else 0
        return memoryview(self.data)[start : int(self.ends[i])]

    def pixels(self, i: int, size: int) -> np.ndarray:
        return np.frombuffer(decompress(self.tile(i), size), np.uint8).reshape(3, size, size)

    @property
    def nbytes(self) -> int:
        """Its bytes object, arrays and own object, whole."""
        arrays = self.ends.nbytes + self.keys.nbytes + self.counts.nbytes + 3 * _ARRAY
        return sys.getsizeof(self.data) + arrays + BLOB_OBJECT


BLOB_OBJECT = 160
"""A Blob object with its slots, and its entry in its store's list, counted generously."""


class BlockCache:
    """The blocks most recently stored or read, whole, most recent last: consecutive decisions
    read the same few ring frames (the front, the candidates), so a small cache spares most of
    their decompression. Keyed by (blob, index), the blob held so that its identity stays its
    own. Used only by the thread that decides."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._blocks: OrderedDict[tuple[Blob, int], np.ndarray] = OrderedDict()

    def put(self, blob: Blob, i: int, px: np.ndarray) -> None:
        self._blocks[blob, i] = px
        if len(self._blocks) > self.limit:
            self._blocks.popitem(last=False)

    def get(self, blob: Blob, i: int, size: int) -> np.ndarray:
        px = self._blocks.get((blob, i))
        if px is None:
            px = blob.pixels(i, size)
            self.put(blob, i, px)
        else:
            self._blocks.move_to_end((blob, i))
        return px

    def drop(self, blob: Blob, i: int) -> None:
        self._blocks.pop((blob, i), None)

    def __len__(self) -> int:
        return len(self._blocks)

    def nbytes(self, size: int) -> int:
        """Bytes it may hold when full (it fills within a few decisions)."""
        return self.limit * (3 * size * size + _ARRAY + 64 + 64)


CACHE_BLOCKS = 512
"""Blocks the store's cache holds: 1.6 MB, about 3 frames' worth of changed blocks."""


Layout = tuple[tuple[Blob, ...], np.ndarray, np.ndarray]
"""A frame's references: the blobs it reads and, for each block (row-major), which of them
and the tile's index there ((rows*cols,) uint16 each, uint32 past 65,536 blocks)."""


@dataclass(eq=False, slots=True)
class Compact:
    """A frame's planes as references to stored tiles, row-major over its (rows, cols) blocks:
    block k is tile `index[k]` of blob `blobs[which[k]]`. Readers take `layout` once: the store
    replaces it whole when it compacts a blob."""

    layout: Layout
    grid: tuple[int, int]
    size: int
    cache: BlockCache | None = None
    """Where `fill` (the deciding thread's reads) looks first."""

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return self.layout[0]

    @property
    def which(self) -> np.ndarray:
        return self.layout[1]

    @property
    def index(self) -> np.ndarray:
        return self.layout[2]

    def block(self, i: int, j: int) -> np.ndarray:
        blobs, which, index = self.layout
        k = i * self.grid[1] + j
        return blobs[which[k]].pixels(int(index[k]), self.size)

    def fill(self, out: np.ndarray, cells: np.ndarray) -> None:
        """Decompress the blocks at `cells` ((n, 2) block indices) into `out`, planes shaped."""
        blobs, which, index = self.layout
        t, cols = self.size, self.grid[1]
        k = cells[:, 0] * cols + cells[:, 1]
        for (i, j), b, n in zip(cells.tolist(), which[k].tolist(), index[k].tolist(), strict=True):
            blob = blobs[b]
            px = blob.pixels(n, t) if self.cache is None else self.cache.get(blob, n, t)
            out[:, i * t : (i + 1) * t, j * t : (j + 1) * t] = px

    def planes(self) -> np.ndarray:
        """The whole (3, rows*size, cols*size) planes; each distinct tile decompressed once."""
        blobs, which, index = self.layout
        rows, cols = self.grid
        t = self.size
        tile = which.astype(np.int64) << 32 | index
        distinct, where = np.unique(tile, return_inverse=True)
        px = np.empty((len(distinct), 3, t, t), np.uint8)
        for m, d in enumerate(distinct.tolist()):
            px[m] = blobs[d >> 32].pixels(d & 0xFFFFFFFF, t)
        out = np.empty((3, rows * t, cols * t), np.uint8)
        by_block = out.reshape(3, rows, t, cols, t).transpose(1, 3, 0, 2, 4)
        for i in range(rows):  # a row of blocks at a time: no second frame-sized array
            by_block[i] = px[where[i * cols : (i + 1) * cols]]
        return out

    def same_tiles(self, other: Known, at: np.ndarray | slice) -> np.ndarray:
        """For the blocks at flat indices `at`: whether `other` knows the very tile this frame
        holds there (so that its whole planes hold its pixels)."""
        mine, theirs = _identities(self.layout, at), _identities(other.frame.layout, at)
        return other.mask[at] & (mine == theirs).all(axis=1)

    @property
    def own_nbytes(self) -> int:
        """What the frame holds itself: its references (and its object)."""
        blobs, which, index = self.layout
        objects = sys.getsizeof(self) + sys.getsizeof(self.layout) + sys.getsizeof(blobs)
        return objects + which.nbytes + index.nbytes + 2 * _ARRAY

    @property
    def nbytes(self) -> int:
        """Everything it references: its references and each blob it reads, whole."""
        return self.own_nbytes + sum(b.nbytes for b in self.blobs)


def _identities(layout: Layout, at: np.ndarray | slice) -> np.ndarray:
    """(n, 2) uint64: the id() of the blob and the index of the tile of the blocks at `at`."""
    blobs, which, index = layout
    ids = np.array([id(b) for b in blobs], np.uint64)[which[at]]
    return np.stack([ids, index[at].astype(np.uint64)], axis=1)


@dataclass(eq=False)
class Known:
    """For whole planes: the stored tiles known to hold the same pixels as some of their blocks
    (those where `mask` is set), so that keeping the frame in a ring neither compresses nor
    compares those."""

    frame: Compact
    """A ring frame whose blocks, where `mask` is set, are those of the planes."""
    mask: np.ndarray = field(repr=False)
    """(rows*cols,) bool."""

    @classmethod
    def all_of(cls, frame: Compact) -> Known:
        return cls(frame, np.ones(len(frame.layout[1]), bool))

    @property
    def nbytes(self) -> int:
        """Its mask and object (the frame is a ring's)."""
        return self.mask.nbytes + _ARRAY + 64

    def without(self, differ: np.ndarray) -> Known:
        """The same, less the blocks where `differ` ((rows*cols,) bool) is set."""
        return Known(self.frame, self.mask & ~differ)


class TileStore:
    """Distinct blocks of the frames of one or more rings, in blobs, reference-counted.

    The index is two numpy arrays sorted by hash: the hash of each findable tile and where it is
    (its blob's slot << 32 | its index in the blob). Tiles whose hashes collide while their
    pixels differ (never seen, but never assumed away) are neighbours under the same hash.
    """

    def __init__(self, cache_blocks: int = CACHE_BLOCKS) -> None:
        self._blobs: list[Blob | None] = []
        self._free: list[int] = []
        self._keys = np.empty(0, np.uint64)
        self._at = np.empty(0, np.int64)
        self._frames: dict[int, Compact] = {}
        """The frames whose references it counts, by id(): those a compaction points elsewhere."""
        self._blob_bytes = 0
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

    @property
    def tile_bytes(self) -> int:
        """The blobs held, each whole, and the index: what the tiles cost."""
        index = self._keys.nbytes + self._at.nbytes + 2 * _ARRAY + sys.getsizeof(self._blobs)
        frames = sys.getsizeof(self._frames) + len(self._frames) * sys.getsizeof(2**62)
        return self._blob_bytes + index + frames

    def add(
        self,
        planes: np.ndarray | None,
        blocks: np.ndarray,
        size: int,
        known: Known | None = None,
    ) -> Compact:
        """Store the blocks of `planes` ((3, rows*size, cols*size) uint8) hashed in `blocks`
        ((rows, cols) uint64) and return the frame's references. Where `known` knows a block's
        tile, `planes` is not read for it."""
        rows, cols = blocks.shape
        self._size = size
        keys = blocks.ravel()
        n = len(keys)
        mask = np.zeros(n, bool) if known is None else known.mask
        if planes is None and not mask.all():
            k = int(np.flatnonzero(~mask)[0])
            raise ValueError(f"block {divmod(k, cols)} has neither pixels nor a known tile")
        frame = _Building(self, size, n)
        if known is not None:
            frame.take_known(known, np.flatnonzero(mask), keys)
        unknown = np.flatnonzero(~mask)
        if len(unknown):
            assert planes is not None
            frame.take_raw(planes, keys, unknown, (rows, cols))
        return frame.done((rows, cols))

    # --- the index ---------------------------------------------------------------------------

    def _find(self, key: int, lo: int | None = None) -> list[tuple[Blob, int]]:
        """The findable tiles stored under `key` (the first, if known, at `lo`)."""
        if lo is None:
            lo = int(np.searchsorted(self._keys, key, "left"))
        out = []
        while lo < len(self._keys) and int(self._keys[lo]) == key:
            at = int(self._at[lo])
            blob = self._blobs[at >> 32]
            assert blob is not None
            out.append((blob, at & 0xFFFFFFFF))
            lo += 1
        return out

    def _index(self, blob: Blob, which: np.ndarray) -> None:
        keys = blob.keys[which]
        at = (np.int64(blob.slot) << np.int64(32)) | which.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys, at = keys[order], at[order]
        pos = np.searchsorted(self._keys, keys, "right")
        self._keys = np.insert(self._keys, pos, keys)
        self._at = np.insert(self._at, pos, at)

    def _unindex(self, blob: Blob, which: np.ndarray) -> None:
        if not len(which):
            return
        at = (np.int64(blob.slot) << np.int64(32)) | which.astype(np.int64)
        pos = np.searchsorted(self._keys, blob.keys[which], "left")
        gone = []
        for p, a in zip(pos.tolist(), at.tolist(), strict=True):
            while int(self._at[p]) != a:  # hashes that collide are neighbours
                p += 1
            gone.append(p)
        self._keys = np.delete(self._keys, gone)
        self._at = np.delete(self._at, gone)

    # --- blobs -------------------------------------------------------------------------------

    def _hold(self, blob: Blob) -> None:
        """A new blob: its tiles findable, its bytes counted."""
        blob.slot = self._free.pop() if self._free else len(self._blobs)
        if blob.slot == len(self._blobs):
            self._blobs.append(blob)
        else:
            self._blobs[blob.slot] = blob
        blob.live = len(blob.counts)
        self.count += blob.live
        self._index(blob, np.arange(blob.live))
        self._blob_bytes += blob.nbytes

    def release(self, frame: Compact) -> None:
        """A frame that used these tiles left its ring: tiles no frame uses any more leave, a
        blob with none left goes, and one with fewer than half left is compacted."""
        del self._frames[id(frame)]
        blobs, which, index = frame.layout
        for b, blob in enumerate(blobs):
            mine = index[which == b]
            np.subtract.at(blob.counts, mine, 1)
            dead = np.unique(mine[blob.counts[mine] == 0])
            if not len(dead):
                continue
            for i in dead.tolist():
                self.cache.drop(blob, i)
            blob.live -= len(dead)
            self.count -= len(dead)
            self._unindex(blob, dead)
            if blob.live == 0:
                self._let_go(blob)
            elif 2 * blob.live < len(blob.counts):
                self._compact(blob)
        self._trim()

    def _let_go(self, blob: Blob) -> None:
        self._blobs[blob.slot] = None
        self._free.append(blob.slot)
        self._blob_bytes -= blob.nbytes

    def _compact(self, old: Blob) -> None:
        """Copy the tiles of `old` still in use into a new blob, and point the frames that read
        them there (each frame's layout replaced whole; `old` goes when no reader holds it)."""
        live = np.flatnonzero(old.counts > 0)
        data = b"".join(old.tile(i) for i in live.tolist())
        starts = np.concatenate([[0], old.ends[:-1]]).astype(np.int64)[live]
        ends = np.cumsum(old.ends[live].astype(np.int64) - starts).astype(np.uint32)
        new = Blob(data, ends, old.keys[live], old.counts[live].copy(), id(self))
        self._unindex(old, live)
        self._let_go(old)
        self.count -= len(live)  # _hold counts them again
        self._hold(new)
        remap = np.zeros(len(old.counts), np.int64)
        remap[live] = np.arange(len(live))
        for frame in self._frames.values():
            blobs, which, index = frame.layout
            b = next((n for n, x in enumerate(blobs) if x is old), None)
            if b is not None:
                moved = which == b
                index = index.copy()
                index[moved] = remap[index[moved]].astype(index.dtype)
                frame.layout = (blobs[:b] + (new,) + blobs[b + 1 :], which, index)
        for i in live.tolist():
            self.cache.drop(old, i)

    def _trim(self) -> None:
        while self._blobs and self._blobs[-1] is None:
            self._free.remove(len(self._blobs) - 1)
            self._blobs.pop()

    def holds(self, blob: Blob) -> bool:
        """Whether blob is one of this store's (its tiles with a count are used by its rings)."""
        return (
            blob.owner == id(self)
            and blob.slot < len(self._blobs)
            and self._blobs[blob.slot] is blob
        )


class _Building:
    """A frame's references as `TileStore.add` gathers them, and the blob of its new tiles."""

    NEW = -1
    """`blob_of` of a block whose tile is in the frame's new blob."""

    def __init__(self, store: TileStore, size: int, n: int) -> None:
        self.store, self.size = store, size
        self.order: list[Blob] = []
        """The stored blobs referenced, in order of first use."""
        self.place: dict[int, int] = {}
        """id() of each of them -> its place in `order`."""
        self.dtype = np.uint16 if n <= 2**16 else np.uint32
        """Of `which` and `index`: neither can exceed the frame's blocks (65,536 blocks: a
        16,384 x 8,192 pixel screen)."""
        self.blob_of = np.full(n, self.NEW, np.int64)
        self.index = np.empty(n, self.dtype)
        self.new: list[bytes] = []
        """Compressed bytes of the new tiles."""
        self.new_keys: list[int] = []
        self.new_raw: dict[int, list[tuple[bytes, int]]] = {}
        """key -> (raw pixels, index in new) of the new tiles, to share them within the frame."""
        self.copied: dict[tuple[int, int], int] = {}
        """(id(blob), index) -> index in new, of known tiles copied from a blob the store no
        longer holds (a frame that left its ring, a blob compacted since)."""
        self.cached: list[tuple[int, np.ndarray]] = []
        """(index in new, pixels) of the new tiles, for the store's cache."""

    def _place(self, blob: Blob) -> int:
        p = self.place.get(id(blob))
        if p is None:
            p = self.place[id(blob)] = len(self.order)
            self.order.append(blob)
        return p

    def _use(self, k: int, blob: Blob, i: int) -> None:
        blob.counts[i] += 1
        self.blob_of[k], self.index[k] = self._place(blob), i

    def _new(self, k: int, key: int, comp: bytes) -> int:
        self.new.append(comp)
        self.new_keys.append(key)
        self.index[k] = len(self.new) - 1
        return len(self.new) - 1

    def take_known(self, known: Known, at: np.ndarray, keys: np.ndarray) -> None:
        """Blocks whose tiles are known: referenced where this store holds them findable (in
        one step per blob), copied (compressed, as they are) where not."""
        src, store = known.frame, self.store
        which, index = src.which[at], src.index[at]
        for b in np.unique(which).tolist():
            blob = src.blobs[b]
            mine = which == b
            ok = mine.copy()
            if not store.holds(blob):
                ok[:] = False
            else:
                ok[mine] = blob.counts[index[mine]] > 0
            if ok.any():
                np.add.at(blob.counts, index[ok], 1)
                self.blob_of[at[ok]], self.index[at[ok]] = self._place(blob), index[ok]
            for k, i in zip(at[mine & ~ok].tolist(), index[mine & ~ok].tolist(), strict=True):
                self._copy(k, blob, i, int(keys[k]))

    def _copy(self, k: int, blob: Blob, i: int, key: int) -> None:
        n = self.copied.get((id(blob), i))
        if n is not None:
            self.index[k] = n
            return
        comp = bytes(blob.tile(i))
        # equal compressed bytes, equal pixels
        found = [(c, j) for c, j in self.store._find(key) if c.tile(j) == comp]
        if found:
            self._use(k, *found[0])
        else:
            self.copied[id(blob), i] = self._new(k, key, comp)

    def take_raw(
        self, planes: np.ndarray, keys: np.ndarray, at: np.ndarray, grid: tuple[int, int]
    ) -> None:
        """Blocks known only by their pixels: shared with a stored or new tile of equal pixels,
        else compressed into the new blob. A block whose hash is neither stored nor repeated in
        the frame (most new blocks) is compressed without a comparison, in one tight loop."""
        rows, cols = grid
        size = self.size
        i, j = np.divmod(at, cols)
        by_block = planes.reshape(3, rows, size, cols, size).transpose(1, 3, 0, 2, 4)
        cut = by_block[i, j].reshape(len(at), 3 * size * size)  # one copy: the blocks at `at`
        mine = keys[at]
        held = self.store._keys
        pos = np.minimum(np.searchsorted(held, mine, "left"), max(0, len(held) - 1))
        stored = held[pos] == mine if len(held) else np.zeros(len(at), bool)
        _, first, group = np.unique(mine, return_index=True, return_inverse=True)
        repeated = (np.bincount(group) > 1)[group]
        alone = np.flatnonzero(~stored & ~repeated)
        start = len(self.new)
        self.new += [compress(memoryview(cut[n])) for n in alone.tolist()]
        self.new_keys += mine[alone].tolist()
        self.index[at[alone]] = np.arange(start, len(self.new))
        self.cached += [(start + m, cut[n]) for m, n in enumerate(alone.tolist())]
        for n in np.flatnonzero(stored | repeated).tolist():
            self._raw(int(at[n]), int(mine[n]), cut[n], int(pos[n]) if stored[n] else None)

    def _raw(self, k: int, key: int, block: np.ndarray, lo: int | None) -> None:
        """One block whose hash is stored or repeated in the frame."""
        raw = block.tobytes()
        if lo is not None:
            found = [
                (c, j)
                for c, j in self.store._find(key, lo)
                if decompress(c.tile(j), self.size) == raw
            ]
            if found:
                self._use(k, *found[0])
                return
        same = [n for r, n in self.new_raw.get(key, ()) if r == raw]
        if same:
            self.index[k] = same[0]
            return
        n = self._new(k, key, compress(raw))
        self.new_raw.setdefault(key, []).append((raw, n))
        self.cached.append((n, block))

    def done(self, grid: tuple[int, int]) -> Compact:
        """The frame's references; its new tiles, if any, stored as one blob."""
        store = self.store
        new = self.blob_of == self.NEW
        if self.new:
            lengths = np.fromiter(map(len, self.new), np.uint32, len(self.new))
            blob = Blob(
                b"".join(self.new),
                np.cumsum(lengths, dtype=np.uint32),
                np.array(self.new_keys, np.uint64),
                np.zeros(len(self.new), np.int32),
                id(store),
            )
            np.add.at(blob.counts, self.index[new], 1)
            store._hold(blob)
            self.blob_of[new] = self._place(blob)
            t = self.size
            for n, block in self.cached[-store.cache.limit :] if store.cache.limit else ():
                store.cache.put(blob, n, block.reshape(3, t, t).copy())
        which = self.blob_of.astype(self.dtype)
        frame = Compact((tuple(self.order), which, self.index), grid, self.size, store.cache)
        store._frames[id(frame)] = frame
        return frame
