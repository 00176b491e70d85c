"""A real desktop on a test X server: openbox (an EWMH window manager), xterm windows with known
titles, classes and colours, focus and input through xdotool."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from Xlib import X, display

from helpers.procs import stop
from helpers.system import require


def _env(d: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": d}


@contextmanager
def openbox(d: str) -> Iterator[subprocess.Popen]:
    """openbox on display `d`, ready (it has announced itself on the root window) when yielded."""
    require("openbox", "openbox")
    proc = subprocess.Popen(
        ["openbox", "--sm-disable"],
        env=_env(d),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = display.Display(d)
        try:
            check = conn.intern_atom("_NET_SUPPORTING_WM_CHECK")
            deadline = time.monotonic() + 20
            while conn.screen().root.get_full_property(check, X.AnyPropertyType) is None:
                assert proc.poll() is None and time.monotonic() < deadline, "openbox did not start"
                time.sleep(0.05)
        finally:
            conn.close()
        yield proc
    finally:
        stop(proc)


class Windows:
    """xterm windows opened on one display; `close()` ends them all."""

    def __init__(self, d: str) -> None:
        self.display = d
        self.procs: list[subprocess.Popen] = []

    def xterm(self, title: str, klass: str, geometry: str, bg: str = "white", *options: str) -> str:
        """An xterm titled `title` of WM_CLASS class `klass` filled with colour `bg` (and any
        other xterm `options`, e.g. -fullscreen); returns its window id once it is mapped. It
        runs `sleep`, so no shell retitles it."""
        require("xterm", "xterm")
        proc = subprocess.Popen(
            ["xterm", "-title", title, "-class", klass, "-geometry", geometry, "-bg", bg, *options]
            + ["-fg", bg, "-cr", bg, "-e", "sleep", "3600"],
            env=_env(self.display),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        found = xdotool(self.display, "search", "--sync", "--onlyvisible", "--name", f"^{title}$")
        return found.split()[0]

    def close(self) -> None:
        for p in self.procs:
            stop(p, timeout=5)

    def __enter__(self) -> Windows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def xdotool(d: str, *args: str) -> str:
    require("xdotool", "xdotool")
    r = subprocess.run(
        ["xdotool", *args], env=_env(d), capture_output=True, text=True, timeout=30, check=True
    )
    return r.stdout


def focus(d: str, wid: str) -> None:
    """Raise and focus window `wid` through the window manager, and wait until it has focus."""
    xdotool(d, "windowactivate", "--sync", wid)


def touch(d: str) -> None:
    """Input: move the pointer (which resets the X server's idle time)."""
    xdotool(d, "mousemove", "--sync", "300", "200")
    xdotool(d, "mousemove", "--sync", "310", "210")
