"""`screenrecord pause` / `resume`: the pause file, the CLI, and the running daemon honouring it."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timedelta

import pytest
from helpers.mounts import read_only
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
    write_config,
)

from screenrecord.archive import pause


def cli(cfg, *args: str) -> subprocess.CompletedProcess:
    return screenrecord(*args, "--config", str(cfg))


def test_state_reads_the_pause_file(tmp_path):
    t0 = datetime(2026, 3, 10, 12, 0).astimezone()
    assert pause.state(tmp_path, t0) == (False, None)
    until = pause.pause(tmp_path, timedelta(minutes=30), now=t0)
    assert until == t0 + timedelta(minutes=30)
    assert pause.state(tmp_path, t0) == (True, until)
    assert pause.state(tmp_path, t0 + timedelta(minutes=29)) == (True, until)
    assert pause.state(tmp_path, t0 + timedelta(minutes=30)) == (False, None)  # over by itself
    assert pause.pause(tmp_path, None) is None
    assert pause.state(tmp_path, t0 + timedelta(days=400)) == (True, None)
    assert pause.describe(True, None) == "paused"
    assert pause.describe(True, until) == f"paused until {until:%Y-%m-%d %H:%M:%S}"
    assert pause.describe(False, None) == "capturing"
    assert (tmp_path / pause.FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert pause.resume(tmp_path) is True
    assert pause.resume(tmp_path) is False
    # a damaged file errs on the side of privacy
    (tmp_path / pause.FILE_NAME).write_text("tomorrow-ish\n")
    assert pause.state(tmp_path) == (True, None)


def test_cli_usage(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    for bad in ("0m", "soon", "99999d", "off"):
        r = cli(cfg, "pause", bad)
        assert r.returncode == 2, (bad, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pause {bad}: give a duration" in lines[0]
    assert not (tmp_path / "archive" / pause.FILE_NAME).exists()
    r = cli(cfg, "pause", "90m")
    assert r.returncode == 0 and "paused until" in r.stdout
    paused, until = pause.state(tmp_path / "archive")
    assert paused and timedelta(minutes=89) < until - datetime.now().astimezone() <= timedelta(
        minutes=90
    )
    r = cli(cfg, "once")  # no display needed: a paused recorder takes no screenshot at all
    assert r.returncode == 0 and "paused until" in r.stdout and "nothing captured" in r.stdout
    resumed = cli(cfg, "resume").stdout  # no daemon runs: it cannot be capturing again
    assert f"no recorder is running on {tmp_path / 'archive'}" in resumed
    assert "was not paused" in cli(cfg, "resume").stdout


@pytest.mark.daemon
def test_running_daemon_honours_pause_and_resume(xvfb_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    assert cli(cfg, "pause").returncode == 0  # paused before the daemon starts
    with running(start_daemon(xvfb_display, cfg)) as proc:
        time.sleep(3)  # at least two ticks' worth
        assert proc.poll() is None
        assert rows(root) == [] and frames(root) == []
        assert cli(cfg, "resume").returncode == 0
        first = wait_rows(root, 1, proc)
        assert first[0]["decision"] == "new"

        r = cli(cfg, "pause", "3s")
        assert r.returncode == 0, r.stderr
        _, until = pause.state(root)
        time.sleep(1.2)  # a tick that had already begun may still finish
        n = len(rows(root))
        show(xvfb_display, tmp_path, text_screen(2, SIZE))
        after = wait_rows(root, n + 1, proc, timeout=15)
        resumed = datetime.fromisoformat(after[n]["taken"]).astimezone()
        assert resumed >= until - timedelta(seconds=0.01), (resumed, until)
        assert after[n]["decision"] == "new" and after[n]["path"]
        code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
    assert err.count("pause over: capturing again") == 2, err
    assert "INFO: paused: no screenshots" in err and "INFO: paused until" in err
    assert len(frames(root)) == 2


def test_pause_file_mode_with_a_loose_umask(tmp_path):
    old = os.umask(0)
    try:
        pause.pause(tmp_path / "new-root", None)
    finally:
        os.umask(old)
    assert (tmp_path / "new-root").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new-root" / pause.FILE_NAME).stat().st_mode & 0o777 == 0o600


def test_pause_and_resume_on_a_read_only_root_say_one_line(tmp_path):
    """A read-only root (a real read-only bind mount): `pause` cannot write its file and says
    so in one line; `resume` with no pause file says it was not paused, not that it cannot
    remove it."""
    root = tmp_path / "archive"
    root.mkdir()
    cfg = write_config(tmp_path / "c.toml", root)
    with read_only(root):
        paused = cli(cfg, "pause", "30m")
        resumed = cli(cfg, "resume")
    assert paused.returncode == 1, paused.stderr
    (line,) = paused.stderr.strip().splitlines()
    assert str(root / pause.FILE_NAME) in line and "Read-only file system" in line
    assert resumed.returncode == 0, resumed.stderr
    assert "was not paused" in resumed.stdout and resumed.stderr == ""
    assert not (root / pause.FILE_NAME).exists()
    pause.pause(root, None)
    with read_only(root):
        stuck = cli(cfg, "resume")
    assert stuck.returncode == 1 and "Traceback" not in stuck.stderr
    (line,) = stuck.stderr.strip().splitlines()
    assert "cannot remove (Read-only file system); make the archive root writable" in line
    assert pause.state(root) == (True, None)  # still paused, as it says


def test_pause_for_longer_than_a_date_can_hold_is_a_usage_error(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    r = cli(cfg, "pause", "99999999999d")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert "pause 99999999999d: give a duration" in line
