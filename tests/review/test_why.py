"""`why` tells the truth about new frames and about paths that are not there (issue 26, item 7),
on a catalog the real pipeline built from frames grabbed on Xvfb."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from helpers.xscreen import SIZE, T0, recorder, rows, screenrecord, show, text_screen
from PIL import Image

from screenrecord.engine.compare import compare_files


def test_why_a_new_frame_names_its_best_match_and_score(xvfb_display, tmp_path):
    """Before, every new frame read "nothing kept yet to compare with" and its row had no score,
    though the ring held the frames kept before it."""
    root = tmp_path / "archive"
    r = recorder(tmp_path, xvfb_display)
    try:
        for i in range(4):
            show(xvfb_display, tmp_path, text_screen(i, SIZE))
            assert r.tick(T0 + timedelta(minutes=i))[0].decision == "new"
    finally:
        r.close()
    got = rows(root)
    assert [x["decision"] for x in got] == ["new"] * 4
    assert got[0]["score"] is None and got[0]["match"] is None  # nothing kept yet: true
    last = got[-1]
    assert last["score"] is not None and last["match"] is not None
    # the best score of the ring, exactly as `compare` scores the two files
    scores = {x["path"]: compare_files(root / last["path"], root / x["path"]) for x in got[:-1]}
    assert abs(scores[last["match"]] - last["score"]) < 1e-6
    assert last["score"] == max(last["score"], *scores.values())
    assert last["score"] < 0.95

    env = {**os.environ, "HOME": str(tmp_path)}
    why = screenrecord(
        "why", str(root / last["path"]), "--config", str(tmp_path / "c.toml"), env=env
    )
    assert why.returncode == 0, why.stderr
    assert (
        f"decision  new: best match {last['match']} scored {last['score']:.4f} (below near 0.95)"
        in why.stdout
    ), why.stdout
    first = screenrecord("why", str(root / got[0]["path"]), env=env)
    assert "decision  new: nothing kept yet to compare with" in first.stdout, first.stdout


def test_why_on_a_path_that_is_not_there_says_so(xvfb_display, tmp_path):
    """Before, a missing file was read as a frame time, and the answer was about another frame
    of the configured archive."""
    root = tmp_path / "archive"
    r = recorder(tmp_path, xvfb_display)
    try:
        show(xvfb_display, tmp_path, text_screen(1, SIZE))
        r.tick(T0)
    finally:
        r.close()
    (kept,) = [Path(x["path"]) for x in rows(root)]
    cfg = str(tmp_path / "c.toml")
    env = {**os.environ, "HOME": str(tmp_path)}
    elsewhere = tmp_path / "nowhere" / kept.name  # the same name, not in any archive
    beside = root / kept.parent / kept.name.replace("_1.", "_2.")  # in the archive, never written
    for path in (elsewhere, beside):
        why = screenrecord("why", str(path), "--config", cfg, env=env)
        assert why.returncode != 0
        assert why.stdout == ""
        assert why.stderr.strip().count("\n") == 0 and "Traceback" not in why.stderr
        assert f"{path}: no such file" in why.stderr, why.stderr
    # a frame's name alone is still a time to look up
    name = screenrecord("why", kept.name, "--config", cfg, env=env)
    assert name.returncode == 0 and f"written   {root / kept}" in name.stdout, name.stdout


def test_why_a_duplicate_kept_for_a_typed_line_says_what_changed(xvfb_display, tmp_path):
    """A line typed into a terminal scores as a duplicate; it is kept (near) and `why` says
    so, with the region that changed, from the catalog the recorder wrote."""
    import numpy as np
    from helpers.frames import typed, typed_box

    terminal = np.full((SIZE[1], SIZE[0], 3), (30, 30, 40), np.uint8)
    for n in range(12):
        terminal = typed(
            terminal, f"$ ls -la /var/log/{n:02d} && tail -n 3 syslog", 10, 10 + 14 * n
        )
    line = "$ echo hello world; ls -la /tmp; date; uptime"
    after = typed(terminal, line, 10, 10 + 14 * 12)
    root = tmp_path / "archive"
    r = recorder(tmp_path, xvfb_display)
    try:
        for i, screen in enumerate((terminal, after)):
            show(xvfb_display, tmp_path, Image.fromarray(screen))
            r.tick(T0 + timedelta(minutes=i))
    finally:
        r.close()
    first, kept = rows(root)
    assert (first["decision"], kept["decision"]) == ("new", "near")
    assert kept["score"] > 0.99 and "/similar/" in kept["path"]
    ((x, y, w, h),) = json.loads(kept["regions"])
    left, top, right, bottom = typed_box(line, 10, 10 + 14 * 12)
    assert x <= left and y <= top and x + w >= right and y + h >= bottom
    env = {**os.environ, "HOME": str(tmp_path)}
    why = screenrecord(
        "why", str(root / kept["path"]), "--config", str(tmp_path / "c.toml"), env=env
    )
    assert why.returncode == 0, why.stderr
    want = (
        f"decision  near-duplicate: duplicate by score {kept['score']:.4f}; kept: 1 region "
        f"{w}x{h} at {x},{y} changed against {first['path']}"
    )
    assert want in why.stdout, why.stdout
