"""The daemon under a wall clock that moves (libfaketime): an NTP step, a clock set back an hour
by hand, a clock that repeats a time (DST's fall-back). Ticks keep their interval, and no frame
is lost or replaced when local time gives a file name again."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from helpers.clock import Clock
from helpers.procs import running, stop
from helpers.xscreen import (
    SIZE,
    frames,
    rows,
    show,
    start_daemon,
    text_screen,
    wait_rows,
    write_config,
)


@pytest.mark.daemon
def test_ticks_keep_their_interval_when_the_wall_clock_steps_back_or_forward(
    xvfb_display, tmp_path
):
    clock = Clock(tmp_path)
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    seen = {}
    with running(start_daemon(xvfb_display, cfg, env=clock.env)) as proc:
        wait_rows(root, 2, proc)
        for offset in ("-1h", "+0"):  # back an hour, then forward again
            n = len(rows(root))
            clock.set(offset)
            time.sleep(4.5)
            seen[offset] = [datetime.fromisoformat(r["taken"]) for r in rows(root)[n:]]
        code, err = stop(proc)
    assert code == 0, err
    for offset, taken in seen.items():
        assert 3 <= len(taken) <= 6, (offset, taken, err)  # one a second: no wait, no burst
    now = datetime.now()
    assert now - timedelta(minutes=62) < seen["-1h"][-1] < now - timedelta(minutes=58), seen
    assert now - timedelta(minutes=1) < seen["+0"][-1] <= now, seen


@pytest.mark.daemon
def test_a_name_local_time_gives_again_keeps_every_frame(xvfb_display, tmp_path):
    clock = Clock(tmp_path)
    clock.set("2026-11-01 01:30:00")  # stands still: every tick gets the same local time
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    with running(start_daemon(xvfb_display, cfg, env=clock.env)) as proc:
        for n in range(3):
            show(xvfb_display, tmp_path, text_screen(n, SIZE))  # a new screen each time
            deadline = time.monotonic() + 20
            while len(frames(root)) <= n and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
        wait_rows(root, len(rows(root)) + 1, proc)
        code, err = stop(proc)
    assert code == 0, err
    stem = "2026-11/2026-11-01/2026-11-01_01.30.00.000000"
    names = [f"{stem}_1.png", f"{stem}_1~1.png", f"{stem}_1~2.png"]
    assert [str(p) for p in frames(root)] == names, err
    assert [r["path"] for r in rows(root) if r["path"]] == names  # kept in the order taken
    assert not [r["error"] for r in rows(root) if r["error"]]
