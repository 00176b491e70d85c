"""The first run: `run --every` tries a short interval with no config file, and the first tick
that finds nothing changed says so once, so that a quiet log does not look like a hang."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import pytest
from helpers.procs import running, stop
from helpers.xscreen import (
    SIZE,
    frames,
    rows,
    screenrecord,
    show,
    start_daemon,
    text_screen,
    wait_rows,
)

UNCHANGED_ONCE = "nothing changed since the last frame: not stored (said only this once"


@pytest.mark.daemon
def test_run_every_without_a_config_file_and_the_first_unchanged_tick_says_so(
    xvfb_display: str, tmp_path: Path, private_home: Path
) -> None:
    """No config file anywhere (HOME is the test's own): `run --every 1s` captures every second
    into the default root; a still screen gives one kept frame, then unchanged ticks, of which
    only the first is logged, at the default verbosity; SIGHUP keeps the interval."""
    root = private_home / "ScreenRecord"
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, None, run=("--every", "1s"))) as proc:
        wait_rows(root, 4, proc)
        proc.send_signal(signal.SIGHUP)  # the file's (the default's) 180 s must not come back
        n = len(rows(root))
        wait_rows(root, n + 3, proc, timeout=10)
        code, err = stop(proc)
    assert code == 0, err
    assert "every 1s" in err and "built-in defaults" in err
    got = rows(root)
    assert [r["decision"] for r in got[:4]] == ["new", "duplicate", "duplicate", "duplicate"]
    taken = [datetime.fromisoformat(r["taken"]) for r in got]
    gaps = [(b - a).total_seconds() for a, b in zip(taken, taken[1:], strict=False)]
    assert max(gaps) < 2.5, gaps  # every second, before and after the reload
    assert len(frames(root)) == 1
    assert err.count(UNCHANGED_ONCE) == 1
    lines = err.splitlines()
    said = next(k for k, line in enumerate(lines) if UNCHANGED_ONCE in line)
    assert "new" in "\n".join(lines[:said])  # after the first frame was kept, not before
    assert "Traceback" not in err


@pytest.mark.parametrize("bad", ["0s", "0.5s", "8d", "soon", "10"])
def test_run_every_out_of_range_or_not_a_duration_is_one_line(bad: str) -> None:
    out = screenrecord("run", "--every", bad)
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert f"--every {bad}: give an interval from 1s to 7d" in line


def test_once_says_the_interval_is_for_run(private_home: Path) -> None:
    out = screenrecord("once", "--every", "10s")
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert "`once` captures one time" in line and "screenrecord run --every 10s" in line
    assert not (private_home / "ScreenRecord").exists()  # nothing captured


def test_run_help_names_every() -> None:
    out = screenrecord("run", "--help")
    assert out.returncode == 0 and "--every INTERVAL" in out.stdout
