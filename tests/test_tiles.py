"""The compact ring store: exact pixels back, tiles shared once, freed with the last frame."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import datetime
from pathlib import Path

import numpy as np
from frames import SEQ, load, needs_corpus
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screenrecord import similarity, tiles
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


def referenced_bytes(frames: list[similarity.Prepared]) -> int:
    """Compressed bytes of the distinct tiles the frames reference, each once."""
    distinct = {
        id(t): t for f in frames if isinstance(f.pixels, tiles.Compact) for t in f.pixels.tiles
    }
    return sum(len(t.data) for t in distinct.values())


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
    p = similarity.prepare_half(half)
    store = tiles.TileStore()
    kept = similarity.keep(p, store)
    assert kept.compact
    assert np.array_equal(kept.planes, p.planes)
    assert np.array_equal(kept.half, half)
    rows, cols = p.blocks.shape
    t = similarity.TILE
    for i in range(rows):
        for j in range(cols):
            assert np.array_equal(
                kept.pixels.block(i, j), p.planes[:, i * t : (i + 1) * t, j * t : (j + 1) * t]
            )


def test_a_real_frame_round_trips_and_scores_the_same_compact():
    a = load(SEQ[3])
    b = edited(a, 5)
    pa, pb = similarity.prepare(a), similarity.prepare(b)
    store = tiles.TileStore()
    ka = similarity.keep(pa, store)
    assert np.array_equal(ka.planes, pa.planes)
    assert similarity.ssim(pb, ka) == similarity.ssim(pb, pa)
    assert similarity.ssim(ka, pb) == similarity.ssim(pa, pb)


def test_blocks_whose_hashes_collide_are_both_kept_exactly():
    """A hash is never taken as proof of equal pixels: two different blocks under one key."""
    t = similarity.TILE
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
    assert again.tiles[0] is second.tiles[0] and len(store) == 2


def test_shared_tiles_are_counted_once_and_freed_with_the_last_frame():
    store = tiles.TileStore()
    p = similarity.prepare(load(SEQ[0]))
    q = similarity.prepare(edited(load(SEQ[0]), 3))
    kp = similarity.keep(p, store)
    after_one = (len(store), store.tile_bytes)
    kq = similarity.keep(q, store)
    changed = int((p.blocks != q.blocks).sum())
    assert 0 < len(store) - after_one[0] <= changed, "only q's changed blocks are new"
    assert store.tile_bytes == sum(
        len(t.data) + tiles.TILE_OVERHEAD
        for t in {id(t): t for t in kp.pixels.tiles + kq.pixels.tiles}.values()
    )
    similarity.let_go(kp, store)
    assert np.array_equal(kq.planes, q.planes), "q's tiles stay while q is in the ring"
    assert len(store) == len({id(t) for t in kq.pixels.tiles})
    similarity.let_go(kq, store)
    assert len(store) == 0 and store.tile_bytes == 0 and len(store.cache) == 0


def test_a_frame_kept_twice_holds_its_tiles_until_both_leave():
    store = tiles.TileStore()
    p = similarity.prepare(load(SEQ[1]))
    k1, k2 = similarity.keep(p, store), similarity.keep(p, store)
    similarity.let_go(k1, store)
    assert len(store) > 0 and np.array_equal(k2.planes, p.planes)
    similarity.let_go(k2, store)
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
    cache = d.tiles.cache.nbytes(similarity.TILE)
    assert d.ring_bytes() <= sum(f.nbytes for f in frames) + stream.coarse.nbytes + cache
    # the tiles of frames that left the ring are gone from the store
    live = {id(t) for f in frames for t in f.pixels.tiles}
    assert len(d.tiles) == len(live)


def test_frames_that_leave_the_ring_free_their_tiles():
    d = Pipeline(DedupSettings(device="cpu", ring_size=1))
    arrays = [load(SEQ[0]), load(SEQ[9])]
    for n, a in enumerate(arrays):
        d.remember(Frame(1, a, datetime(2026, 3, 10, 9, 0, n), f"f{n}.png"))
    (stream,) = d.streams.values()
    (front,) = [e.frame for e in stream.ring]
    assert len(d.tiles) == len({id(t) for t in front.pixels.tiles})
    assert np.array_equal(front.planes, similarity.prepare(arrays[1]).planes)


def test_a_frame_kept_in_two_stores_is_counted_by_each():
    p = similarity.prepare(load(SEQ[2]))
    one, two = tiles.TileStore(), tiles.TileStore()
    k1, k2 = similarity.keep(p, one), similarity.keep(p, two)
    similarity.let_go(k1, one)
    assert len(one) == 0 and len(two) == len({id(t) for t in k2.pixels.tiles})
    assert np.array_equal(k2.planes, p.planes)
    similarity.let_go(k2, two)
    assert len(two) == 0


def traced(snapshot: tracemalloc.Snapshot, module: object) -> int:
    """Bytes still allocated from the lines of one module."""
    path = str(Path(str(getattr(module, "__file__", ""))))
    kept = snapshot.filter_traces([tracemalloc.Filter(True, path)])
    return sum(s.size for s in kept.statistics("filename"))


def test_the_store_reports_at_least_the_memory_the_process_holds_for_it():
    """Every allocation made by the tile store's code and still live (tiles, their compressed
    bytes, the dict, the frames' reference lists) is within what it reports. A compressed block
    whose buffer keeps its 3 KB output bound allocated fails this."""
    store = tiles.TileStore(cache_blocks=0)  # the cache is counted full: it would hide the rest
    prepared = [similarity.prepare(edited(load(path), n)) for n, path in enumerate(SEQ[:6])]
    tracemalloc.start()
    try:
        kept = [similarity.keep(p, store) for p in prepared]
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    lists = sum(k.pixels.own_nbytes for k in kept if isinstance(k.pixels, tiles.Compact))
    assert len(store) > 200
    assert traced(snapshot, tiles) <= store.nbytes + lists


def test_the_coarse_stack_reports_at_least_what_it_allocated():
    thumbs = [similarity.prepare(edited(load(SEQ[i]), i)).coarse for i in range(6)]
    assert all(t is not None for t in thumbs)
    stack = similarity.CoarseStack(limit=5)
    tracemalloc.start()
    try:
        stack.scores(thumbs[5], thumbs[:5])
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert 0 < traced(snapshot, similarity) <= stack.nbytes


def decided(
    frames: list[Frame], compact: bool, ring_size: int = 100, cache: bool = True
) -> list[tuple]:
    """Each frame's record, through a ring compact or whole (and, without the block cache,
    every block a comparison reads decompressed)."""
    d = Pipeline(DedupSettings(device="cpu", ring_size=ring_size), compact=compact)
    if d.tiles is not None and not cache:
        d.tiles.cache.limit = 0
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
    assert {k.value for k, *_ in got} >= {"new", "near"}
    assert sum(score is not None and score < 1 for _, score, *_ in got) >= 4


@needs_corpus
def test_corpus_decisions_and_scores_are_the_whole_rings():
    """The 200 corpus frames in capture order: the compact ring gives the uncompressed ring's
    records exactly (decision, score to the last bit, match, frames compared)."""
    from frames import CORPUS, manifest

    frames = [
        Frame(int(r["monitor"]), load(CORPUS / r["path"]), datetime(2026, 1, 1), r["path"])
        for r in manifest()
    ]
    whole = decided(frames, compact=False)
    assert decided(frames, compact=True) == whole
    assert decided(frames, compact=True, cache=False) == whole
