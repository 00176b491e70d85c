from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from helpers.frames import SEQ, load, needs_corpus, reference_decisions, reference_ssim
from hypothesis import given, settings
from hypothesis import strategies as st

from screenrecord.engine import Engine, coarse, device, exact, halfres, prepared
from screenrecord.engine.ssim import HALO, ssim_many
from screenrecord.errors import ImageError, StoreError
from screenrecord.models import DedupSettings, Frame, Kind, Placement
from screenrecord.pipeline import InPlace, Pipeline, Stored


def engine_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return exact.ssim(prepared.prepare(a), prepared.prepare(b))


def edited(img: np.ndarray, seed: int, boxes: int = 3) -> np.ndarray:
    """A copy of a real frame with a few rectangles moved, recoloured or erased."""
    rng = np.random.default_rng(seed)
    out = img.copy()
    h, w = img.shape[:2]
    for _ in range(boxes):
        bh, bw = rng.integers(4, h // 3), rng.integers(4, w // 3)
        y, x = rng.integers(0, h - bh), rng.integers(0, w - bw)
        sy, sx = rng.integers(0, h - bh), rng.integers(0, w - bw)
        out[y : y + bh, x : x + bw] = img[sy : sy + bh, sx : sx + bw] // rng.integers(1, 3)
    return out


@pytest.mark.parametrize(
    "i, j",
    [
        (0, 1),
        (0, 2),
        (2, 3),
        (4, 5),
        (6, 7),
        (7, 8),
        (8, 9),
        (10, 11),
        (12, 13),
        (14, 15),
        (0, 10),
        (3, 12),
    ],
)
def test_scores_equal_pytorch_msssim(i, j):
    a, b = load(SEQ[i]), load(SEQ[j])
    assert engine_ssim(a, b) == pytest.approx(reference_ssim(a, b), abs=1e-4)


@pytest.mark.parametrize(
    "crop", [(0, 0, 960, 540), (3, 5, 777, 301), (10, 0, 522, 64), (0, 0, 24, 30)]
)
def test_scores_equal_pytorch_msssim_at_any_size(crop):
    x0, y0, x1, y1 = crop
    a = load(SEQ[2])[y0:y1, x0:x1]
    for seed in range(3):
        b = edited(a, seed)
        assert engine_ssim(a, b) == pytest.approx(reference_ssim(a, b), abs=1e-4)


def test_identical_frames_score_exactly_one():
    a = load(SEQ[0])
    assert engine_ssim(a, a.copy()) == 1.0


def test_changed_halo_is_seen():
    """A change in the last rows, read only through the halo of the last tile, still counts."""
    a = load(SEQ[0])
    b = a.copy()
    b[-2:, :] = 255 - b[-2:, :]
    assert engine_ssim(a, b) == pytest.approx(reference_ssim(a, b), abs=1e-4)
    assert engine_ssim(a, b) < 1.0


def test_half_size_is_pils_lanczos_bit_for_bit():
    """The fast half size reproduces PIL's LANCZOS resize exactly, edges and clipping included."""
    assert halfres._exact_matches_pil(), "the fast path must be the one under test here"
    rng = np.random.default_rng(3)
    frames = [load(p) for p in SEQ[:4]]
    frames += [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for h, w in [(22, 22), (38, 64), (1440, 2560)]
    ]
    frames += [rng.integers(0, 2, (60, 90, 3), dtype=np.uint8) * 255]  # sharpest edges: clipping
    frames += [np.full((40, 40, 3), 255, np.uint8), np.zeros((40, 40, 3), np.uint8)]
    for full in frames:
        assert np.array_equal(halfres.exact_half(full), halfres.pil_half(full)), full.shape


@pytest.mark.parametrize("shape", [(41, 67), (40, 67), (66, 32), (34, 16), (4000, 1920)])
def test_half_size_of_odd_or_tall_frames_is_pils(shape):
    """Odd sizes, and frames PIL resizes vertical pass first, are PIL's own pixels too."""
    full = np.random.default_rng(4).integers(0, 256, (*shape, 3), dtype=np.uint8)
    prev = full.copy()
    prev[:5] = 0
    half, _ = halfres.half_size(full, prev, halfres.pil_half(prev))
    assert np.array_equal(half, halfres.pil_half(full))
    again, rects = halfres.half_size(full.copy(), full, half)  # unchanged: nothing redone
    assert again is half and rects == []


def test_changed_vertical_strip_is_exact():
    """A tall narrow change (a scrollbar) is recomputed exactly: PIL on such a crop would run its
    passes in the other order and give different pixels."""
    a = load(SEQ[0])
    b = a.copy()
    b[:, 800:830] = 255 - b[:, 800:830]
    half, rects = halfres.half_size(b, a, halfres.pil_half(a))
    assert rects and all(y1 - y0 > 2 * (x1 - x0) for y0, y1, x0, x1 in rects)
    assert np.array_equal(half, halfres.pil_half(b))


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(8, 60).map(lambda v: 2 * v),
    w=st.integers(8, 60).map(lambda v: 2 * v),
    data=st.data(),
)
def test_any_part_of_the_half_size_is_exact(h, w, data):
    """A part computed on its own equals that part of PIL's whole-frame resize, at every edge."""
    h = min(h, 2 * w)  # taller frames go through PIL itself
    full = np.random.default_rng(h * 1000 + w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    y0 = data.draw(st.integers(0, h // 2 - 1))
    y1 = data.draw(st.integers(y0 + 1, h // 2))
    x0 = data.draw(st.integers(0, w // 2 - 1))
    x1 = data.draw(st.integers(x0 + 1, w // 2))
    want = halfres.pil_half(full)[:, y0:y1, x0:x1]
    assert np.array_equal(halfres.exact_half(full, y0, y1, x0, x1), want)


@pytest.mark.parametrize("seed", range(12))
def test_incremental_half_size_is_exactly_the_full_resize(seed):
    a = load(SEQ[seed % len(SEQ)])
    b = edited(a, seed, boxes=1 + seed % 4)
    if seed % 3 == 0:  # changes at the frame's edges and corners too
        b[:3, -5:] = 0
        b[-7:, :9] = 255
    half_a, _ = halfres.half_size(a)
    half_b, rects = halfres.half_size(b, a, half_a)
    assert np.array_equal(half_b, halfres.pil_half(b))
    assert rects, "a partly changed frame is redone in parts, and says which"
    redone = np.zeros(half_b.shape[1:], bool)
    for y0, y1, x0, x1 in rects:
        redone[y0:y1, x0:x1] = True
    assert not (half_b != half_a).any(axis=0)[~redone].any(), "changed outside the parts redone"


def test_a_screen_that_comes_back_is_prepared_from_the_ring():
    """A lock screen returning with another time on its clock, after other screens: its half
    size is rebuilt from the ring frame it mostly repeats, exactly, not resized whole."""
    engine = Engine(DedupSettings(device="cpu"))
    lock, other = load(SEQ[0]), load(SEQ[9])
    back = lock.copy()
    back[40:90, 800:900] = 255 - back[40:90, 800:900]  # the clock moved on
    p_lock, prev = engine.prepare(lock)
    p_other, prev = engine.prepare(other, prev, [p_lock])
    p_back, _ = engine.prepare(back, prev, [p_other, p_lock])
    fresh = prepared.prepare(back)
    assert np.array_equal(p_back.planes, fresh.planes)
    assert np.array_equal(p_back.blocks, fresh.blocks)
    hashes = halfres.block_hashes(back)
    base, changed = prepared._recall(p_back.shape, hashes, [p_other, p_lock], None, None)
    assert base is p_lock and 0 < changed.sum() <= 6


def test_incremental_prepare_equals_fresh_prepare():
    engine = Engine(DedupSettings(device="cpu"))
    a, b = load(SEQ[2]), edited(load(SEQ[2]), 7, boxes=2)
    pa, prev = engine.prepare(a)
    pb, _ = engine.prepare(b, prev)
    fresh = prepared.prepare(b)
    assert np.array_equal(pb.planes, fresh.planes)
    assert np.array_equal(pb.blocks, fresh.blocks)
    assert pb.digest == fresh.digest


def test_too_small_frames_are_refused():
    with pytest.raises(ImageError, match="too small"):
        prepared.prepare(np.zeros((20, 400, 3), np.uint8))


def frames_of(arrays, monitor=1):
    return [
        Frame(monitor, a, datetime(2026, 3, 10, 9, 0, n), f"f{n}.png") for n, a in enumerate(arrays)
    ]


def failed_size(a):
    return a.shape[1], a.shape[0]


FAITHFUL = {"keep_local_changes": False}
"""The score alone decides, as the reference does (the change signal is tested in test_change)."""


def run_pipeline(arrays, **settings):
    d = Pipeline(DedupSettings(device="cpu", **{**FAITHFUL, **settings}))
    return [d.process(f) for f in frames_of(arrays)], d


def test_decisions_equal_the_reference_loop():
    arrays = [load(p) for p in SEQ]
    # repeats from far back in the ring, as a lock screen that comes back
    arrays += [arrays[10], edited(arrays[3], 1, boxes=1), arrays[0]]
    got, _ = run_pipeline(arrays)
    want = reference_decisions(arrays)
    assert [d.decision.value for d in got] == [k for k, _, _ in want]
    for d, (kind, score, j) in zip(got, want, strict=False):
        if kind == "duplicate":
            assert d.match == f"f{j}.png"
            assert d.score == pytest.approx(score, abs=1e-4)


def test_small_ring_forgets_and_mru_keeps():
    a, b, c = (load(p) for p in SEQ[:3:1])
    x = load(SEQ[10])
    got, _ = run_pipeline([x, a, c, x, b, x], ring_size=2)
    want = reference_decisions([x, a, c, x, b, x], ring_size=2)
    assert [d.decision.value for d in got] == [k for k, _, _ in want]


def test_thresholds_are_parameters():
    a, b = load(SEQ[0]), load(SEQ[2])  # score ~0.93
    s = reference_ssim(a, b)
    assert [d.decision for d in run_pipeline([a, b], near_threshold=s - 0.01)[0]] == [
        Kind.NEW,
        Kind.NEAR,
    ]
    assert [
        d.decision
        for d in run_pipeline([a, b], duplicate_threshold=s - 0.01, near_threshold=0.5)[0]
    ] == [Kind.NEW, Kind.DUPLICATE]
    assert [d.decision for d in run_pipeline([a, b])[0]] == [Kind.NEW, Kind.NEW]


def test_frames_of_different_size_never_match():
    a = load(SEQ[0])
    d = Pipeline(DedupSettings(device="cpu"))
    first = d.process(Frame(1, a, datetime(2026, 1, 1), "a"))
    other = d.process(Frame(1, a[:500], datetime(2026, 1, 1), "b"))
    again = d.process(Frame(1, a.copy(), datetime(2026, 1, 1), "c"))
    assert (first.decision, other.decision, again.decision) == (Kind.NEW, Kind.NEW, Kind.DUPLICATE)
    assert again.match == "a"


def test_monitors_are_separate_streams():
    a = load(SEQ[0])
    d = Pipeline(DedupSettings(device="cpu"))
    assert d.process(Frame(1, a, datetime(2026, 1, 1), "m1")).decision is Kind.NEW
    assert d.process(Frame(2, a, datetime(2026, 1, 1), "m2")).decision is Kind.NEW


def test_failed_store_leaves_ring_unchanged():
    a = load(SEQ[0])

    class FullDisk:
        def store(self, frame: Frame, placement: Placement) -> Stored | None:
            raise StoreError(f"{frame.name}: cannot write (No space left on device)")

    d = Pipeline(DedupSettings(device="cpu"), sink=FullDisk())
    failed = d.process(Frame(1, a, datetime(2026, 1, 1), "a"))
    assert (failed.decision, failed.path) == (Kind.NEW, None)
    assert failed.error == "a: cannot write (No space left on device)"
    assert len(d.streams[(1, *failed_size(a))].ring) == 0
    d.sink = InPlace()
    assert d.process(Frame(1, a, datetime(2026, 1, 1), "a2")).decision is Kind.NEW


def test_ring_memory_is_bounded_and_compact():
    def full_hd(i):  # 1920x1080 made of four real 960x540 screenshots
        t = [edited(load(SEQ[(i + k) % len(SEQ)]), i + k, boxes=4) for k in range(4)]
        return np.vstack([np.hstack(t[:2]), np.hstack(t[2:])])

    _, d = run_pipeline(
        [full_hd(i) for i in range(7)],
        ring_size=5,
        near_threshold=0.999,
        duplicate_threshold=0.9999,
    )
    (stream,) = d.streams.values()
    assert len(stream.ring) == 5
    assert d.ring_bytes() / 5 <= 2_000_000


def test_torch_scorer_gives_the_same_decisions_on_cpu(monkeypatch):
    arrays = [load(p) for p in SEQ[:8]]
    settings = DedupSettings(device="cpu", **FAITHFUL)
    scorer = device.TorchScorer("cpu")
    scored = []
    scores = scorer.scores
    monkeypatch.setattr(scorer, "scores", lambda p, ring: scored.append(p) or scores(p, ring))
    # The engine picks torch itself only for cuda or mps; here it is handed the scorer on the CPU.
    d = Pipeline(settings, engine=Engine(settings, scorer=scorer))
    got = [d.process(f).decision.value for f in frames_of(arrays)]
    assert got == [k for k, _, _ in reference_decisions(arrays)]
    assert len(scored) == len(arrays) - 1  # every frame but the first, against a ring


def test_unknown_device_is_a_usage_error():
    from screenrecord.errors import UsageError

    with pytest.raises(UsageError, match="device 'tpu'"):
        device.resolve_device("tpu")


def test_ssim_many_equals_pytorch_msssim():
    import torch
    from pytorch_msssim import ssim

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 64, 3)).astype(np.uint8)
    ys = np.clip(x[None] + rng.normal(0, 25, (4, 40, 64, 3)), 0, 255).astype(np.uint8)
    got = ssim_many(x, ys)
    t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]  # noqa: E731
    want = [ssim(t(x), t(y), data_range=255).item() for y in ys]
    assert got == pytest.approx(want, abs=1e-5)


@needs_corpus
def test_corpus_decisions_agree_with_the_manifest():
    """Every decision on the corpus is the reference's (the README's 200/200); a duplicate or a
    near-duplicate names the same ring frame, with the same score."""
    from helpers.frames import CORPUS, manifest

    rows = manifest()
    d = Pipeline(DedupSettings(device="cpu", **FAITHFUL))
    got = [
        d.process(
            Frame(int(r["monitor"]), load(CORPUS / r["path"]), datetime(2026, 1, 1), r["path"])
        )
        for r in rows
    ]
    assert [(r["path"], g.decision.value) for r, g in zip(rows, got, strict=True)] == [
        (r["path"], r["ref_decision"]) for r in rows
    ]
    matched = [(r, g) for r, g in zip(rows, got, strict=True) if r["ref_decision"] != "new"]
    assert len(matched) == 131  # 95 duplicate, 36 near
    assert [g.match for _, g in matched] == [r["ref_best_match"] for r, _ in matched]
    assert [g.score for _, g in matched] == pytest.approx(
        [float(r["ref_ssim_best"]) for r, _ in matched], abs=1e-4
    )


def test_coarse_stack_follows_a_changing_ring():
    """Thumbnails that leave the ring free their slot; new ones are scored, never stale ones.
    A stack that computes its statistics again at every pass gives the same numbers, bit for
    bit, empty slots (grown by doubling, one frame held twice) and a black frame included."""
    halves = [
        prepared.prepare(edited(load(SEQ[i % len(SEQ)]), i, boxes=5)).coarse for i in range(9)
    ]
    black = coarse.Coarse(np.zeros_like(halves[0].pixels))
    stack = coarse.CoarseStack(limit=4)
    lean = coarse.CoarseStack(limit=4, keep_stats=False)
    for k in range(6):
        ring = halves[max(0, k - 3) : k + 1]  # grows to 4, then turns over
        got = stack.scores(halves[8], ring)
        want = ssim_many(halves[8].pixels, np.stack([c.pixels for c in ring]))
        assert got == pytest.approx(want, abs=1e-6)
        assert stack.cap <= 4
        assert np.array_equal(lean.scores(halves[8], ring), got)
        with np.errstate(all="raise"):
            assert np.array_equal(
                lean.scores(black, ring[:1] * 2), stack.scores(black, ring[:1] * 2)
            )


def test_a_stack_that_keeps_no_statistics_holds_only_its_work_arrays():
    """100 1080p thumbnails: the statistics kept are 50 KB a slot; without them the stack holds
    the same fixed work arrays and two chunks' statistics, whatever the ring's size."""
    screens = [np.tile(edited(load(SEQ[i % len(SEQ)]), i, boxes=5), (2, 2, 1)) for i in range(8)]
    assert screens[0].shape == (1080, 1920, 3)
    thumbs = [prepared.prepare(s).coarse for s in screens]
    ring = [coarse.Coarse(t.pixels.copy()) for t in thumbs for _ in range(13)][:100]
    kept, lean = coarse.CoarseStack(100), coarse.CoarseStack(100, keep_stats=False)
    assert np.array_equal(kept.scores(thumbs[0], ring), lean.scores(thumbs[0], ring))
    h, w = thumbs[0].pixels.shape
    slot = 2 * (h - HALO) * (w - HALO) * 4
    assert slot > 45_000  # a 1080p frame's thumbnail (67x120): 2 maps of 57x110 float32
    assert kept.nbytes - lean.nbytes >= 100 * slot - 2 * coarse.CoarseStack.CHUNK * slot
    assert lean.nbytes < 2_500_000


def test_block_hashes_see_every_block_and_only_changes():
    """Digests of whole and edge blocks change exactly where the pixels do, however computed."""
    a = load(SEQ[1])[:-7, :-13].copy()  # edge blocks of 57 rows and 19 columns
    b = a.copy()
    b[-1, -1] ^= 1  # the last pixel of the corner block
    b[100, 70] ^= 128
    ha, hb = halfres.block_hashes(a), halfres.block_hashes(b)
    assert (ha != hb).sum() == 2 and ha[-1, -1] != hb[-1, -1] and ha[1, 1] != hb[1, 1]
    changed = halfres.changed_blocks(b, a)
    assert np.array_equal(halfres.block_hashes(b, changed, ha), hb)
