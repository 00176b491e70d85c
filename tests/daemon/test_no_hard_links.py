"""An archive on a drive without hard links (exFAT, FAT32, many network shares) stores its
frames, atomically, and never overwrites one: tested on a real exFAT filesystem (a loop device
mounted with FUSE's exFAT, whose `link` fails with EPERM)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from helpers import mounts
from helpers.procs import running, stop
from helpers.xscreen import (
    SIZE,
    frames,
    leftovers,
    show,
    start_daemon,
    text_screen,
    wait_rows,
    write_config,
)
from helpers.xscreen import rows as catalog_rows
from PIL import Image

from screenrecord.archive import store
from screenrecord.errors import StoreError


@pytest.fixture
def drive(tmp_path: Path) -> Iterator[Path]:
    with mounts.exfat(tmp_path) as point:
        probe = point / "probe"
        probe.write_bytes(b"x")
        with pytest.raises(PermissionError):
            os.link(probe, point / "probe2")  # the drive really has no hard links
        probe.unlink()
        yield point


def no_empty_or_temp_files(root: Path) -> None:
    assert leftovers(root) == []
    assert [p for p in root.rglob("*.png") if p.stat().st_size == 0] == []  # no reservation left


@pytest.mark.daemon
def test_the_daemon_stores_frames_on_an_exfat_drive(xvfb_display, tmp_path, drive):
    """Before, every frame ended in `cannot write (Operation not permitted)`."""
    root = drive / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    screens = [text_screen(1, SIZE), text_screen(2, SIZE)]
    show(xvfb_display, tmp_path, screens[0])
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(root, 1, proc)
        show(xvfb_display, tmp_path, screens[1])
        deadline = 40
        while len([r for r in catalog_rows(root) if r["path"]]) < 2 and deadline:
            wait_rows(root, len(catalog_rows(root)) + 1, proc)
            deadline -= 1
        code, err = stop(proc)
    assert code == 0, err
    assert "frame not written" not in err and "Traceback" not in err
    got = catalog_rows(root)
    assert [r["error"] for r in got if r["error"]] == []
    kept = [r["path"] for r in got if r["path"]]
    assert len(kept) == 2 and sorted(kept) == [p.as_posix() for p in frames(root)]
    for path, screen in zip(sorted(kept), screens, strict=True):
        with Image.open(root / path) as im:
            assert np.array_equal(np.asarray(im.convert("RGB")), np.asarray(screen))
    no_empty_or_temp_files(root)


def test_a_frame_is_never_overwritten_on_an_exfat_drive(drive):
    path = store.frame_path(drive, datetime(2026, 3, 10, 9, 0), 1)
    store.write_atomic(path, b"first frame")
    with pytest.raises(StoreError, match="already exists, not overwritten"):
        store.write_atomic(path, b"second frame")
    assert path.read_bytes() == b"first frame"
    no_empty_or_temp_files(drive)


def test_writers_racing_for_one_name_on_an_exfat_drive_leave_one_whole_frame(drive):
    """Eight writers publish the same name at once: one wins, the others are refused, and the
    file holds the winner's bytes, whole."""
    path = store.frame_path(drive, datetime(2026, 3, 10, 9, 0), 1)
    store.make_dirs(path.parent)
    go = threading.Barrier(8)
    won: list[bytes] = []
    refused: list[str] = []

    def write(n: int) -> None:
        data = bytes([n]) * 200_000
        go.wait()
        try:
            store.write_atomic(path, data)
            won.append(data)
        except StoreError as e:
            refused.append(str(e))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 7
    assert all("already exists, not overwritten" in e for e in refused)
    assert path.read_bytes() == won[0]
    no_empty_or_temp_files(drive)


def test_a_name_left_reserved_by_a_write_cut_short_is_freed_at_start(drive):
    """Where there are no hard links a name is reserved (an empty file) before the temp file is
    renamed over it; a kill in between leaves both, and the daemon's start removes both. An empty
    file that no temp file names is someone else's, and stays."""
    proc = subprocess.Popen(["true"])
    proc.wait()  # its pid is gone: the writer of the temp file below was killed
    folder = store.day_folder(drive, datetime(2026, 3, 10))
    store.make_dirs(folder)
    cut = folder / store.frame_name(datetime(2026, 3, 10, 9, 0), 1)
    cut.touch()
    temp = folder / f"{store.TEMP_PREFIX}{proc.pid}-{cut.stem}-k3j_x9q2.png"
    temp.write_bytes(b"a complete frame whose rename never happened")
    others = folder / store.frame_name(datetime(2026, 3, 10, 9, 1), 1)
    others.touch()
    kept = folder / store.frame_name(datetime(2026, 3, 10, 9, 2), 1)
    store.write_atomic(kept, b"a kept frame")
    assert sorted(store.remove_temp_files(drive)) == sorted([temp, cut])
    assert sorted(p.name for p in folder.iterdir()) == [others.name, kept.name]
    assert kept.read_bytes() == b"a kept frame"
