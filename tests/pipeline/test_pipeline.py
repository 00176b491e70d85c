"""The pipeline on its own: real screenshots from tests/data, real files, a real SQLite catalog.

No display is involved: frames come from files, as in `dedup`, and go to the daemon's archive
writer or dedup's journaled mover. These tests run with DISPLAY unset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from helpers.frames import SEQ, load

from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.archive.journal import Journal
from screenrecord.archive.writer import ArchiveWriter
from screenrecord.config import StorageConfig
from screenrecord.dedup import POLICY, Mover
from screenrecord.errors import StoreError
from screenrecord.models import DedupSettings, Frame, Kind, Placement
from screenrecord.pipeline import KeepPolicy, Pipeline, Stored

T0 = datetime(2026, 3, 10, 9, 0)
STEP = timedelta(minutes=3)


@pytest.fixture(autouse=True)
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def captured(n: int, pixels: np.ndarray, monitor: int = 1) -> Frame:
    """The frame a capture backend would hand over at tick n (no file yet)."""
    taken = T0 + n * STEP
    return Frame(monitor, pixels, taken, store.frame_name(taken, monitor))


def boxed(pixels: np.ndarray) -> np.ndarray:
    """The screen with a 160x80 box painted over it: SSIM ~0.973 against it, a near frame."""
    out = pixels.copy()
    out[100:180, 100:260] = (40, 90, 200)
    return out


def daemon_pipeline(root: Path, catalog: Catalog, **policy) -> Pipeline:
    return Pipeline(
        DedupSettings(device="cpu"),
        KeepPolicy(**policy),
        ArchiveWriter(root, StorageConfig()),
        catalog,
    )


def test_a_tick_stream_writes_changes_only_and_records_every_frame(tmp_path: Path) -> None:
    a, b = load(SEQ[0]), load(SEQ[5])
    with Catalog.open(tmp_path) as cat:
        p = daemon_pipeline(tmp_path, cat)
        recs = [p.process(captured(n, x)) for n, x in enumerate([a, a, b, a])]
        rows = list(cat.rows())
    assert [r.decision for r in recs] == [Kind.NEW, Kind.DUPLICATE, Kind.NEW, Kind.DUPLICATE]
    assert rows == recs  # the catalog holds exactly what was returned (ids aside)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert written == sorted([recs[0].path, recs[2].path])
    for r in (recs[0], recs[2]):
        assert r.bytes == (tmp_path / r.path).stat().st_size
    # the last frame repeats the first one, which the ring knows by its archive path
    assert (recs[3].match, recs[3].score, recs[3].path) == (recs[0].path, 1.0, None)


def test_near_action_places_near_frames(tmp_path: Path) -> None:
    a = load(SEQ[0])
    near = boxed(a)
    outcomes = {}
    for action in ("keep", "separate", "drop"):
        root = tmp_path / action
        with Catalog.open(root) as cat:
            p = daemon_pipeline(root, cat, near_action=action)
            p.process(captured(0, a))
            second = p.process(captured(1, near))
            again = p.process(captured(2, near))
        assert second.decision is Kind.NEAR, second
        outcomes[action] = (second.path, again.decision)
    assert outcomes["keep"][0] == store.frame_path(Path(), T0 + STEP, 1).as_posix()
    assert Path(outcomes["separate"][0]).parent.name == store.SIMILAR
    assert (tmp_path / "separate" / outcomes["separate"][0]).is_file()
    # a kept near frame enters the ring, so its repeat is a duplicate; a dropped one does not
    assert outcomes["keep"][1] is Kind.DUPLICATE and outcomes["separate"][1] is Kind.DUPLICATE
    assert outcomes["drop"] == (None, Kind.NEAR)


def test_keep_at_least_every_keeps_a_duplicate_once_the_period_is_over(tmp_path: Path) -> None:
    a = load(SEQ[0])
    with Catalog.open(tmp_path) as cat:
        p = daemon_pipeline(tmp_path, cat, keep_at_least_every=timedelta(minutes=10))
        recs = [p.process(captured(n, a)) for n in range(6)]  # every 3 minutes
    assert [r.decision for r in recs] == [Kind.NEW] + [Kind.DUPLICATE] * 5
    # kept at 0 min, then the first duplicate at least 10 minutes later: 12 min (tick 4)
    assert [r.heartbeat for r in recs] == [False, False, False, False, True, False]
    assert recs[4].path is not None and (tmp_path / recs[4].path).is_file()
    # the heartbeat is a copy of what the ring already has: the ring keeps one entry
    (stream,) = p.streams.values()
    assert [e.name for e in stream.ring] == [recs[0].path]


def test_a_failed_store_is_recorded_and_leaves_the_ring_as_it_was(tmp_path: Path) -> None:
    a, b = load(SEQ[0]), load(SEQ[5])

    class FullDisk:
        def store(self, frame: Frame, placement: Placement) -> Stored | None:
            if placement is Placement.SKIP:
                return None
            raise StoreError(f"{frame.name}: cannot write (No space left on device)")

    with Catalog.open(tmp_path) as cat:
        p = daemon_pipeline(tmp_path, cat)
        first = p.process(captured(0, a))
        p.sink = FullDisk()
        failed = p.process(captured(1, b))
        p.sink = ArchiveWriter(tmp_path, StorageConfig())
        retried = p.process(captured(2, b))
        rows = list(cat.rows())
    assert (failed.decision, failed.path) == (Kind.NEW, None)
    assert failed.error is not None and "No space left on device" in failed.error
    # b never entered the ring, so once the disk has room it is new again, and written
    assert retried.decision is Kind.NEW and retried.path is not None
    assert [r.error for r in rows] == [None, failed.error, None]
    assert first.path != retried.path


def test_dedup_mover_names_frames_where_they_will_be(tmp_path: Path) -> None:
    a = load(SEQ[0])
    near = boxed(a)
    day = tmp_path / "2026-03" / "2026-03-10"
    paths = []
    for n, pixels in enumerate([a, near, near, a]):
        path = day / store.frame_name(T0 + n * STEP, 1)
        store.write_atomic(path, store.encode(pixels))
        paths.append(path)
    mover = Mover([tmp_path])
    p = Pipeline(DedupSettings(device="cpu"), POLICY, mover)
    recs = [p.process(Frame(1, load(x), T0 + n * STEP, str(x), x)) for n, x in enumerate(paths)]
    assert [r.decision for r in recs] == [Kind.NEW, Kind.NEAR, Kind.DUPLICATE, Kind.DUPLICATE]
    assert recs[1].path == str(day / store.SIMILAR / paths[1].name)
    # the repeat of the near frame matches it under its new name, in similar/
    assert recs[2].match == recs[1].path
    assert recs[2].path == str(day / store.DEDUP / paths[2].name)
    assert recs[3].match == str(paths[0])
    assert all(x.exists() for x in paths)  # nothing moves before the plan is complete
    assert mover.apply() == 3
    for r in recs:
        assert Path(r.path).is_file()
        assert r.match is None or Path(r.match).is_file()
    (run,) = Journal(tmp_path).runs()
    assert (run.planned, run.applied, run.moves) == (True, True, 3)


def test_frames_not_decided_are_recorded_as_errors(tmp_path: Path) -> None:
    with Catalog.open(tmp_path) as cat:
        p = daemon_pipeline(tmp_path, cat)
        rec = p.failed(T0, 2, "grab failed: XGetImage failed", (1280, 1024), (1920, 0))
        (row,) = cat.rows()
    assert row == rec and rec.id is not None
    assert (row.decision, row.monitor, row.width, row.x, row.path) == (
        Kind.ERROR,
        2,
        1280,
        1920,
        None,
    )
    assert row.error == "grab failed: XGetImage failed"


def test_monitors_and_sizes_are_separate_streams(tmp_path: Path) -> None:
    a = load(SEQ[0])
    with Catalog.open(tmp_path) as cat:
        p = daemon_pipeline(tmp_path, cat)
        recs = [
            p.process(captured(0, a, monitor=1)),
            p.process(captured(0, a, monitor=2)),
            p.process(captured(1, a[:400], monitor=1)),
            p.process(captured(2, a, monitor=1)),
        ]
    assert [r.decision for r in recs] == [Kind.NEW, Kind.NEW, Kind.NEW, Kind.DUPLICATE]
    assert sorted(p.streams) == [(1, 960, 400), (1, 960, 540), (2, 960, 540)]
    assert p.ring_bytes() > 0
