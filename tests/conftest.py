"""Shared fixtures: real X displays (Xvfb, and multi-monitor Xorg via multihead-x)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MULTIHEAD_X = REPO.parent / "shared/tools/multihead-x"
if not MULTIHEAD_X.exists():
    MULTIHEAD_X = Path("/work/shared/tools/multihead-x")

MULTIHEAD_GEOMETRY = ("640x480", "800x600")
"""Two monitors of different sizes, small so that each decision stays cheap."""


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A real Xvfb server (1280x800x24); yields its DISPLAY string, e.g. ":57".

    -noreset: without it Xvfb resets (dropping the root window's picture) whenever its last
    client disconnects, and the daemon connects once per tick.
    """
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed (Debian package xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            pytest.fail(f"Xvfb exited with {proc.wait(5)} before reporting a display")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_display_numbers() -> Iterator[int]:
    start = 200 + (os.getpid() * 7) % 600
    for n in range(start, start + 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            yield n


@pytest.fixture
def multihead_display() -> Iterator[str]:
    """Xorg with the dummy driver showing two monitors, 640x480 and 800x600 side by side."""
    if not MULTIHEAD_X.exists():
        pytest.skip(f"{MULTIHEAD_X} absent (plain clone without ../shared)")
    if (
        not Path("/usr/lib/xorg/modules/drivers/dummy_drv.so").exists()
        or shutil.which("xrandr") is None
    ):
        pytest.skip(
            "needs Debian packages xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils"
        )
    errors = []
    for attempt, n in enumerate(_free_display_numbers()):
        if attempt == 5:
            break
        display = f":{n}"
        # Another test run may take the same number between our check and Xorg's lock: retry.
        r = subprocess.run(
            [str(MULTIHEAD_X), display, *MULTIHEAD_GEOMETRY],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if r.returncode == 0:
            break
        errors.append(r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"])
    else:
        pytest.fail(f"multihead-x found no free display: {errors}")
    if r.returncode != 0:
        pytest.fail(f"multihead-x could not start: {errors}")
    try:
        yield display
    finally:
        subprocess.run([str(MULTIHEAD_X), "--stop", display], capture_output=True, timeout=60)
        time.sleep(0.1)
