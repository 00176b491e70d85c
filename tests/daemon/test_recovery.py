"""The catalog is kept whole whatever happens to it (issue 26, items 5 and 6): deleted while the
daemon runs or while it is stopped, held locked by a reader, or missing a row in the middle of
the archive. A real daemon subprocess on Xvfb, real SQLite files, a real exclusive lock."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers.procs import running, stop
from helpers.xscreen import (
    SIZE,
    T0,
    frames,
    recorder,
    rows,
    screenrecord,
    show,
    start_daemon,
    text_screen,
    write_config,
)

from screenrecord.archive import store
from screenrecord.archive.catalog import FILE_NAME


class Screens:
    """Paints a different screen at each call, so that each tick keeps a new frame."""

    def __init__(self, display: str, tmp: Path) -> None:
        self.display, self.tmp, self.seed = display, tmp, 100

    def next(self) -> None:
        self.seed += 1
        show(self.display, self.tmp, text_screen(self.seed, SIZE))


def recorded_paths(root: Path) -> set[str]:
    return {r["path"] for r in rows(root) if r["path"]}


def on_disk(root: Path) -> set[str]:
    return {p.as_posix() for p in frames(root)}


def taken(relpath: str) -> datetime:
    parsed = store.parse_name(Path(relpath).name)
    assert parsed is not None, relpath
    return parsed[0]


def wait_frames(root: Path, n: int, screens: Screens, proc, timeout: float = 30) -> None:
    """Paint new screens until the archive holds at least `n` frames."""
    deadline = time.monotonic() + timeout
    while len(frames(root)) < n:
        assert time.monotonic() < deadline, f"{len(frames(root))} frames after {timeout}s"
        assert proc.poll() is None, proc.stderr.read()
        screens.next()
        time.sleep(0.4)


def wait_recorded(root: Path, proc, timeout: float = 20) -> None:
    """Wait until every frame on disk has a catalog row."""
    deadline = time.monotonic() + timeout
    while not on_disk(root) <= recorded_paths(root):
        assert time.monotonic() < deadline, on_disk(root) - recorded_paths(root)
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)


def report_kept(cfg: Path, root: Path) -> int:
    r = screenrecord("report", str(root), "--since", "2000-01-01", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    m = re.search(r"^\s+kept\s+(\d+)\s+frames?,", r.stdout, re.M)
    assert m, r.stdout
    return int(m[1])


@pytest.mark.daemon
def test_a_catalog_deleted_while_the_daemon_runs_is_rebuilt(xvfb_display, tmp_path):
    """Before, the daemon went on writing into the unlinked file and every later reader saw an
    empty catalog (`report` counted 1 frame of 11)."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    screens = Screens(xvfb_display, tmp_path)
    screens.next()
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_frames(root, 4, screens, proc)
        (root / FILE_NAME).unlink()
        wait_frames(root, len(frames(root)) + 3, screens, proc)
        wait_recorded(root, proc)
        code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    assert f"{root / FILE_NAME}: deleted or replaced while screenrecord ran" in err, err
    assert recorded_paths(root) == on_disk(root)
    assert report_kept(cfg, root) == len(frames(root)) >= 7


@pytest.mark.daemon
@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_a_catalog_deleted_while_the_daemon_is_stopped_is_rebuilt_at_start(
    xvfb_display, tmp_path, how
):
    """Stopped, the catalog is one file; killed, its -wal and -shm stay beside it, and a new
    catalog must not read them."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    screens = Screens(xvfb_display, tmp_path)
    screens.next()
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_frames(root, 4, screens, proc)
        wait_recorded(root, proc)
        code, err = stop(proc) if how == "stopped" else stop(proc, sig=9)
    assert (root / f"{FILE_NAME}-wal").exists() == (how == "killed")
    (root / FILE_NAME).unlink()
    kept = len(frames(root))
    screens.next()
    env = {**os.environ, "DISPLAY": xvfb_display, "HOME": str(tmp_path)}
    r = screenrecord("once", "--config", str(cfg), env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{root / FILE_NAME}: there was none; rebuilt from the {kept} frames" in r.stderr
    assert len(frames(root)) == kept + 1
    assert recorded_paths(root) == on_disk(root)
    assert len(rows(root)) == kept + 1  # each frame once
    assert report_kept(cfg, root) == kept + 1


@pytest.mark.daemon
def test_a_locked_catalog_never_holds_up_a_tick(xvfb_display, tmp_path):
    """A reader holding the catalog in an exclusive transaction: before, each tick waited 30 s
    for it (SQLite's busy timeout); now frames keep coming every interval, and their rows are
    written once the lock is released."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    screens = Screens(xvfb_display, tmp_path)
    screens.next()
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_frames(root, 2, screens, proc)
        wait_recorded(root, proc)
        before = on_disk(root)
        reader = sqlite3.connect(root / FILE_NAME, timeout=10, isolation_level=None)
        try:
            reader.execute("BEGIN EXCLUSIVE")
            locked = datetime.now()
            while datetime.now() - locked < timedelta(seconds=6):
                screens.next()
                time.sleep(0.3)
                assert proc.poll() is None
            during = sorted(taken(p) for p in on_disk(root) - before)
            assert not recorded_paths(root) - before  # the lock held: nothing written yet
        finally:
            reader.execute("ROLLBACK")
            reader.close()
        wait_recorded(root, proc, timeout=10)
        code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    # six seconds of 1 s ticks while the lock was held: frames kept at about each tick's pace
    # (a busy shared machine may merge two late ticks), never 30 s apart
    assert len(during) >= 3, during
    gaps = [b - a for a, b in zip(during, during[1:], strict=False)]
    assert max(gaps) < timedelta(seconds=3), gaps
    assert "decisions not recorded yet (database is locked)" in err, err
    assert recorded_paths(root) == on_disk(root)
    assert len({r["taken"] for r in rows(root)}) == len(rows(root))  # no row written twice


def test_a_frame_without_a_row_in_the_middle_of_the_archive_is_recorded_at_start(
    xvfb_display, tmp_path
):
    """Before, only frames newer than the newest row were looked for: a frame kept on a day
    between recorded ones (its catalog write failed) never got a row."""
    root = tmp_path / "archive"
    r = recorder(tmp_path, xvfb_display)
    try:
        for day in range(3):
            show(xvfb_display, tmp_path, text_screen(day, SIZE))
            r.tick(T0 + timedelta(days=day))
    finally:
        r.close()
    assert len(rows(root)) == 3
    middle = store.frame_path(root, T0 + timedelta(days=1, hours=2), 1)
    store.write_atomic(middle, store.encode(text_screen(9, SIZE)))
    similar = store.frame_path(root, T0 + timedelta(hours=1), 1)
    similar = similar.parent / store.SIMILAR / similar.name
    store.write_atomic(similar, store.encode(text_screen(8, SIZE)))
    r = recorder(tmp_path, xvfb_display)
    r.close()
    got = {x["path"]: x for x in rows(root) if x["path"]}
    assert set(got) == on_disk(root) and len(got) == 5 == len(rows(root))
    m = got[middle.relative_to(root).as_posix()]
    assert (m["decision"], m["width"], m["height"]) == ("new", *SIZE)
    assert m["bytes"] == middle.stat().st_size
    assert got[similar.relative_to(root).as_posix()]["decision"] == "near"
    r = recorder(tmp_path, xvfb_display)  # the next start finds nothing more to record
    r.close()
    assert len(rows(root)) == 5
