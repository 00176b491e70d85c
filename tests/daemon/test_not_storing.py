"""`status` never says plain "capturing" while the daemon's frames cannot be stored: a real daemon
subprocess whose archive turns read-only under it (a read-only bind mount), then writable again."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from helpers import mounts
from helpers.procs import running, stop
from helpers.xscreen import (
    SIZE,
    rows,
    screenrecord,
    show,
    start_daemon,
    text_screen,
    wait_rows,
    write_config,
)

NOT_STORING = re.compile(
    r"screenrecord: capturing, but not storing: "
    r"the last (tick|\d+ ticks) could not write \(Read-only file system\)"
)


def headline(cfg: Path, home: Path) -> str:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env.pop("DISPLAY", None)
    r = screenrecord("status", "--config", str(cfg), env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[0]


def wait_headline(cfg: Path, home: Path, pattern: re.Pattern, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    line = headline(cfg, home)
    while not pattern.fullmatch(line) and time.monotonic() < deadline:
        time.sleep(0.5)
        line = headline(cfg, home)
    return line


@pytest.mark.daemon
def test_status_says_not_storing_while_the_archive_is_read_only(xvfb_display, tmp_path):
    """Before, `capturing, last frame 1 s ago` while every tick failed to write."""
    root = tmp_path / "archive"
    home = tmp_path / "home"
    home.mkdir()
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, cfg, env={"HOME": str(home)})) as proc:
        wait_rows(root, 1, proc)
        assert headline(cfg, home).startswith("screenrecord: capturing, last frame ")
        with mounts.read_only(root):
            show(xvfb_display, tmp_path, text_screen(2, SIZE))  # a frame to keep, unwritable
            line = wait_headline(cfg, home, NOT_STORING)
            assert NOT_STORING.fullmatch(line), line
            time.sleep(2.5)  # more ticks fail: still said, with their count
            line = headline(cfg, home)
            assert NOT_STORING.fullmatch(line), line
            assert re.search(r"the last \d+ ticks", line), line
        kept = re.compile(r"screenrecord: capturing, last frame \d+ s ago.*")
        line = wait_headline(cfg, home, kept)  # writable again: the screen is stored
        assert kept.fullmatch(line), line
        assert len([r for r in rows(root) if r["path"]]) == 2
        code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err
