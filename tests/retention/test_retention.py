"""Retention plans on a real archive of ~200 days (tests/retention_archive.py): which frames
the schedule and the budget remove, and which always stay."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import retention_archive as ra
from helpers.frames import CORPUS, needs_corpus

from screenrecord.archive import store
from screenrecord.archive.catalog import FILE_NAME, SCHEMA_VERSION, Catalog, Prune
from screenrecord.config import units
from screenrecord.models import Activity, Kind, Record, Retention, Tier
from screenrecord.retention import plan as retention
from screenrecord.retention import prune
from screenrecord.review import highlights, status

SCHEDULE = Retention(14, (Tier(14, 6, "h"), Tier(180, 12, "d")))
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def archive(retention_template: ra.Built, tmp_path: Path) -> ra.Built:
    return ra.copy(retention_template, tmp_path / "archive")


def apply(a: ra.Built, settings: Retention) -> prune.Result:
    now = datetime.combine(a.today, datetime.min.time()).replace(hour=13)
    return prune.run(a.root, settings, now, apply=True)


def counts(files: dict[str, str], per_hour: bool) -> Counter:
    """Frames per (day, monitor[, hour]) of a tree."""
    c: Counter = Counter()
    for rel in files:
        taken, monitor = ra.parsed(rel)
        c[(taken.date(), monitor, taken.hour if per_hour else None)] += 1
    return c


def test_the_schedule_holds_exactly_and_keeps_the_most_distinct_frames(archive: ra.Built) -> None:
    before = ra.frames_on_disk(archive.root)
    picks = {}  # the day's highlights, as `highlights` ranks them, before anything goes
    for back in ra.BUSY:
        day = archive.today - timedelta(days=back)
        for monitor in (1, 2):
            found = [
                highlights.Source(archive.root / rel, *ra.parsed(rel))
                for rel in before
                if ra.day_of(rel) == day
                and "/similar/" not in rel
                and rel.endswith(f"_{monitor}.png")
            ]
            top, _ = highlights.rank(found, retention.HIGHLIGHTS_PER_DAY)
            picks[(day, monitor)] = {h.path.relative_to(archive.root).as_posix() for h in top}
    done = apply(archive, SCHEDULE)
    after = ra.frames_on_disk(archive.root)
    assert set(after) <= set(before) and done.removed == len(before) - len(after) > 0
    assert all(after[rel] == before[rel] for rel in after)  # what stays is untouched
    hours, days = counts(after, True), counts(after, False)
    for back in ra.BUSY:
        day = archive.today - timedelta(days=back)
        for monitor in (1, 2):
            if back <= 14:  # keep_all: every frame of the day, near-duplicates too
                assert days[(day, monitor, None)] == 60 - 6 + 3
            elif back <= 180:  # 6 per hour: hours 9, 10 and 11 each had more
                assert [hours[(day, monitor, h)] for h in (9, 10, 11)] == [6, 6, 6]
            else:
                assert days[(day, monitor, None)] == 12
            kept = {
                rel for rel in after if ra.day_of(rel) == day and rel.endswith(f"_{monitor}.png")
            }
            ends = {
                f"{day:%Y-%m}/{day}/{store.frame_name(datetime.combine(day, datetime.min.time()).replace(hour=h, minute=m), monitor)}"
                for h, m in ra.STRETCH_ENDS
            }
            assert ends <= kept, (back, monitor)
            assert picks[(day, monitor)] <= kept, (back, monitor)
            similar = {rel for rel in kept if "/similar/" in rel}
            assert similar == set() if back > 14 else len(similar) == 3
    for back in ra.QUIET:  # under every cap: untouched, its near-duplicate too
        day = archive.today - timedelta(days=back)
        assert sum(1 for rel in after if ra.day_of(rel) == day) == 10


def test_the_budget_thins_the_oldest_days_first_and_never_keep_all(archive: ra.Built) -> None:
    with Catalog.open(archive.root, create=False) as cat:
        scheduled = retention.plan(archive.root, SCHEDULE, archive.today, cat)
    budget = scheduled.size_after // 2
    settings = Retention(14, SCHEDULE.thin, budget)
    done = apply(archive, settings)
    after = ra.frames_on_disk(archive.root)
    on_disk = sum((archive.root / rel).stat().st_size for rel in after)
    assert on_disk == done.plan.size_after <= budget and done.plan.warning is None
    assert Counter(d.reason for d in done.plan.gone)["budget"] > 0
    days = counts(after, False)
    quiet = [
        days[(archive.today - timedelta(days=back), 1, None)]
        for back in sorted(ra.QUIET, reverse=True)
        if back > 14
    ]
    assert quiet == sorted(quiet) and quiet[0] < quiet[-1]  # older days thinned further
    assert min(quiet) >= retention.FLOOR
    shown = status.gather(datetime.now(), [], None, archive.root, 180, retention=settings)
    line = status.retention_line(shown)
    assert line.startswith(f"{units.size(on_disk)} kept of {units.size(budget)} (max_bytes); ")
    assert line.endswith(f", {done.removed} frames, {units.size(done.freed)}")
    young = {
        rel
        for rel in ra.frames_on_disk(archive.root)
        if (archive.today - ra.day_of(rel)).days <= 14
    }
    assert len(young) == 2 * (2 * 57) + 2 * 5 * sum(1 for b in ra.QUIET if b <= 14)


def test_a_budget_that_cannot_be_met_warns_once_and_spares_keep_all(archive: ra.Built) -> None:
    before = ra.frames_on_disk(archive.root)
    done = apply(archive, Retention(14, (), max_bytes=1))
    after = ra.frames_on_disk(archive.root)
    assert done.plan.warning is not None and "over the budget of 1 B" in done.plan.warning
    young = {rel for rel in before if (archive.today - ra.day_of(rel)).days <= 14}
    assert young <= set(after)
    old = counts({rel: "" for rel in after if rel not in young}, False)
    assert set(old.values()) == {retention.FLOOR}
    assert len(old) == 2 * sum(1 for b in {*ra.BUSY, *ra.QUIET} if b > 14)


def test_near_duplicates_go_before_any_main_frame_of_their_day(archive: ra.Built) -> None:
    """In a unit over its cap the near-duplicate goes first; a monitor's day that loses a main
    frame loses every near-duplicate, even one alone in its hour; a day that keeps all its main
    frames keeps its near-duplicates."""
    quiet, busy = (archive.today - timedelta(days=b) for b in (41, 40))
    lone = store.day_folder(archive.root, datetime.combine(busy, datetime.min.time()))
    lone = (
        lone
        / "similar"
        / store.frame_name(datetime.combine(busy, datetime.min.time()).replace(hour=13), 1)
    )
    store.write_atomic(lone, ra.picture(10**6))
    done = apply(archive, Retention(14, (Tier(14, 6, "h"), Tier(40, 4, "d"))))
    gone = {d.frame.rel: d.reason for d in done.plan.gone}
    on_quiet = {rel for rel in gone if ra.day_of(rel) == quiet}
    assert on_quiet and all("/similar/" in rel for rel in on_quiet)  # 4 main + 1 near: the near
    assert gone[lone.relative_to(archive.root).as_posix()] == "similar"
    untouched = archive.today - timedelta(days=39)  # a quiet day in the 6/h tier: under the cap
    assert not any(ra.day_of(rel) == untouched for rel in gone)
    assert (
        sum(
            1
            for rel in ra.frames_on_disk(archive.root)
            if ra.day_of(rel) == untouched and "/similar/" in rel
        )
        == 2
    )


def test_a_rerun_of_a_finished_plan_removes_nothing(archive: ra.Built) -> None:
    apply(archive, SCHEDULE)
    again = apply(archive, SCHEDULE)
    assert again.removed == 0 and again.plan.gone == []


def test_a_schema_2_catalog_is_upgraded_in_place_to_record_prunes(tmp_path: Path) -> None:
    shutil.copy(DATA / "catalog-v2.sqlite", tmp_path / FILE_NAME)
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()
    with Catalog.open(tmp_path, check=True) as cat:
        old = list(cat.rows())
        rel = old[0].path
        assert rel is not None and old[0].pruned is None and cat.last_prune() is None
        on = date(2026, 4, 1)
        assert cat.pruned([rel], on, Prune(datetime(2026, 4, 1, 3), 1, 1234, "r1")) == 1
        assert cat.pruned([rel], on, Prune(datetime(2026, 4, 1, 3), 1, 1234, "r1")) == 0
        back = list(cat.rows())
        assert back[0].pruned == on and back[0].path == rel and back[1:] == old[1:]
        assert cat.last_prune() == Prune(datetime(2026, 4, 1, 3), 1, 1234, "r1")
        assert cat.stored() == (0, 0)
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    assert conn.execute("SELECT COUNT(*) FROM prunes").fetchone()[0] == 1
    conn.close()


@needs_corpus
def test_real_screenshots_thinned_keep_their_stretch_ends_and_highlights(tmp_path: Path) -> None:
    """Corpus frames (monitor 1, real desktops, lock screens among them) renamed into a morning
    40 days ago, one every 3 minutes, with an idle break: 6 per hour stay, and the right ones."""
    root = tmp_path / "archive"
    day = datetime.combine(date.today() - timedelta(days=40), datetime.min.time())
    frames = sorted((CORPUS / "2026-03").rglob("*_1.png"))[:90]
    records = []
    t = day.replace(hour=9)
    for k, src in enumerate(frames):
        if k == 30:  # 10:30-10:45 idle: ticks in the catalog, no frame
            for _ in range(6):
                records.append(Record(t, 1, 1920, 1080, Kind.IDLE, activity=Activity(idle_s=600.0)))
                t += timedelta(minutes=3)
        path = store.frame_path(root, t, 1)
        store.make_dirs(path.parent)
        shutil.copyfile(src, path)
        rel = path.relative_to(root).as_posix()
        seen = Activity(app="desktop", idle_s=2.0, locked=False)
        records.append(
            Record(t, 1, 1920, 1080, Kind.NEW, path=rel, bytes=path.stat().st_size, activity=seen)
        )
        t += timedelta(minutes=3)
    with Catalog.open(root) as cat:
        cat.record_many(records)
    found = [highlights.Source(root / r.path, r.taken, 1) for r in records if r.path]
    top, _ = highlights.rank(found, retention.HIGHLIGHTS_PER_DAY)
    with Catalog.open(root, create=False) as cat:
        p = retention.plan(root, Retention(14, (Tier(14, 6, "h"),)), date.today(), cat)
    gone = {d.frame.rel for d in p.gone}
    kept = [r for r in records if r.path and r.path not in gone]
    hours = {r.taken.hour for r in records if r.path}
    assert Counter(r.taken.hour for r in kept) == {h: 6 for h in hours} and len(hours) == 5
    stretch = [r for r in records if r.path]
    first_break = next(r for r in records if r.decision is Kind.IDLE)
    before = [r for r in stretch if r.taken < first_break.taken]
    after = [r for r in stretch if r.taken > first_break.taken]
    ends = {before[0].path, before[-1].path, after[0].path, after[-1].path}
    assert ends <= {r.path for r in kept}
    assert {h.path.relative_to(root).as_posix() for h in top} <= {r.path for r in kept}
