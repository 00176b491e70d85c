"""Soak: 1,000 ticks of the real daemon on a changing screen; memory and open files stay flat.

Run by `make soak` (marked slow: ~17 minutes at the shortest interval, 1 s). SOAK_TICKS
changes the number of ticks. Prints a table of RSS, open file descriptors and threads.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from helpers.archive import check_archive
from helpers.procs import running, stop
from helpers.xscreen import SIZE, rows, show, start_daemon, text_screen, wait_rows, write_config

TICKS = int(os.environ.get("SOAK_TICKS", "1000"))
SETTLED = 0.4
"""Compare from 40% of the run: by then the rings are full (100 kept frames per monitor)."""


def sample(pid: int) -> tuple[float, int, int]:
    """(RSS MiB, open file descriptors, threads) of a live process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields["VmRSS"].split()[0]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd")), int(fields["Threads"])


@pytest.mark.slow
@pytest.mark.daemon
def test_soak_rss_and_open_files_stay_flat(xvfb_display, tmp_path):
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc (Linux)")
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    paint = tmp_path / "paint"
    paint.mkdir()
    show(xvfb_display, paint, text_screen(0, SIZE))
    stopped = threading.Event()

    def painter() -> None:  # a new screen every ~2.5 s: about every other tick keeps a frame
        seed = 1
        while not stopped.wait(2.5):
            show(xvfb_display, paint, text_screen(seed, SIZE))
            seed += 1

    thread = threading.Thread(target=painter, daemon=True)
    thread.start()
    samples: dict[int, tuple[float, int, int]] = {}
    marks = sorted(
        {m for m in (10, 100) if m < TICKS} | set(range(TICKS // 10, TICKS + 1, TICKS // 10))
    )
    start = time.monotonic()
    try:
        with running(start_daemon(xvfb_display, cfg)) as proc:
            for mark in marks:
                wait_rows(root, mark, proc, timeout=max(60, 3 * mark))
                samples[mark] = sample(proc.pid)
            code, err = stop(proc)
    finally:
        stopped.set()
        thread.join(30)
    wall = time.monotonic() - start
    assert code == 0, err
    assert "Traceback" not in err
    kept = sum(1 for r in rows(root) if r["path"])
    print(f"\n{TICKS} ticks in {wall:.0f} s, {kept} frames kept, 1 monitor {SIZE[0]}x{SIZE[1]}")
    print("| tick | RSS MiB | open fds | threads |\n|---|---|---|---|")
    for mark, (rss, fds, threads) in samples.items():
        print(f"| {mark} | {rss:.0f} | {fds} | {threads} |")
    settled = min(m for m in samples if m >= SETTLED * TICKS)
    rss0, fds0, threads0 = samples[settled]
    rss1, fds1, threads1 = samples[marks[-1]]
    print(f"RSS {rss0:.0f} -> {rss1:.0f} MiB ({(rss1 / rss0 - 1) * 100:+.1f}%) from tick {settled}")
    # leaks, not speed: a file or thread per tick would show as hundreds here
    assert fds1 <= fds0 + 2, samples
    assert threads1 <= threads0 + 1, samples
    assert rss1 < rss0 * 1.2, samples
    check_archive(root)
