"""Bad files in the archive (corrupt images, symlinks, odd names and paths): handled, never a crash."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
from helpers.frames import bomb_png
from helpers.xscreen import SIZE, T0, frames, recorder, rows, show, text_screen
from PIL import Image

from screenrecord.archive import store
from screenrecord.cli import main
from screenrecord.review import highlights


def plant_bad_files(folder: Path, taken, monitor: int, screen: Image.Image) -> dict[str, str]:
    """Every kind of bad or unusual image, named as frames of `monitor`; name -> kind."""
    store.make_dirs(folder)
    kinds = {}

    def put(kind: str, data: bytes | None = None, image: Image.Image | None = None) -> None:
        taken_k = taken + timedelta(seconds=len(kinds) + 1)
        name = store.frame_name(taken_k, monitor)
        if image is not None:
            image.save(folder / name)
        else:
            (folder / name).write_bytes(data)
        kinds[name] = kind

    good = store.encode(screen, "png", 1)
    put("truncated", good[: len(good) // 2])
    put("zero bytes", b"")
    put("not an image", b"#!/bin/sh\necho this is a script\n")
    put("bomb", bomb_png(100_000, 100_000))
    put("warning-size bomb", bomb_png(10_000, 10_000))
    gray = np.asarray(screen.convert("L"))
    put("16-bit", image=Image.fromarray(gray.astype(np.uint16) * 257))
    put("palette", image=screen.convert("P", palette=Image.Palette.ADAPTIVE))
    put("grayscale", image=screen.convert("L"))
    put("rgba", image=screen.convert("RGBA"))
    return kinds


def test_ring_warm_up_skips_broken_files_and_reads_odd_modes(xvfb_display, tmp_path, caplog):
    root = tmp_path / "archive"
    screen = text_screen(3, SIZE)
    day = store.day_folder(root, T0 - timedelta(days=1))
    kinds = plant_bad_files(day, T0 - timedelta(days=1), 1, screen)
    show(xvfb_display, tmp_path, screen)
    caplog.set_level(logging.WARNING)
    r = recorder(tmp_path, xvfb_display)
    try:
        o = r.tick(T0)[0]
    finally:
        r.close()
    # the RGBA copy of this very screen was read into the ring: the tick is a duplicate of it
    rgba = next(n for n, k in kinds.items() if k == "rgba")
    assert (o.decision, o.score, o.path) == ("duplicate", 1.0, None), o
    assert Path(o.match).name == rgba
    skipped = {n for n in kinds if f"{n}: skipped while refilling the ring" in caplog.text}
    broken = {n for n, k in kinds.items() if k in ("truncated", "zero bytes", "not an image")}
    assert broken <= skipped, caplog.text
    for n in kinds:  # nothing was moved, changed or removed
        assert (day / n).exists()


def test_highlights_reports_each_broken_file_and_goes_on(tmp_path, caplog, capsys):
    root = tmp_path / "archive"
    t0 = T0
    for k in range(4):
        im = text_screen(20 + k, (320, 200))
        store.write_atomic(
            store.frame_path(root, t0 + timedelta(minutes=15 * k), 1), store.encode(im)
        )
    kinds = plant_bad_files(
        store.day_folder(root, t0), t0 + timedelta(hours=2), 1, text_screen(30, (320, 200))
    )
    caplog.set_level(logging.WARNING)
    picks = highlights.find([root], n=20)
    names = {p.path.name for p in picks}
    broken = {n for n, k in kinds.items() if k not in ("16-bit", "palette", "grayscale", "rgba")}
    assert not names & broken
    for n in broken:
        assert f"{n}: cannot read" in caplog.text, (n, caplog.text)
    assert len(picks) >= 4
    for n in set(kinds) - broken:  # odd modes are read, not reported
        assert f"{n}: cannot read" not in caplog.text
    sixteen = next(n for n, k in kinds.items() if k == "16-bit")
    gray = next(n for n, k in kinds.items() if k == "grayscale")
    folder = store.day_folder(root, t0)
    # 16-bit is read as its high byte: the same thumbnail as the 8-bit grayscale of the screen
    assert (
        np.abs(
            highlights.thumbnail(folder / sixteen).astype(int) - highlights.thumbnail(folder / gray)
        ).max()
        <= 1
    )
    assert main(["highlights", str(root), "--json"]) == 0
    capsys.readouterr()


def test_symlinks_are_never_followed_out_of_the_archive(xvfb_display, tmp_path):
    root = tmp_path / "archive"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    screen = text_screen(4, SIZE)
    # an old frame outside the archive, linked in as a frame and as a whole day folder
    store.write_atomic(outside / store.frame_name(T0 - timedelta(days=3), 1), store.encode(screen))
    day = store.day_folder(root, T0 - timedelta(days=2))
    store.make_dirs(day)
    os.symlink(
        outside / store.frame_name(T0 - timedelta(days=3), 1),
        day / store.frame_name(T0 - timedelta(days=2), 1),
    )
    linked_day = store.day_folder(root, T0 - timedelta(days=1))
    os.symlink(outside, linked_day)
    # today's day folder is a link out of the archive: the daemon must not write through it
    today = store.day_folder(root, T0)
    os.symlink(outside, today)
    before = sorted(os.listdir(outside))
    show(xvfb_display, tmp_path, screen)
    r = recorder(tmp_path, xvfb_display)
    try:
        o = r.tick(T0)[0]
    finally:
        r.close()
    # the linked frames were not read into the ring, so the screen is new; it is not written
    # through the link, and the failure is recorded
    assert o.decision == "new" and o.path is None
    assert "symbolic link leads out of the archive" in o.error
    assert sorted(os.listdir(outside)) == before
    assert rows(root)[-1]["error"] == o.error
    # highlights and report see no frame behind a link either
    assert highlights.sources([root]) == []
    # dedup moves a real repeat, but neither a linked file nor anything behind a linked folder
    real = store.frame_path(root, T0 - timedelta(days=2, hours=1), 1)
    store.write_atomic(real, store.encode(screen))
    repeat = store.frame_path(root, T0 - timedelta(days=2, minutes=30), 1)
    store.write_atomic(repeat, store.encode(screen))
    assert main(["dedup", "--apply", str(root)]) == 0
    assert (repeat.parent / "dedup" / repeat.name).exists() and real.exists()
    assert (day / store.frame_name(T0 - timedelta(days=2), 1)).is_symlink()
    assert sorted(os.listdir(outside)) == before


def test_paths_with_spaces_and_non_ascii(xvfb_display, tmp_path, capsys):
    base = tmp_path / "Mes captures d'écran" / "屏幕 录像"
    base.mkdir(parents=True)
    root = base / "archive"  # recorder() puts it there
    screen = text_screen(8, SIZE)
    show(xvfb_display, tmp_path, screen)
    r = recorder(base, xvfb_display)  # the config file lives in `base` too
    try:
        assert r.tick(T0)[0].decision == "new"
        show(xvfb_display, tmp_path, text_screen(9, SIZE))
        assert r.tick(T0 + timedelta(minutes=3))[0].decision == "new"
    finally:
        r.close()
    assert len(frames(root)) == 2
    assert main(["highlights", str(root), "--json"]) == 0
    assert main(["report", str(root), "--json"]) == 0
    assert main(["dedup", str(root)]) == 0
    assert main(["why", str(root / frames(root)[0])]) == 0
    out = capsys.readouterr().out
    assert "2 frames" in out and str(root) in out
