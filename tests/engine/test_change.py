"""What changed: a line typed into a screen the score calls a duplicate is kept (near), a clock or
a counter ticking is not, and exact repeats and screens that come back stay duplicates."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import numpy as np
import pytest
from helpers.frames import SEQ, load, needs_corpus, seven_segment, typed, typed_box

from screenrecord.engine import change, prepare
from screenrecord.models import DedupSettings, Frame, Kind
from screenrecord.pipeline import Pipeline

T0 = datetime(2026, 3, 10, 9, 0)


@pytest.fixture(scope="module")
def screen() -> np.ndarray:
    """A 1920x1080 screen of four real screenshots, with a dark terminal panel to type into."""
    t = [load(SEQ[k]) for k in (0, 3, 6, 12)]
    out = np.vstack([np.hstack(t[:2]), np.hstack(t[2:])])
    out[700:1000, 100:1800] = (30, 30, 40)
    return out


def frames(arrays: list[np.ndarray]) -> list[Frame]:
    return [Frame(1, a, T0 + timedelta(minutes=3 * n), f"f{n}.png") for n, a in enumerate(arrays)]


def decide(arrays: list[np.ndarray], **settings) -> tuple[list, Pipeline]:
    p = Pipeline(DedupSettings(device="cpu", **settings))
    return [p.process(f) for f in frames(arrays)], p


def test_regions_box_each_connected_change_largest_first(screen):
    command = "echo hello world; ls -la /tmp; date; uptime"
    line = typed(screen, command, 200, 720)
    left, top, right, bottom = typed_box(command, 200, 720)
    both = line.copy()
    both[900:906, 1500:1506] = 255  # and a pointer-sized change far from it
    base = prepare(screen)
    found, width = change.regions(prepare(both), base)
    assert len(found) == 2
    text, dot = found
    # boxed around the pixels that differ, at most a few pixels wider (the resize's reach)
    assert left - 8 <= text.x <= left and top - 8 <= text.y <= top
    assert right <= text.x + text.w <= right + 8 and bottom <= text.y + text.h <= bottom + 8
    assert 1500 - 8 <= dot.x <= 1500 and dot.w <= 6 + 16
    assert width == text.w and change.wide(width) and not change.wide(dot.w)
    faint = screen.copy()
    faint[720:740, 200:400] = np.clip(screen[720:740, 200:400].astype(int) + 2, 0, 255)
    assert change.regions(prepare(faint), base) == ([], 0)  # not a change anyone can see
    assert change.regions(prepare(screen), base) == ([], 0)


def test_the_noise_mask_learns_what_changes_at_most_frames_and_forgets_it(screen):
    mask = change.NoiseMask()
    last = None
    clock = (1700, 20)
    for n in range(change.NOISY + 1):
        # a counter ticking, and a new line typed at every frame, lower each time
        a = seven_segment(screen, f"{10 + n:02d}", *clock)
        a = typed(a, f"line {n}: " + "x" * 40, 120, 710 + 14 * n)
        p = prepare(a)
        mask.learn(p, last)
        last = p
    cells = mask.cells
    assert cells is not None
    c = 2 * change.CELL  # a cell's edge at full size
    units = cells[
        clock[1] // c : (clock[1] + 56) // c + 1, (clock[0] + 34) // c : (clock[0] + 62) // c + 1
    ]
    assert units.any(), "the units digit changed at every frame: noise"
    assert not cells[:, : (clock[0] - 8) // c].any(), "nothing else changed at most frames"
    typing = cells[700 // 2 // change.CELL : 760 // 2 // change.CELL, :]
    assert not typing.any(), "a line being typed is wider than a line: never noise"
    for _ in range(change.HISTORY - change.NOISY + 1):  # the counter stops
        mask.learn(last, last)
    assert not mask.cells.any()


def test_a_typed_line_is_kept_as_near_and_joins_the_ring(screen):
    line = typed(screen, "$ echo hello world; ls -la /tmp; date; uptime", 120, 720)
    after = typed(line, "hello world, hello world, hello world", 120, 734)
    got, pipeline = decide([screen, line, after, after])
    assert [r.decision for r in got] == [Kind.NEW, Kind.NEAR, Kind.NEAR, Kind.DUPLICATE]
    kept = got[1]
    assert kept.score is not None and kept.score > 0.99  # a duplicate by its score alone
    assert kept.match == "f0.png"
    (box,) = kept.regions
    assert box.y <= 720 and box.w >= change.LINE
    assert kept.reason == f"duplicate by score {kept.score:.4f}; kept: 1 region {box} changed"
    # it joined the ring: the next line is compared with it, and a repeat matches it
    assert got[2].match == "f1.png" and got[2].regions[0].y >= 730
    assert got[3].match == "f2.png" and got[3].score == 1.0 and got[3].regions == ()
    (stream,) = pipeline.streams.values()
    assert [e.name for e in stream.ring] == ["f2.png", "f1.png", "f0.png"]


def test_without_keep_local_changes_the_score_alone_decides(screen):
    line = typed(screen, "$ echo hello world; ls -la /tmp; date; uptime", 120, 720)
    got, _ = decide([screen, line], keep_local_changes=False)
    assert [r.decision for r in got] == [Kind.NEW, Kind.DUPLICATE]
    assert got[1].regions == () and got[1].reason is None


@pytest.mark.parametrize("noisy", [change.NOISY, change.HISTORY + 1])
def test_a_ticking_counter_stays_duplicate_once_the_mask_has_learned_it(screen, noisy, monkeypatch):
    """The counter's last two digits change at every frame (never a line wide: duplicates from
    the start); from its 16th frame on its hundreds differ too from the frame kept first, and
    three digits are a line wide: the mask (the last two digits) leaves one digit. Without a
    mask (a cell is never noise) such a frame is kept."""
    monkeypatch.setattr(change, "NOISY", noisy)
    ticks = [seven_segment(screen, f"{1000 + 7 * n}", 1600, 20, width=36) for n in range(30)]
    got, _ = decide(ticks)
    kinds = [r.decision for r in got]
    assert kinds[:15] == [Kind.NEW] + [Kind.DUPLICATE] * 14
    assert all(r.score is not None and r.score > 0.99 for r in got[1:])
    if noisy <= change.HISTORY:
        assert kinds[15:] == [Kind.DUPLICATE] * 15
        assert all(not change.wide(b.w) for r in got for b in r.regions)
    else:
        near = [r for r in got if r.decision is Kind.NEAR]
        assert near and (near[0].reason or "").startswith("duplicate by score")


def test_an_exact_repeat_and_a_screen_that_comes_back_stay_duplicates(screen):
    line = typed(screen, "$ echo hello world; ls -la /tmp; date; uptime", 120, 720)
    clock = seven_segment(screen, "0941", 1700, 20)
    back = seven_segment(screen, "0942", 1700, 20)  # the first screen again, a minute on
    got, _ = decide([clock, line, line, clock, back])
    assert [r.decision for r in got] == [Kind.NEW, Kind.NEAR] + [Kind.DUPLICATE] * 3
    assert got[2].match == "f1.png" and got[2].score == 1.0  # the exact repeat
    # the first screen, back: a line wide against the front frame (the line is gone), but the
    # same as the frame kept first: its duplicate
    assert got[3].match == "f0.png" and got[3].score == 1.0
    assert got[4].match == "f0.png" and got[4].regions and not change.wide(got[4].regions[0].w)


@needs_corpus
def test_corpus_small_changes_are_kept_and_noise_and_repeats_are_not():
    """The figures of the corpus (manifest kinds): no content change with new pixels decided
    duplicate (4 were before), every clock and pointer change, every exact repeat and at least
    19 of the 24 screens that come back still duplicates, at most 1.3x the frames kept."""
    from helpers.frames import CORPUS, manifest

    rows = manifest()
    pipeline = Pipeline(DedupSettings(device="cpu"))
    seen: dict[str, set[bytes]] = {}
    content, decided = [], {}
    for r in rows:
        a = load(CORPUS / r["path"])
        digest = hashlib.blake2b(a.tobytes(), digest_size=16).digest()
        earlier = seen.setdefault(r["monitor"], set())
        if r["kind"] == "small-change" and r["scene"] in CONTENT and digest not in earlier:
            content.append(r["path"])
        earlier.add(digest)
        frame = Frame(int(r["monitor"]), a, datetime(2026, 1, 1), r["path"])
        decided[r["path"]] = pipeline.process(frame).decision

    def duplicates(paths: list[str]) -> int:
        return sum(decided[p] is Kind.DUPLICATE for p in paths)

    def of(kind: str, scenes: tuple[str, ...] = ()) -> list[str]:
        return [
            r["path"] for r in rows if r["kind"] == kind and (not scenes or r["scene"] in scenes)
        ]

    assert len(content) == 37 and duplicates(content) == 0
    noise = of("tiny-change", ("clock-tick", "cursor-move"))
    assert len(noise) == 9 and duplicates(noise) == 9
    assert len(of("exact-repeat")) == 35 and duplicates(of("exact-repeat")) == 35
    assert len(of("recurrence")) == 24 and duplicates(of("recurrence")) >= 19
    kept = sum(k in (Kind.NEW, Kind.NEAR) for k in decided.values())
    assert kept <= 1.3 * 105  # 105 kept by the score alone


CONTENT = (
    "terminal-typing",
    "editor-typing",
    "man-scroll",
    "popup",
    "top-refresh",
    "browser-scroll",
    "browser-tab",
    "window-switch",
)
"""The corpus's scenes of real content (not clocks, pointers, idle or locked screens)."""


def test_the_frames_put_back_in_the_ring_at_start_teach_the_mask(screen):
    """The daemon's warm-up puts the newest kept frames back (`Pipeline.remember`): the stream's
    noise mask learns from them as from frames decided."""
    pipeline = Pipeline(DedupSettings(device="cpu"))
    ticks = [seven_segment(screen, f"{1000 + 7 * n}", 1600, 20, width=36) for n in range(6)]
    for f in frames(ticks):
        pipeline.remember(f)
    (stream,) = pipeline.streams.values()
    assert stream.noise.learned == 5 and stream.noise.cells is not None
    c = 2 * change.CELL
    assert stream.noise.cells[: 100 // c, 1600 // c : (1600 + 4 * 42) // c + 1].any()
    assert not stream.noise.cells[:, : 1590 // c].any()
