"""The one way tests start a real X server: Xvfb for one monitor, Xorg with the dummy driver for more.

Xvfb has a single RandR output, so a display that python-mss sees as several monitors needs Xorg
with xf86-video-dummy, which `multihead-x` (the project's script beside this file) sets up.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import pytest

from helpers.procs import stop
from helpers.system import claim, require

MULTIHEAD_X = Path(__file__).resolve().parent / "multihead-x"


class XServer:
    """A running X server; `stop()` (or leaving a `with` block) ends it, once."""

    def __init__(self, display: str, end: Callable[[], None], pid: int | None = None) -> None:
        self.display = display
        self.pid = pid
        """The server's process, where it is our child (Xvfb): a test may stop it (SIGSTOP)."""
        self._end: Callable[[], None] | None = end

    def stop(self) -> None:
        if self._end is not None:
            end, self._end = self._end, None
            end()

    def __enter__(self) -> XServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(*monitors: tuple[int, int], display: str | None = None) -> XServer:
    """An X server showing `monitors` (width, height) side by side, top-aligned.

    `display` (":N") asks for that display number, to bring a server back where one was; without
    it a free number is picked.
    """
    claim("display", "an X server")
    if len(monitors) == 1:
        return _xvfb(monitors[0], display)
    return _multihead(monitors, display)


def _xvfb(size: tuple[int, int], display: str | None) -> XServer:
    require("xvfb", "Xvfb")
    candidates = _candidates(display)
    errors = []
    for candidate in candidates:
        proc, ready = _start_xvfb(size, candidate)
        if ready:
            return XServer(candidate, lambda p=proc: stop(p, timeout=10), proc.pid)
        code, _ = stop(proc)
        errors.append(code)
    pytest.fail(f"Xvfb could not start on {candidates}: exit statuses {errors}")


def _start_xvfb(size: tuple[int, int], display: str) -> tuple[subprocess.Popen, bool]:
    """Xvfb on `display`, and whether it is ready (it writes its number to -displayfd then).

    -noreset: without it Xvfb resets (dropping the root window's picture) whenever its last
    client disconnects, and the daemon connects once per tick.
    """
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            display,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{size[0]}x{size[1]}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        return proc, bool(f.readline().strip())


def _candidates(display: str | None) -> list[str]:
    """`display`, or five free display numbers from 200 up, where servers that pick the lowest
    free number (Xvfb -displayfd alone, other tools) do not take one a test has just freed to
    bring its server back; the start depends on the pid, so parallel runs rarely meet."""
    if display:
        return [display]
    return [f":{n}" for n in islice(_free_display_numbers(), 5)]


def _free_display_numbers() -> Iterator[int]:
    start = 200 + (os.getpid() * 7) % 600
    for n in range(start, start + 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            yield n


def _multihead(monitors: tuple[tuple[int, int], ...], display: str | None) -> XServer:
    require("xserver-xorg-core", files=("/usr/lib/xorg/Xorg",))
    require("xserver-xorg-video-dummy", files=("/usr/lib/xorg/modules/drivers/dummy_drv.so",))
    require("x11-xserver-utils", "xrandr")
    geometry = [f"{w}x{h}" for w, h in monitors]
    candidates = _candidates(display)
    errors = []
    for candidate in candidates:
        # Another test run may take the same number between our check and Xorg's lock: retry.
        r = subprocess.run(
            [str(MULTIHEAD_X), candidate, *geometry], capture_output=True, text=True, timeout=60
        )
        if r.returncode == 0:
            return XServer(candidate, lambda d=candidate: _stop_multihead(d))
        errors.append(r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"])
    pytest.fail(f"multihead-x could not start a server on {candidates}: {errors}")


def _stop_multihead(display: str) -> None:
    """multihead-x --stop: TERM, up to 10 s, KILL (Xorg runs detached, not as our child)."""
    subprocess.run([str(MULTIHEAD_X), "--stop", display], capture_output=True, timeout=60)
    time.sleep(0.1)
