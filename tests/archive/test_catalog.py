"""The catalog: one Record per decision in a real SQLite file, read back as it was stored."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from screenrecord.archive.catalog import FILE_NAME, SCHEMA_VERSION, Catalog
from screenrecord.errors import StoreError
from screenrecord.models import Activity, Box, Kind, Period, Record

T = datetime(2026, 3, 10, 9, 0)


def rec(minutes: int, decision: Kind, monitor: int = 1, **kw) -> Record:
    return Record(T + timedelta(minutes=minutes), monitor, 1920, 1080, decision, **kw)


def test_records_round_trip_with_their_ids(tmp_path: Path) -> None:
    stored = [
        rec(0, Kind.NEW, path="a.png", bytes=1000, x=0, y=0, capture_ms=1.5, write_ms=3.25),
        rec(3, Kind.DUPLICATE, score=0.999, match="a.png", compare_ms=0.5),
        rec(6, Kind.NEAR, monitor=2, score=0.97, match="b.png", path="similar/c.png", x=1920),
        rec(9, Kind.ERROR, error="grab failed: gone"),
        rec(12, Kind.NEAR, score=0.9911, match="a.png", regions=(Box(120, 340, 612, 18),)),
    ]
    with Catalog.open(tmp_path) as cat:
        ids = [cat.record(r) for r in stored]
    with Catalog.open(tmp_path, create=False) as cat:
        back = list(cat.rows())
    assert [r.id for r in back] == ids
    assert [r.__class__(**{**_fields(r), "id": None}) for r in back] == stored
    assert all(isinstance(r.decision, Kind) for r in back)
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600


def _fields(r: Record) -> dict:
    return {f: getattr(r, f) for f in r.__dataclass_fields__}


def test_a_period_selects_the_same_decisions_everywhere(tmp_path: Path) -> None:
    with Catalog.open(tmp_path) as cat:
        for m in range(0, 60, 3):
            if m % 9 == 0:
                cat.record(rec(m, Kind.NEW, path=f"{m}.png", bytes=10))
            else:
                cat.record(rec(m, Kind.DUPLICATE, score=0.995 + m / 10000, match="0.png"))
        period = Period(T + timedelta(minutes=10), T + timedelta(minutes=30))
        inside = list(cat.rows(period))
        assert [r.taken.minute for r in inside] == list(range(12, 30, 3))
        assert all(r.taken in period for r in inside)
        assert cat.repeats(period) == {"0.png": pytest.approx(0.995 + 24 / 10000)}  # 27 is new
        assert cat.repeats() == {"0.png": pytest.approx(0.995 + 57 / 10000)}
        since = cat.tally(since=T + timedelta(minutes=30))
        assert (since.decisions, since.new, since.duplicate, since.written) == (10, 3, 7, 3)
        assert cat.tally().bytes == 70
        assert cat.latest_taken() == T + timedelta(minutes=57)


def test_latest_and_errors(tmp_path: Path) -> None:
    with Catalog.open(tmp_path) as cat:
        cat.record(rec(0, Kind.NEW, monitor=1, path="a.png"))
        cat.record(rec(1, Kind.NEW, monitor=2, error="No space left on device"))
        cat.record(rec(2, Kind.DUPLICATE, monitor=1, match="a.png", score=1.0))
        assert [(r.monitor, r.decision) for r in cat.latest()] == [
            (1, Kind.DUPLICATE),
            (2, Kind.NEW),
        ]
        assert cat.last_error().error == "No space left on device"
        assert cat.last_error(since=T + timedelta(minutes=2)) is None
        assert cat.find("a.png").decision is Kind.NEW
        n, last = cat.matched("a.png")
        assert n == 1 and last.taken == T + timedelta(minutes=2)
        assert cat.at(T + timedelta(minutes=1, seconds=30), 1).taken == T


def test_a_newer_schema_or_a_broken_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    newer.mkdir()
    conn = sqlite3.connect(newer / FILE_NAME)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this screenrecord"):
        Catalog.open(newer)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / FILE_NAME).write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open catalog"):
        Catalog.open(broken)
    assert (broken / FILE_NAME).read_bytes() == b"not a database at all" * 100
    with pytest.raises(StoreError, match="no catalog here"):
        Catalog.open(tmp_path / "none", create=False)


DATA = Path(__file__).resolve().parents[1] / "data"


def test_a_schema_1_catalog_is_upgraded_in_place_keeping_its_rows(tmp_path: Path) -> None:
    import shutil

    shutil.copy(DATA / "catalog-v1.sqlite", tmp_path / FILE_NAME)
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    with Catalog.open(tmp_path, check=True) as cat:
        old = list(cat.rows())
        seen = Activity(app="Editor", executable="xterm", title="notes", monitor=1, idle_s=2.5)
        cat.record(
            rec(60, Kind.NEW, path="d.png", activity=dataclasses.replace(seen, locked=False))
        )
        cat.record(rec(63, Kind.LOCKED, activity=Activity(locked=True, idle_s=400.0)))
    assert [(r.decision, r.path, r.error, r.activity) for r in old] == [
        (Kind.NEW, "2026-03/2026-03-10/2026-03-10_09.00.00.000000_1.png", None, None),
        (Kind.DUPLICATE, None, None, None),
        (Kind.ERROR, None, "grab failed: XGetImage() failed", None),
    ]
    with Catalog.open(tmp_path, create=False) as cat:
        back = list(cat.rows())
    assert len(back) == 5 and back[:3] == old
    assert back[3].activity == Activity("Editor", "xterm", "notes", 1, 2.5, False)
    assert back[4].decision is Kind.LOCKED and back[4].activity == Activity(
        idle_s=400.0, locked=True
    )
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


def test_a_schema_3_catalog_is_upgraded_in_place_to_record_changed_regions(
    tmp_path: Path,
) -> None:
    import shutil

    shutil.copy(DATA / "catalog-v3.sqlite", tmp_path / FILE_NAME)
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()
    boxes = (Box(120, 340, 612, 18), Box(0, 0, 32, 16))
    with Catalog.open(tmp_path, check=True) as cat:
        old = list(cat.rows())
        cat.record(rec(60, Kind.NEAR, score=0.995, match="a.png", path="n.png", regions=boxes))
        captures = cat.captures(Period())
    assert len(old) == 3 and all(r.regions == () for r in old)
    assert [c.regions for c in captures if c.path == "n.png"] == [boxes]
    assert [c.regions for c in captures if c.path != "n.png"] == [(), (), ()]
    with Catalog.open(tmp_path, create=False) as cat:
        back = sorted(cat.rows(), key=lambda r: r.id or 0)
    assert back[:3] == sorted(old, key=lambda r: r.id or 0) and back[3].regions == boxes
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    stored = conn.execute("SELECT regions FROM decisions ORDER BY id").fetchall()
    assert stored == [(None,), (None,), (None,), ("[[120,340,612,18],[0,0,32,16]]",)]
    conn.close()
