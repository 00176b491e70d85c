"""The archive on disk: names, atomic writes, modes, and the one walker, on real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from helpers.procs import running

from screenrecord.archive import store
from screenrecord.errors import StoreError

T = datetime(2026, 3, 10, 9, 15, 30, 123456)


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_frame_names_round_trip_and_others_are_not_frames() -> None:
    name = store.frame_name(T, 2)
    assert name == "2026-03-10_09.15.30.123456_2.png"
    assert store.parse_name(name) == (T, 2)
    assert store.parse_name("2026-03-10_09.15.30_1.png") == (T.replace(microsecond=0), 1)
    for other in ("notes.png", "2026-13-10_09.15.30_1.png", "2026-03-10_09.15.30_1.txt"):
        assert store.parse_name(other) is None
    assert store.frame_path(Path("r"), T, 1) == Path("r/2026-03/2026-03-10") / store.frame_name(
        T, 1
    )


def test_write_atomic_never_overwrites_and_is_owner_only(tmp_path: Path) -> None:
    path = store.frame_path(tmp_path / "root", T, 1)
    store.write_atomic(path, b"first")
    with pytest.raises(StoreError, match="already exists, not overwritten"):
        store.write_atomic(path, b"second")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, path.parent.parent, tmp_path / "root"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_replace_atomic_replaces(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    store.replace_atomic(path, b"one")
    store.replace_atomic(path, b"two")
    assert path.read_bytes() == b"two"


def test_the_walker_goes_folder_by_folder_in_capture_order(tmp_path: Path) -> None:
    day = tmp_path / "2026-03" / "2026-03-10"
    later = touch(day / "2026-03-10_10.00.00_1.png")
    early = touch(day / "2026-03-10_09.00.00_2.png")
    near = touch(day / store.SIMILAR / "2026-03-10_09.30.00_1.png")
    touch(day / store.DEDUP / "2026-03-10_09.31.00_1.png")  # set aside: never walked
    touch(day / ".thumbs" / "2026-03-10_09.32.00_1.png")  # hidden: skipped
    notes = touch(day / "notes.txt")
    outside = touch(tmp_path.parent / f"{tmp_path.name}-outside" / "2026-03-10_09.33.00_1.png")
    (day / "linked").symlink_to(outside.parent)
    (day / "2026-03-10_09.34.00_1.png").symlink_to(outside)
    folders = {f.path: f for f in store.folders([tmp_path])}
    assert list(folders) == [tmp_path, tmp_path / "2026-03", day]
    assert [f.path for f in folders[day].files] == [early, later, notes]
    assert [f.is_image for f in folders[day].files] == [True, True, False]
    assert [f.path for f in folders[day].similar] == [near]
    assert list(store.walk([tmp_path])) == [early, later, notes]


def test_the_daemons_view_keeps_to_dated_folders_newest_first(tmp_path: Path) -> None:
    old = touch(tmp_path / "2026-02" / "2026-02-28" / "2026-02-28_23.59.00_1.png")
    new1 = touch(tmp_path / "2026-03" / "2026-03-01" / "2026-03-01_08.00.00_1.png")
    new2 = touch(tmp_path / "2026-03" / "2026-03-01" / "2026-03-01_08.00.00_2.png")
    near = touch(tmp_path / "2026-03" / "2026-03-01" / store.SIMILAR / "2026-03-01_09.00.00_1.png")
    touch(tmp_path / "2026-03" / "2026-03-01" / "notes.txt")
    touch(tmp_path / "picks" / "2026-03-02_08.00.00_1.png")  # a copy elsewhere: not a kept frame
    assert [f.path for f in store.newest_frames(tmp_path)] == [near, new2, new1, old]
    assert [f.path for f in store.newest_frames(tmp_path, monitors=[2])] == [new2]


def test_a_file_root_is_a_folder_of_one_file(tmp_path: Path) -> None:
    frame = touch(tmp_path / "2026-03-10_09.00.00_1.png")
    touch(tmp_path / "2026-03-10_09.01.00_1.png")
    (folder,) = store.folders([frame])
    assert folder.path == tmp_path and [f.path for f in folder.files] == [frame]


def test_temp_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    day = tmp_path / "2026-03" / "2026-03-10"
    frame = touch(day / "2026-03-10_09.00.00_1.png")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = touch(day / f"{store.TEMP_PREFIX}{dead.pid}-abc.png")
    left_similar = touch(day / store.SIMILAR / f"{store.TEMP_PREFIX}{dead.pid}-def.png")
    with running(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])) as live:
        kept = touch(day / f"{store.TEMP_PREFIX}{live.pid}-ghi.png")
        removed = store.remove_temp_files(tmp_path)
        assert sorted(removed) == sorted([left, left_similar])
        assert kept.exists() and frame.exists()


def test_escapes_sees_symbolic_links_out_of_the_archive(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "2026-03").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, root / "2026-03" / "2026-03-10")
    assert store.escapes(root, root / "2026-03" / "2026-03-10")
    assert not store.escapes(root, root / "2026-03")


def test_a_name_local_time_gives_again_is_kept_as_a_repeat_never_replacing(tmp_path: Path) -> None:
    """A clock set back (DST's repeated hour) gives a frame's name again: every frame is kept,
    none replaced, and the repeats sort after the first, in order, by name and by the walker."""
    from PIL import Image

    from screenrecord.archive.writer import ArchiveWriter
    from screenrecord.config import StorageConfig
    from screenrecord.models import Frame, Placement

    root = tmp_path / "root"
    writer = ArchiveWriter(root, StorageConfig())
    stored = []
    for n in range(12):
        image = Image.new("RGB", (8, 8), (n * 20, 0, 0))
        placement = Placement.SIMILAR if n == 3 else Placement.ARCHIVE
        stored.append(writer.store(Frame(1, image, T, store.frame_name(T, 1)), placement))
    paths = [root / s.path for s in stored if s is not None]
    assert len(set(paths)) == 12
    assert paths[0].name == "2026-03-10_09.15.30.123456_1.png"
    assert paths[1].name == "2026-03-10_09.15.30.123456_1~1.png"
    assert paths[3].parent.name == store.SIMILAR and paths[3].name.endswith("_1~3.png")
    assert paths[11].name == "2026-03-10_09.15.30.123456_1~11.png"
    for n, p in enumerate(paths):  # each file holds its own frame: nothing was replaced
        with Image.open(p) as im:
            assert im.getpixel((0, 0)) == (n * 20, 0, 0)
        assert store.parse_name(p.name) == (T, 1)
    names = [p.name for p in paths[:3]] + [store.frame_name(T.replace(microsecond=123457), 1)]
    assert sorted(names) == names  # by name, repeats come between the first and a later frame
    (folder,) = [f for f in store.folders([root]) if f.files]
    assert [f.path for f in folder.files] == [p for p in paths if p.parent.name != store.SIMILAR]
    newest = [f.path for f in store.newest_frames(root)]
    assert newest == paths[::-1]
