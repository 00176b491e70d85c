"""The daemon as a real subprocess against a real two-monitor X display."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from helpers.archive import check_archive
from helpers.procs import running, stop
from helpers.system import unavailable
from helpers.xscreen import (
    frames,
    leftovers,
    rows,
    screenrecord,
    show,
    start_daemon,
    text_screen,
    wait_rows,
    wait_ticks,
    write_config,
)

M1, M2 = (640, 480), (800, 600)
NEAR_EDIT = (10, 10, 120, 90)  # ~0.97 on 640x480: a near-duplicate
TINY_EDIT = (10, 10, 40, 30)  # ~0.998: a duplicate


@pytest.mark.daemon
def test_writes_exactly_the_frames_that_differ(multihead_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    a, b = text_screen(1, M1), text_screen(2, M2)
    show(multihead_display, tmp_path, a, b)
    with running(start_daemon(multihead_display, cfg)) as proc:
        first = wait_rows(root, 2, proc)
        assert sorted((r["monitor"], r["width"], r["height"], r["decision"]) for r in first) == [
            (1, 640, 480, "new"),
            (2, 800, 600, "new"),
        ]
        # A still screen: duplicates only, nothing written.
        still = wait_ticks(root, 2, 2, proc)
        assert [r["decision"] for r in still[2:]] == ["duplicate"] * (len(still) - 2)
        assert len(frames(root)) == 2
        # Monitor 1 changes completely, monitor 2 stays: one new frame, for monitor 1.
        show(multihead_display, tmp_path, text_screen(3, M1), b)
        wait_ticks(root, 2, 2, proc)
        # A small change on monitor 2 is a duplicate; a bigger one a near-duplicate in similar/.
        show(multihead_display, tmp_path, text_screen(3, M1), text_screen(2, M2, TINY_EDIT))
        wait_ticks(root, 2, 2, proc)
        show(multihead_display, tmp_path, text_screen(3, M1), text_screen(2, M2, NEAR_EDIT))
        wait_ticks(root, 2, 2, proc)
        code, err = stop(proc)
    assert code == 0, err
    kept = [(r["monitor"], r["decision"]) for r in rows(root) if r["path"]]
    assert kept == [(1, "new"), (2, "new"), (1, "new"), (2, "near")]
    written = [p for p in frames(root)]
    assert [p.name.endswith("_1.png") for p in written].count(True) == 2
    assert sum(1 for p in written if p.parent.name == "similar") == 1
    check_archive(root)
    # Every decision is recorded: the duplicates name the kept frame that stands for them.
    dups = [r for r in rows(root) if r["decision"] == "duplicate"]
    assert dups and all(
        r["match"] and (root / r["match"]).exists() and r["path"] is None for r in dups
    )
    # Unchanged ticks say nothing at the default level; kept frames one line per tick.
    info = [line for line in err.splitlines() if "INFO: monitor" in line]
    assert len(info) == 3, err

    # Restart on the same screen: the rings are refilled from disk, so nothing is written again.
    before = frames(root)
    n = len(rows(root))
    with running(start_daemon(multihead_display, cfg)) as proc:
        after = wait_rows(root, n + 4, proc)
        code, err = stop(proc)
    assert code == 0, err
    assert frames(root) == before
    assert {r["decision"] for r in after[n:]} == {"duplicate"}
    check_archive(root)


@pytest.mark.daemon
def test_sigterm_and_sigint_finish_the_tick_and_exit_0(multihead_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root, dedup__near_action='"keep"')
    for n, sig in enumerate([signal.SIGTERM, signal.SIGINT, signal.SIGTERM]):
        show(multihead_display, tmp_path, text_screen(10 + n, M1), text_screen(20 + n, M2))
        with running(start_daemon(multihead_display, cfg)) as proc:
            wait_rows(root, 2 * (n + 1), proc)
            # Change the screen so that the next tick writes, and stop while it may be running.
            show(multihead_display, tmp_path, text_screen(30 + n, M1), text_screen(40 + n, M2))
            code, err = stop(proc, sig)
        assert code == 0, err
        assert "Traceback" not in err
        check_archive(root)


@pytest.mark.daemon
def test_sighup_reloads_a_good_config_and_keeps_the_old_on_a_bad_one(multihead_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(multihead_display, tmp_path, text_screen(1, M1), text_screen(2, M2))
    with running(start_daemon(multihead_display, cfg)) as proc:
        wait_rows(root, 2, proc)
        cfg.write_text(cfg.read_text() + "interval_seconds = -1\n")  # duplicate key: bad TOML
        proc.send_signal(signal.SIGHUP)
        wait_ticks(root, 2, 2, proc)  # still ticking on the old config
        write_config(cfg, root, storage__format='"webp"')
        proc.send_signal(signal.SIGHUP)
        wait_ticks(root, 1, 2, proc)
        show(multihead_display, tmp_path, text_screen(3, M1), text_screen(2, M2))
        wait_ticks(root, 2, 2, proc)
        code, err = stop(proc)
    assert code == 0, err
    assert "config not reloaded, keeping the old one" in err and "c.toml" in err
    assert "config reloaded from" in err
    names = [p.name for p in frames(root)]
    assert sorted(n.rsplit(".", 1)[1] for n in names) == ["png", "png", "webp"]
    assert any(n.endswith("_1.webp") for n in names)
    check_archive(root)


def _mount_tmpfs(path: Path, size: str) -> None:
    import subprocess

    path.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        unavailable(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}): needs root")


def _fill(path: Path) -> Path:
    """Write a file until the disk is full."""
    import errno
    import os

    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                os.write(fd, b"\0" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    finally:
        os.close(fd)
    return filler


@pytest.mark.daemon
def test_full_disk_skips_the_frame_keeps_running_and_recovers(xvfb_display, tmp_path):
    import subprocess
    import time

    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "2m")
    try:
        root = disk / "archive"
        cfg = write_config(tmp_path / "c.toml", root)
        size = (1280, 800)
        show(xvfb_display, tmp_path, text_screen(1, size))
        with running(start_daemon(xvfb_display, cfg)) as proc:
            wait_rows(root, 1, proc)
            filler = _fill(disk)
            show(xvfb_display, tmp_path, text_screen(2, size))
            time.sleep(3)  # ticks on a full disk; the catalog may not be able to record them
            assert proc.poll() is None, "the daemon must keep running on a full disk"
            assert len(frames(root)) == 1
            assert not leftovers(root)
            filler.unlink()
            n = len(rows(root))
            wait_rows(root, n + 2, proc)
            code, err = stop(proc)
        assert code == 0, err
        assert "frame not written" in err and "No space left on device" in err
        assert "Traceback" not in err
        # Space is back: the frame that could not be written is new again and is kept now.
        kept = [r for r in rows(root) if r["path"]]
        assert len(kept) == 2 and len(frames(root)) == 2
        check_archive(root)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.daemon
def test_no_display_is_a_clear_error_with_exit_2(tmp_path):
    import subprocess
    import sys

    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    cases = [
        ({}, "no display: DISPLAY is not set"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "Wayland session (wayland-0) of an unknown desktop"),
        ({"DISPLAY": ":1999"}, "cannot open display ':1999'"),
    ]
    for env, message in cases:
        for command in ("run", "once"):
            proc = start_daemon(None, cfg, env=env) if command == "run" else None
            if proc is None:
                import os

                e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
                proc = subprocess.Popen(
                    [sys.executable, "-m", "screenrecord", "once", "--config", str(cfg)],
                    env={**e, **env},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            with running(proc):
                _, err = proc.communicate(timeout=60)
            assert proc.returncode == 2, (command, env, err)
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and message in lines[0], (command, env, err)
    assert not (tmp_path / "archive").exists() or not frames(tmp_path / "archive")


@pytest.mark.daemon
def test_a_second_recorder_on_the_same_archive_is_refused(xvfb_display, tmp_path):
    """While `run` records into an archive, `run` or `once` on it again exits 1 naming the
    holder, and touches nothing; once the first stops, the archive is free again."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = xvfb_display
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(root, 1, proc)
        before = sorted(p.relative_to(root) for p in root.rglob("*"))
        for command in ("once", "run"):
            second = screenrecord(command, "--config", str(cfg), env=env)
            assert second.returncode == 1, second.stderr
            assert "already recording into this archive" in second.stderr
            assert f"pid {proc.pid}" in second.stderr
            assert "Traceback" not in second.stderr
        assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
        code, err = stop(proc)
    assert code == 0, err
    again = screenrecord("once", "--config", str(cfg), env=env)
    assert again.returncode == 0, again.stderr
