"""report: numbers checked against a catalog built from known decisions."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from screenrecord import cli
from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Kind, Record
from screenrecord.review import report, spans

DAY = datetime(2026, 3, 10)
M1 = ["new", "duplicate", "duplicate", "near"] + ["duplicate"] * 7  # ticks 09:00 .. 09:20
M2 = ["new"] + ["duplicate"] * 4 + ["new"] + ["duplicate"] * 5
LATE = [("new", "duplicate"), ("duplicate", "error")]  # ticks 11:00, 11:02 after a long gap


def make_catalog(root: Path) -> None:
    """Two monitors, a tick every 2 minutes 09:00-09:20, then 11:00 and 11:02 (the machine slept)."""
    times = [DAY + timedelta(hours=9, minutes=2 * k) for k in range(11)]
    times += [DAY + timedelta(hours=11), DAY + timedelta(hours=11, minutes=2)]
    decisions = list(zip(M1, M2, strict=True)) + LATE
    with Catalog.open(root) as cat:
        for t, pair in zip(times, decisions, strict=True):
            for monitor, decision in enumerate(pair, start=1):
                taken = t + timedelta(milliseconds=300 * (monitor - 1))  # grabs a moment apart
                kept = decision in ("new", "near")
                path = store.frame_path(root, taken, monitor).relative_to(root).as_posix()
                cat.record(
                    Record(
                        taken,
                        monitor,
                        1920,
                        1080,
                        Kind(decision),
                        score=None if decision == "new" else 0.995,
                        path=path if kept else None,
                        bytes=1000 * monitor if kept else None,
                        error="cannot grab" if decision == "error" else None,
                    )
                )


def test_numbers_match_the_known_decisions(tmp_path: Path) -> None:
    make_catalog(tmp_path)
    rep = report.build(tmp_path, DAY, DAY + timedelta(days=1))
    assert rep.source == "catalog"
    assert rep.interval_seconds == 120
    (d,) = rep.days
    assert d.first == DAY + timedelta(hours=9)
    assert d.last == DAY + timedelta(hours=11, minutes=2, milliseconds=300)
    assert d.ticks == 13
    # active: 09:00 (new, new), 09:06 (near), 09:10 (monitor 2 new), 11:00 (new)
    assert d.active_ticks == 4
    assert d.active_seconds == 4 * 120
    # unchanged: every other tick has a duplicate; the gap 09:20 -> 11:00 counts for nothing
    assert d.unchanged_ticks == 9
    assert d.unchanged_seconds == 9 * 120
    assert d.kept == 5
    assert d.kept_bytes == 3 * 1000 + 2 * 2000
    assert d.skipped == 20
    assert d.skipped_bytes_estimate == 10 * 1000 + 10 * 2000
    assert d.errors == 1
    assert d.decisions == {"new": 4, "near": 1, "duplicate": 20, "error": 1}
    m1, m2 = d.monitors[1], d.monitors[2]
    assert (m1[9].new, m1[9].near, m1[9].duplicate, m1[9].kept) == (1, 1, 9, 2)
    assert (m1[11].new, m1[11].duplicate) == (1, 1)
    assert (m2[9].new, m2[9].duplicate, m2[11].duplicate, m2[11].error) == (2, 9, 1, 1)
    assert m1[9].active_seconds == 240 and m1[11].active_seconds == 120
    assert m2[9].active_seconds == 240 and m2[11].active_seconds == 0
    assert sum(h.active_seconds for h in m1 + m2) == 600
    assert m1[8].active_seconds == 0  # the first tick of a session never reaches back before it


def test_a_tick_stands_for_the_gap_before_it_up_to_two_intervals() -> None:
    assert spans.span(math.inf, 180) == (180, True)  # a stream's first tick: one interval on
    assert spans.span(200.5, 180) == (200.5, False)  # the gap since the previous tick
    assert spans.span(360, 180) == (360, False)
    assert spans.span(360.001, 180) == (180, True)  # after a longer one: a session's first


def test_period_bounds_are_honoured(tmp_path: Path) -> None:
    make_catalog(tmp_path)
    rep = report.build(tmp_path, DAY + timedelta(hours=10), DAY + timedelta(days=1))
    (d,) = rep.days
    assert d.ticks == 2 and d.kept == 1 and d.errors == 1
    assert report.build(tmp_path, DAY + timedelta(days=1), DAY + timedelta(days=2)).days == []


def test_json_and_text_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_catalog(tmp_path)
    assert cli.main(["report", str(tmp_path), "--day", "2026-03-10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (d,) = data["days"]
    assert data["source"] == "catalog"
    assert d["active_seconds"] == 480 and d["kept_bytes"] == 7000 and d["skipped"] == 20
    assert len(d["monitors"]["1"]) == 24 and d["monitors"]["2"][9]["new"] == 2
    # no period given: the last day with captures
    assert cli.main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2026-03-10" in out and "active           8 min  (" in out
    assert "kept                 5  frames, 7.0 kB" in out


def write_frames(root: Path, stamps: list[tuple[datetime, int]]) -> None:
    for k, (taken, monitor) in enumerate(stamps):
        img = Image.new("RGB", (64, 36), (k * 20 % 256, 90, 160))
        store.write_atomic(store.frame_path(root, taken, monitor), store.encode(img))


def test_archive_without_catalog_counts_files(tmp_path: Path) -> None:
    t = DAY + timedelta(hours=14)
    write_frames(
        tmp_path, [(t, 1), (t, 2), (t + timedelta(minutes=3), 1), (t + timedelta(minutes=9), 1)]
    )
    (tmp_path / "notes.txt").write_text("not a frame")
    rep = report.build(tmp_path, DAY, DAY + timedelta(days=1))
    assert rep.source == "files"
    (d,) = rep.days
    sizes = sum(p.stat().st_size for p in tmp_path.rglob("*.png"))
    assert (d.ticks, d.kept, d.kept_bytes) == (3, 4, sizes)
    assert d.unchanged_seconds is None and d.skipped is None
    assert rep.interval_seconds == 270  # median of 3 and 6 minutes
    assert d.active_seconds == 270 + 180 + 360


@pytest.mark.parametrize(
    "args",
    [
        ["--day", "yesterday"],
        ["--day", "2026-03-10", "--since", "2026-03-01"],
        ["--since", "2026-03-12", "--until", "2026-03-10"],
    ],
)
def test_bad_periods_are_usage_errors(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    make_catalog(tmp_path)
    assert cli.main(["report", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("screenrecord: ") and err.count("\n") == 1


def test_missing_archive_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert cli.main(["report", str(tmp_path)]) == 2  # empty: nothing to report
    assert "no frames here" in capsys.readouterr().err


def test_an_interval_a_little_under_five_seconds_reads_as_five(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 5 s recorder's ticks are 4.998 s apart now and then (the grab's time varies): the
    interval is ~5 s, not ~4 s."""
    with Catalog.open(tmp_path) as cat:
        for k in range(10):
            taken = DAY + timedelta(hours=9, milliseconds=4998 * k)
            cat.record(Record(taken, 1, 1920, 1080, Kind.DUPLICATE, score=0.999))
    assert cli.main(["report", str(tmp_path), "--day", "2026-03-10"]) == 0
    assert "capture interval ~5 s" in capsys.readouterr().out
