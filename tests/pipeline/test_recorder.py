"""One tick at a time, in process, with the time passed in: warm-up, near_action, keep_at_least_every."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pytest
from helpers.xscreen import (
    SIZE,
    T0,
    frames,
    recorder,
    rows,
    screenrecord,
    show,
    text_screen,
    write_config,
)

from screenrecord.archive import store


def test_keep_at_least_every_leaves_a_dated_trace_of_a_still_screen(xvfb_display, tmp_path):
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    r = recorder(tmp_path, xvfb_display, keep_at_least_every='"1h"')
    try:
        decisions = [r.tick(T0 + timedelta(minutes=m))[0] for m in (0, 30, 59, 61, 90, 122)]
    finally:
        r.close()
    assert [(o.decision, o.path is not None, o.heartbeat) for o in decisions] == [
        ("new", True, False),
        ("duplicate", False, False),
        ("duplicate", False, False),
        ("duplicate", True, True),
        ("duplicate", False, False),
        ("duplicate", True, True),
    ]
    assert [p.name for p in frames(tmp_path / "archive")] == [
        "2026-03-10_09.00.00.000000_1.png",
        "2026-03-10_10.01.00.000000_1.png",
        "2026-03-10_11.02.00.000000_1.png",
    ]


def test_near_action_drop_writes_nothing_for_a_near_duplicate(xvfb_display, tmp_path):
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    r = recorder(tmp_path, xvfb_display, dedup__near_action='"drop"')
    try:
        assert r.tick(T0)[0].decision == "new"
        show(xvfb_display, tmp_path, text_screen(1, SIZE, (10, 10, 300, 150)))
        o = r.tick(T0 + timedelta(minutes=3))[0]
    finally:
        r.close()
    assert o.decision == "near" and o.path is None and 0.95 <= o.score <= 0.99
    assert len(frames(tmp_path / "archive")) == 1
    assert [row["decision"] for row in rows(tmp_path / "archive")] == ["new", "near"]


def test_warm_up_reads_an_archive_of_the_original_cron_script(xvfb_display, tmp_path):
    """Frames already on disk (no catalog yet, other monitors, similar/, junk) refill the ring."""
    root = tmp_path / "archive"
    screen = text_screen(5, SIZE)
    old = store.frame_path(root, T0 - timedelta(days=40), 1)
    store.make_dirs(old.parent)
    screen.save(old)
    other = store.frame_path(root, T0 - timedelta(days=1), 1)
    store.make_dirs(other.parent / "similar")
    text_screen(6, SIZE).save(other)
    text_screen(7, (640, 480)).save(
        other.parent / "similar" / store.frame_name(T0, 1)
    )  # other size
    (other.parent / "2026-03-09_08.00.00_1.png").write_bytes(b"not a png")
    (other.parent / "notes.txt").write_text("x")
    show(xvfb_display, tmp_path, screen)
    r = recorder(tmp_path, xvfb_display)
    try:
        o = r.tick(T0)[0]
    finally:
        r.close()
    assert (o.decision, o.score, o.path) == ("duplicate", 1.0, None)
    assert o.match == old.relative_to(root).as_posix()


def test_once_and_why(xvfb_display, tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DISPLAY": xvfb_display}

    def run(*args):
        return screenrecord(*args, env=env)

    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    first = run("once", "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("monitor 1 1280x800: new, score -, ")
    kept = frames(tmp_path / "archive")
    assert len(kept) == 1 and first.stdout.strip().endswith(str(tmp_path / "archive" / kept[0]))
    second = run("once", "--config", str(cfg))
    assert second.stdout.startswith("monitor 1 1280x800: duplicate, score 1.0000, not written")

    path = tmp_path / "archive" / kept[0]
    why = run("why", str(path))  # the catalog is found next to the file, no config needed
    assert why.returncode == 0, why.stderr
    assert "decision  new: nothing kept yet to compare with" in why.stdout
    assert (
        f"written   {path}" in why.stdout and "stands for 1 later duplicate frame(s)" in why.stdout
    )
    skipped = [r for r in rows(tmp_path / "archive") if r["decision"] == "duplicate"][0]
    name = datetime.fromisoformat(skipped["taken"]).strftime("%Y-%m-%d_%H.%M.%S.%f") + "_1"
    why = run("why", name, "--config", str(cfg))
    assert why.returncode == 0, why.stderr
    assert (
        f"duplicate: score 1.0000 against {kept[0].as_posix()}, which stands for it" in why.stdout
    )
    stray = tmp_path / "archive" / "elsewhere.png"
    shutil.copy(path, stray)
    why = run("why", str(stray))
    assert why.returncode == 1 and "not in the catalog" in why.stderr
    why = run("why", "nonsense", "--config", str(cfg))
    assert why.returncode == 2 and "not a frame name" in why.stderr


@pytest.mark.daemon
@pytest.mark.display
def test_display_gone_and_back(tmp_path):
    """The X server dies mid-run: the daemon logs once, keeps retrying and resumes by itself."""
    import signal
    import time

    from helpers import xserver
    from helpers.procs import running, stop
    from helpers.xscreen import start_daemon, wait_rows

    x = xserver.start((640, 480))
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    try:
        show(x.display, tmp_path, text_screen(1, (640, 480)))
        with running(start_daemon(x.display, cfg)) as proc:
            wait_rows(root, 1, proc)
            x.stop()
            time.sleep(3)
            assert proc.poll() is None
            # Held still while the server comes back, so that it first sees the painted screen,
            # not the new server's empty one.
            proc.send_signal(signal.SIGSTOP)
            x = xserver.start((640, 480), display=x.display)
            show(x.display, tmp_path, text_screen(2, (640, 480)))
            proc.send_signal(signal.SIGCONT)
            wait_rows(root, len(rows(root)) + 2, proc, timeout=30)
            code, err = stop(proc)
    finally:
        x.stop()
    assert code == 0, err
    assert err.count("cannot capture") == 1 and "capturing again after" in err
    assert len(frames(root)) == 2
