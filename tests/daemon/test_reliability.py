"""Faults driven for real against the daemon subprocess, and what a private archive must look like.

kill -9 at random points (and right inside a write), SIGSTOP/SIGCONT as a stand-in for suspend,
and the modes of everything the daemon, dedup, highlights and report write.
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers.archive import check_archive, tree
from helpers.frames import CORPUS, needs_corpus
from helpers.procs import running, stop
from helpers.system import unavailable
from helpers.xscreen import (
    SIZE,
    T0,
    frames,
    leftovers,
    recorder,
    rows,
    show,
    start_daemon,
    text_screen,
    wait_rows,
    write_config,
)
from PIL import Image

from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.cli import main


def modes(top: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Permission bits of every folder (top included) and every file under `top`."""
    dirs, files = {str(top): stat.S_IMODE(top.stat().st_mode)}, {}
    for p in top.rglob("*"):
        (dirs if p.is_dir() else files)[str(p)] = stat.S_IMODE(p.lstat().st_mode)
    return dirs, files


def assert_private(top: Path) -> None:
    dirs, files = modes(top)
    assert files, top
    assert {d: m for d, m in dirs.items() if m != 0o700} == {}
    assert {f: m for f, m in files.items() if m != 0o600} == {}


@pytest.mark.daemon
def test_everything_written_is_owner_only_even_with_a_loose_umask(xvfb_display, tmp_path, capsys):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    old = os.umask(0o000)  # the daemon inherits it: nothing may depend on the umask
    try:
        with running(start_daemon(xvfb_display, cfg)) as proc:
            wait_rows(root, 1, proc)
            show(xvfb_display, tmp_path, text_screen(1, SIZE, edit=(10, 10, 250, 170)))  # near
            wait_rows(root, 3, proc)
            assert (root / "screenrecord.sqlite-wal").exists()  # while the daemon has it open
            assert_private(root)
            code, err = stop(proc)
        assert code == 0, err
        assert any(p.parent.name == "similar" for p in frames(root)), err
        # a repeat made by hand, then moved aside by dedup into a new dedup/ folder
        kept = root / next(p for p in frames(root) if p.parent.name != "similar")
        taken, monitor = store.parse_name(kept.name)
        again = store.frame_path(root, taken + timedelta(seconds=0.5), monitor)
        store.write_atomic(again, kept.read_bytes())
        assert main(["dedup", "--apply", str(root)]) == 0
        assert any(p.name == "dedup" for p in root.rglob("*"))
        assert main(["highlights", str(root), "--copy-to", str(tmp_path / "best")]) == 0
        assert main(["report", str(root), "--html", str(tmp_path / "pages")]) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    assert_private(root)  # month/day/similar/dedup folders, frames, catalog and its WAL, journal
    assert (root / "screenrecord.sqlite").exists()
    assert_private(tmp_path / "best")
    assert_private(tmp_path / "pages")


def today_folder(root: Path) -> Path:
    return store.day_folder(root, datetime.now())


def wait_for_a_write(proc: subprocess.Popen, root: Path, timeout: float = 8) -> None:
    """Return the moment a temp file of one of the daemon's atomic writes shows up."""
    mine = f"{store.TEMP_PREFIX}{proc.pid}-"
    deadline = time.monotonic() + timeout
    folders = [today_folder(root), today_folder(root) / "similar"]
    while time.monotonic() < deadline and proc.poll() is None:
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            if any(n.startswith(mine) for n in names):
                return


def start_then_kill(display: str, cfg: Path, root: Path, when) -> list[Path]:
    """Start the daemon, let it tick, call when(proc), SIGKILL it; the temp files the kill left.

    Checks on the way that the start removed, and logged, every temp file earlier kills left.
    """
    earlier = leftovers(root)
    with running(start_daemon(display, cfg)) as proc:
        wait_rows(root, len(rows(root)) + 1, proc, timeout=30)  # started and ticking
        when(proc)
        _, err = stop(proc, signal.SIGKILL)
    for p in earlier:
        assert f"{p}: removed, left by a write that was cut short" in err, err
        assert not p.exists()
    return [p for p in leftovers(root) if p.name.startswith(f"{store.TEMP_PREFIX}{proc.pid}-")]


class Painter:
    """Paints a different screen every ~0.3 s in a thread, so that nearly every tick writes."""

    def __init__(self, display: str, folder: Path) -> None:
        self.display, self.folder = display, folder
        folder.mkdir()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seed = 1000
        while not self.stopped.is_set():
            show(self.display, self.folder, text_screen(seed, SIZE))
            seed += 1
            time.sleep(0.2)

    def __enter__(self) -> Painter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(30)


@pytest.mark.daemon
def test_kill_9_at_random_points_loses_nothing_and_capture_resumes(xvfb_display, tmp_path):
    root = tmp_path / "archive"
    # level 0 makes every kept frame a 3 MB write, so a kill lands inside one often
    cfg = write_config(tmp_path / "c.toml", root, storage__compress_level="0")
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    rng = random.Random(7)
    with Painter(xvfb_display, tmp_path / "painter"):
        for round_ in range(5):
            if round_ % 2:  # at a random moment
                start_then_kill(xvfb_display, cfg, root, lambda _: time.sleep(rng.uniform(0, 2.5)))
                continue
            # the moment a write begins; the write may finish before the signal lands, and only
            # a temp file left by the killed daemon proves it did not: start again until one is
            for _ in range(10):
                cut_short = start_then_kill(
                    xvfb_display, cfg, root, lambda proc: wait_for_a_write(proc, root)
                )
                if cut_short:
                    break
            assert cut_short, "10 kills at the start of a write, none landed inside it"
    # A write cut short for certain, wherever the kills landed: half a frame in a temp file.
    day = today_folder(root)
    data = (root / frames(root)[0]).read_bytes()
    dead = subprocess.Popen(["true"])
    dead.wait()
    for folder in (day, day / "similar"):
        store.make_dirs(folder)
        (folder / ".tmp-cut-short.png").write_bytes(data[: len(data) // 2])  # an older version's
        (folder / f".tmp-{dead.pid}-cut-short.png").write_bytes(data[: len(data) // 3])
    to_remove = leftovers(root)  # these four, and the temp files the last kill left
    # a write in progress by another live process (`once` beside the daemon) is left alone
    live = day / f".tmp-{os.getpid()}-in-progress.png"
    live.write_bytes(data[:100])
    before = len(rows(root))
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(root, before + 3, proc, timeout=30)  # capture resumes
        code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    assert len(to_remove) >= 5
    for p in to_remove:
        assert f"{p}: removed, left by a write that was cut short" in err, err
    assert err.count("removed, left by a write that was cut short") == len(to_remove), err
    assert leftovers(root) == [live]
    live.unlink()
    with Catalog.open(root, create=False) as cat:  # opens after the kills
        assert len(list(cat.rows())) == len(rows(root))
    check_archive(root)  # catalog == files on disk, names, sizes, folders
    for rel in frames(root):
        with Image.open(root / rel) as im:
            im.load()  # every kept frame decodes completely
    assert len(frames(root)) >= 6


def tick_times(root: Path) -> list[datetime]:
    return sorted({datetime.fromisoformat(r["taken"]) for r in rows(root)})


@pytest.mark.daemon
def test_suspend_gives_one_catch_up_tick_not_a_burst(xvfb_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(root, 2, proc)
        proc.send_signal(signal.SIGSTOP)
        stopped = datetime.now()  # after: a tick may have begun just before
        time.sleep(5)  # five intervals missed
        woke = datetime.now()  # before: the catch-up tick may start before this line returns
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.95)  # under one interval: the catch-up tick, and at most one regular tick
        soon = [t for t in tick_times(root) if t >= woke]
        time.sleep(3.2)
        later = [t for t in tick_times(root) if t >= woke]
        code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    assert not [t for t in tick_times(root) if stopped + timedelta(seconds=0.5) < t < woke]
    assert soon and soon[0] - woke < timedelta(seconds=1), (woke, soon)  # caught up at once
    assert 1 <= len(soon) <= 2, (woke, soon)  # a burst would be 5 ticks here
    gaps = [b - a for a, b in zip(later, later[1:], strict=False)]
    assert sum(g < timedelta(seconds=0.7) for g in gaps) <= 1, later  # then the normal rhythm
    assert len(rows(root)) == len(tick_times(root))  # one row per tick: one monitor, no repeats


def test_a_frame_written_just_before_a_kill_is_recorded_at_restart(xvfb_display, tmp_path):
    """The file is linked into place before its decision is recorded: a kill between leaves a
    complete frame the catalog does not know; the next start records it."""
    root = tmp_path / "archive"
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    r = recorder(tmp_path, xvfb_display)
    try:
        r.tick(T0)
    finally:
        r.close()
    orphan = store.frame_path(root, T0 + timedelta(minutes=3), 1)
    store.write_atomic(orphan, store.encode(text_screen(2, SIZE)))
    similar = store.frame_path(root, T0 + timedelta(minutes=3), 1).parent / "similar"
    store.write_atomic(similar / store.frame_name(T0 + timedelta(minutes=3), 2), b"not a png")
    older = store.frame_path(root, T0 - timedelta(days=1), 1)  # before the catalog's rows
    store.write_atomic(older, store.encode(text_screen(3, SIZE)))
    r = recorder(tmp_path, xvfb_display)
    r.close()
    got = {x["path"]: x for x in rows(root) if x["path"]}
    rel = orphan.relative_to(root).as_posix()
    assert set(got) == {frames(root)[1].as_posix(), rel, older.relative_to(root).as_posix()}
    assert (got[rel]["decision"], got[rel]["width"], got[rel]["height"]) == ("new", *SIZE)
    assert got[rel]["bytes"] == orphan.stat().st_size


@pytest.mark.daemon
def test_unwritable_root_skips_frames_and_recovers(xvfb_display, tmp_path):
    """The archive turns read-only under the running daemon (a read-only bind mount over it:
    tests run as root, and chmod 0500 does not stop root), then writable again."""

    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    mounted = False
    try:
        with running(start_daemon(xvfb_display, cfg)) as proc:
            wait_rows(root, 1, proc)
            r = subprocess.run(
                ["mount", "--bind", str(root), str(root)], capture_output=True, text=True
            )
            if r.returncode != 0:
                unavailable(f"cannot bind-mount here ({r.stderr.strip()}): needs root")
            mounted = True
            subprocess.run(["mount", "-o", "remount,bind,ro", str(root)], check=True)
            show(xvfb_display, tmp_path, text_screen(2, SIZE))
            time.sleep(2.5)  # ticks on a read-only archive (the open catalog still records them)
            assert proc.poll() is None, "the daemon must keep running on a read-only archive"
            assert len(frames(root)) == 1
            subprocess.run(["umount", str(root)], check=True)
            mounted = False
            wait_rows(root, len(rows(root)) + 2, proc)
            code, err = stop(proc)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root)], check=False)
    assert code == 0, err
    assert "Traceback" not in err
    assert "frame not written" in err and "Read-only file system" in err
    failed = [r for r in rows(root) if r["error"]]
    assert failed and all("Read-only file system" in r["error"] for r in failed)
    assert err.count("frame not written") == len(failed)  # one logged error per skipped frame
    assert not leftovers(root)
    kept = [r for r in rows(root) if r["path"]]
    assert len(kept) == 2 and len(frames(root)) == 2  # the skipped screen is kept once writable
    check_archive(root)


@needs_corpus
def test_kill_9_during_undo_loses_nothing_and_a_rerun_completes(tmp_path, capsys):
    import shutil
    import sys

    from screenrecord.archive.journal import FILE_NAME as JOURNAL
    from screenrecord.archive.journal import Journal

    root = tmp_path / "corpus"
    shutil.copytree(CORPUS, root)
    before = tree(root)
    assert main(["dedup", "--apply", str(root)]) == 0
    capsys.readouterr()
    (run,) = Journal(root).runs()
    moves = list(Journal(root).moves(run.id))
    assert len(moves) > 50
    # undo walks the moves newest first: kill it as soon as the first file is back
    first_back = root / moves[-1]["src"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "screenrecord", "undo", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not first_back.exists():
        pass
    stop(proc, signal.SIGKILL)
    now = tree(root)
    # every file is in exactly one place (or two names of one inode, killed between link and unlink)
    for rel, digest in before.items():
        p = Path(rel)
        places = [
            q
            for q in (p, p.parent / "dedup" / p.name, p.parent / "similar" / p.name)
            if now.get(str(q)) == digest
        ]
        assert places, rel
        assert len({(root / q).stat().st_ino for q in places}) == 1, rel
    known = set(before.values())
    assert [
        k for k in now if k != JOURNAL and now[k] not in known
    ] == []  # nothing new, nothing torn
    if (root / JOURNAL).exists():  # else undo had finished before the kill landed
        code, out, err = main(["undo", str(root)]), *capsys.readouterr()
        assert code == 0, (out, err)
    assert tree(root) == before
