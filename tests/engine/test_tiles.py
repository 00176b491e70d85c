"""The compact ring store: exact pixels back, tiles shared once, freed with the last frame."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.ma  # noqa: F401 - np.unique imports it at its first call: not the store's memory
import pytest
from helpers.frames import SEQ, load, needs_corpus
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screenrecord.engine import coarse, tiles
from screenrecord.engine.exact import ssim
from screenrecord.engine.prepared import TILE, Prepared, keep, let_go, prepare, prepare_half
from screenrecord.models import DedupSettings, Frame
from screenrecord.pipeline import Pipeline


def edited(img: np.ndarray, seed: int) -> np.ndarray:
    """A copy of a real frame with one rectangle inverted."""
    rng = np.random.default_rng(seed)
    out = img.copy()
    h, w = img.shape[:2]
    y, x = int(rng.integers(0, h - 100)), int(rng.integers(0, w - 200))
    out[y : y + 100, x : x + 200] = 255 - out[y : y + 100, x : x + 200]
    return out


def tiles_of(frame: tiles.Compact) -> dict[tuple[int, int], tuple[tiles.Blob, int]]:
    """The distinct tiles a frame references, by (id of its blob, index)."""
    return {
        (id(frame.blobs[b]), i): (frame.blobs[b], i)
        for b, i in zip(frame.which.tolist(), frame.index.tolist(), strict=True)
    }


def referenced_bytes(frames: list[Prepared]) -> int:
    """Compressed bytes of the distinct tiles the frames reference, each once."""
    distinct = {
        k: v
        for f in frames
        if isinstance(f.pixels, tiles.Compact)
        for k, v in tiles_of(f.pixels).items()
    }
    return sum(len(b.tile(i)) for b, i in distinct.values())


@settings(max_examples=30, deadline=None)
@given(
    st.integers(11, 90).flatmap(
        lambda h: st.integers(11, 90).flatmap(
            lambda w: arrays(np.uint8, (3, h, w), elements=st.sampled_from([0, 7, 255]))
        )
    )
)
def test_a_compact_frame_gives_back_every_pixel_it_was_given(half):
    """Odd sizes, edge tiles, repeated and flat blocks: the planes come back bit for bit."""
    p = prepare_half(half)
    store = tiles.TileStore()
    kept = keep(p, store)
    assert kept.compact
    assert np.array_equal(kept.planes, p.planes)
    assert np.array_equal(kept.half, half)
    rows, cols = p.blocks.shape
    t = TILE
    for i in range(rows):
        for j in range(cols):
            assert np.array_equal(
                kept.pixels.block(i, j), p.planes[:, i * t : (i + 1) * t, j * t : (j + 1) * t]
            )


def test_a_real_frame_round_trips_and_scores_the_same_compact():
    a = load(SEQ[3])
    b = edited(a, 5)
    pa, pb = prepare(a), prepare(b)
    store = tiles.TileStore()
    ka = keep(pa, store)
    assert np.array_equal(ka.planes, pa.planes)
    assert ssim(pb, ka) == ssim(pb, pa)
    assert ssim(ka, pb) == ssim(pa, pb)


def test_blocks_whose_hashes_collide_are_both_kept_exactly():
    """A hash is never taken as proof of equal pixels: two different blocks under one key."""
    t = TILE
    store = tiles.TileStore()
    one = np.zeros((3, t, t), np.uint8)
    two = np.full((3, t, t), 9, np.uint8)
    key = np.array([[42]], np.uint64)
    first = store.add(one, key, t)
    second = store.add(two, key, t)
    assert np.array_equal(first.block(0, 0), one)
    assert np.array_equal(second.block(0, 0), two)
    assert len(store) == 2
    again = store.add(two.copy(), key, t)
    assert tiles_of(again).keys() == tiles_of(second).keys() and len(store) == 2


def test_shared_tiles_are_counted_once_and_freed_with_the_last_frame():
    store = tiles.TileStore()
    p = prepare(load(SEQ[0]))
    q = prepare(edited(load(SEQ[0]), 3))
    kp = keep(p, store)
    after_one = (len(store), store.tile_bytes)
    kq = keep(q, store)
    changed = int((p.blocks != q.blocks).sum())
    assert 0 < len(store) - after_one[0] <= changed, "only q's changed blocks are new"
    both = tiles_of(kp.pixels) | tiles_of(kq.pixels)
    assert len(store) == len(both)
    assert store.tile_bytes >= sum(len(b.tile(i)) + 16 for b, i in both.values())
    let_go(kp, store)
    assert np.array_equal(kq.planes, q.planes), "q's tiles stay while q is in the ring"
    assert len(store) == len(tiles_of(kq.pixels))
    let_go(kq, store)
    assert len(store) == 0 and len(store.cache) == 0
    assert store.tile_bytes < 1000, "only empty tables are left"


def test_a_frame_kept_twice_holds_its_tiles_until_both_leave():
    store = tiles.TileStore()
    p = prepare(load(SEQ[1]))
    k1, k2 = keep(p, store), keep(p, store)
    let_go(k1, store)
    assert len(store) > 0 and np.array_equal(k2.planes, p.planes)
    let_go(k2, store)
    assert len(store) == 0


def test_a_ring_frames_reported_size_is_not_below_what_it_references():
    d = Pipeline(DedupSettings(device="cpu", ring_size=3))
    for n, path in enumerate(SEQ[:6]):
        d.process(Frame(1, load(path), datetime(2026, 3, 10, 9, 0, n), f"f{n}.png"))
    (stream,) = d.streams.values()
    frames = [e.frame for e in stream.ring]
    assert all(f.compact for f in frames)
    for f in frames:
        assert f.nbytes >= referenced_bytes([f]) + f.blocks.nbytes
    assert d.ring_bytes() >= referenced_bytes(frames) + sum(f.blocks.nbytes for f in frames)
    cache = d.engine.tiles.cache.nbytes(TILE)
    assert d.ring_bytes() <= sum(f.nbytes for f in frames) + stream.coarse.nbytes + cache
    # the tiles of frames that left the ring are gone from the store
    live = {k for f in frames for k in tiles_of(f.pixels)}
    assert len(d.engine.tiles) == len(live)


def test_tiles_a_new_frame_brings_are_packed_in_one_blob():
    """A frame's new tiles cost their compressed bytes and a few bytes each, not an object."""
    store = tiles.TileStore()
    p = prepare(load(SEQ[4]))
    kept = keep(p, store)
    (blob,) = kept.pixels.blobs
    assert len(blob.counts) == len(store) == len(tiles_of(kept.pixels))
    assert store.tile_bytes <= len(blob.data) + 40 * len(store) + 2000


def half_edited(half: np.ndarray, share: float) -> np.ndarray:
    """A copy of (3, H, W) planes with the rows below `share` of the height inverted."""
    out = half.copy()
    y = int(half.shape[1] * share)
    out[:, y:] = 255 - out[:, y:]
    return out


def test_a_blob_mostly_unused_is_compacted_and_its_readers_keep_their_pixels():
    """When the frame that brought a blob leaves and its followers use under half of it, the
    tiles still used are copied to a new blob; the followers read the same pixels from there."""
    store = tiles.TileStore()
    a = prepare(load(SEQ[0]))
    ka = keep(a, store)
    (old,) = ka.pixels.blobs
    b = prepare_half(half_edited(a.half, 0.3))
    shared = (b.blocks == a.blocks).ravel() & np.array(
        [np.array_equal(b.planes[:, y, x], a.planes[:, y, x]) for y, x in block_slices(b)]
    )
    assert 0 < shared.sum() < len(old.counts) / 2
    b.refs = tiles.Known(ka.pixels, shared)
    kb = keep(b, store)
    before, layout = store.tile_bytes, kb.pixels.layout
    assert old in layout[0]
    let_go(ka, store)
    assert old not in kb.pixels.blobs, "the followers read a compacted copy"
    assert np.array_equal(kb.planes, b.planes)
    stale = tiles.Compact(layout, kb.pixels.grid, TILE)
    assert np.array_equal(stale.planes(), b.planes), "a reader holding the old layout too"
    assert store.tile_bytes < before - len(old.data) / 2
    assert len(store) == len(tiles_of(kb.pixels))
    assert all(2 * x.live >= len(x.counts) for x in kb.pixels.blobs)
    # a frame kept from the old references (copied, as the store no longer holds the blob)
    again = prepare_half(b.half.copy())
    again.refs = tiles.Known(tiles.Compact(layout, kb.pixels.grid, TILE), shared)
    kc = keep(again, store)
    assert np.array_equal(kc.planes, b.planes)
    assert tiles_of(kc.pixels).keys() == tiles_of(kb.pixels).keys(), "found, not stored again"
    let_go(kb, store)
    let_go(kc, store)
    assert len(store) == 0 and store.tile_bytes < 1000


def block_slices(p: Prepared) -> list[tuple[slice, slice]]:
    t = TILE
    rows, cols = p.blocks.shape
    return [
        (slice(i * t, (i + 1) * t), slice(j * t, (j + 1) * t))
        for i in range(rows)
        for j in range(cols)
    ]


def test_colliding_tiles_leave_the_index_one_by_one():
    t = TILE
    store = tiles.TileStore()
    key = np.array([[42]], np.uint64)
    blocks = [np.full((3, t, t), v, np.uint8) for v in (1, 2, 3)]
    kept = [store.add(b, key, t) for b in blocks]
    assert len(store) == 3
    store.release(kept[1])
    assert len(store) == 2
    assert np.array_equal(store.add(blocks[2].copy(), key, t).block(0, 0), blocks[2])
    assert len(store) == 2, "the third is found under its colliding key"
    assert np.array_equal(store.add(blocks[1].copy(), key, t).block(0, 0), blocks[1])
    assert len(store) == 3, "the second, gone, is stored again"


def test_frames_that_leave_the_ring_free_their_tiles():
    d = Pipeline(DedupSettings(device="cpu", ring_size=1))
    arrays = [load(SEQ[0]), load(SEQ[9])]
    for n, a in enumerate(arrays):
        d.remember(Frame(1, a, datetime(2026, 3, 10, 9, 0, n), f"f{n}.png"))
    (stream,) = d.streams.values()
    (front,) = [e.frame for e in stream.ring]
    assert len(d.engine.tiles) == len(tiles_of(front.pixels))
    assert np.array_equal(front.planes, prepare(arrays[1]).planes)


def test_a_frame_kept_in_two_stores_is_counted_by_each():
    p = prepare(load(SEQ[2]))
    one, two = tiles.TileStore(), tiles.TileStore()
    k1, k2 = keep(p, one), keep(p, two)
    let_go(k1, one)
    assert len(one) == 0 and len(two) == len(tiles_of(k2.pixels))
    assert np.array_equal(k2.planes, p.planes)
    let_go(k2, two)
    assert len(two) == 0


def traced(snapshot: tracemalloc.Snapshot, module: object) -> int:
    """Bytes still allocated with a line of one module in their stack (numpy's functions
    called from it included)."""
    path = str(Path(str(getattr(module, "__file__", ""))))
    kept = snapshot.filter_traces([tracemalloc.Filter(True, path, all_frames=True)])
    return sum(s.size for s in kept.statistics("filename"))


def test_the_store_reports_at_least_the_memory_the_process_holds_for_it():
    """Every allocation made by the tile store's code and still live (tiles, their compressed
    bytes, the dict, the frames' reference lists) is within what it reports. A compressed block
    whose buffer keeps its 3 KB output bound allocated fails this."""
    store = tiles.TileStore(cache_blocks=0)  # the cache is counted full: it would hide the rest
    prepared = [prepare(edited(load(path), n)) for n, path in enumerate(SEQ[:6])]
    tracemalloc.start(25)
    try:
        kept = [keep(p, store) for p in prepared]
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    lists = sum(k.pixels.own_nbytes for k in kept if isinstance(k.pixels, tiles.Compact))
    known = sum(p.refs.nbytes for p in prepared if p.refs is not None)  # the whole frames'
    assert len(store) > 200
    assert traced(snapshot, tiles) <= store.nbytes + lists + known


@pytest.mark.parametrize("keep_stats", [True, False])
def test_the_coarse_stack_reports_at_least_what_it_allocated(keep_stats):
    thumbs = [prepare(edited(load(SEQ[i]), i)).coarse for i in range(6)]
    assert all(t is not None for t in thumbs)
    stack = coarse.CoarseStack(limit=5, keep_stats=keep_stats)
    coarse.CoarseStack(5, keep_stats).scores(thumbs[5], thumbs[:5])  # first use, once
    tracemalloc.start(25)
    try:
        stack.scores(thumbs[5], thumbs[:5])
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert 0 < traced(snapshot, coarse) <= stack.nbytes


def decided(
    frames: list[Frame],
    compact: bool,
    ring_size: int = 100,
    cache: bool = True,
    keep_stats: bool = True,
) -> list[tuple]:
    """Each frame's record, through a ring compact or whole (and, without the block cache,
    every block a comparison reads decompressed; without kept statistics, the coarse pass's
    computed again at every pass, as the daemon does)."""
    settings = DedupSettings(device="cpu", ring_size=ring_size)
    d = Pipeline(settings, compact=compact, keep_coarse_stats=keep_stats)
    if d.engine.tiles is not None and not cache:
        d.engine.tiles.cache.limit = 0
    out = []
    for f in frames:
        r = d.process(f)
        out.append((r.decision, r.score, r.match, r.compared))
    assert all(e.frame.compact == compact for s in d.streams.values() for e in s.ring)
    return out


def test_compact_rings_decide_and_score_exactly_as_whole_ones():
    """Real frames, edited and repeated out of order through a ring small enough to evict:
    every decision, score (to the last bit), match and comparison count is the whole ring's."""
    base = [load(p) for p in SEQ[:4]]
    # edits of the same screen score near or over the duplicate threshold: scored exactly
    arrays = [edited(base[i % 4], i) for i in (0, 1, 4, 2, 8, 5, 3, 12, 9, 0, 6, 16, 13, 7)]
    frames = [
        Frame(1, a, datetime(2026, 3, 10, 9, 0, n), f"f{n}.png") for n, a in enumerate(arrays)
    ]
    got = decided(frames, compact=True, ring_size=4)
    assert got == decided(frames, compact=False, ring_size=4)
    assert got == decided(frames, compact=True, ring_size=4, cache=False)
    assert got == decided(frames, compact=True, ring_size=4, keep_stats=False)
    assert {k.value for k, *_ in got} >= {"new", "near"}
    assert sum(score is not None and score < 1 for _, score, *_ in got) >= 4


@needs_corpus
def test_corpus_decisions_and_scores_are_the_whole_rings():
    """The 200 corpus frames in capture order: the compact ring gives the uncompressed ring's
    records exactly (decision, score to the last bit, match, frames compared)."""
    from helpers.frames import CORPUS, manifest

    frames = [
        Frame(int(r["monitor"]), load(CORPUS / r["path"]), datetime(2026, 1, 1), r["path"])
        for r in manifest()
    ]
    whole = decided(frames, compact=False)
    assert decided(frames, compact=True) == whole
    assert decided(frames, compact=True, cache=False) == whole
    assert decided(frames, compact=True, keep_stats=False) == whole
