"""The mss backend: X11 (also XWayland), macOS and Windows, raw pixels with no encoding.

What is checked before capturing:
- Linux/BSD: an X display must be reachable. No `DISPLAY` at all, or a Wayland session
  (`WAYLAND_DISPLAY` set) whose X display cannot be opened, is a CaptureError saying what to do.
- macOS: `CGPreflightScreenCaptureAccess()` (CoreGraphics, macOS 10.15+) must say that Screen
  Recording is allowed. Where that call is missing, frames that are black on every monitor are
  taken as the sign of a missing permission (macOS then returns only black or the wallpaper).
- Windows: the process must not run in session 0, where services and tasks run "whether the
  user is logged on or not" (`ProcessIdToSessionId`): there is no screen there, only black.

The module is named for mss without being `mss`, so that `import mss` here gets the library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import time
from collections.abc import Iterable, Mapping
from datetime import datetime

import cv2
import mss
import numpy as np

from screenrecord.archive.store import frame_name
from screenrecord.capture import Backend, Failure, Monitor, Shot, numbered
from screenrecord.errors import CaptureError
from screenrecord.models import Frame

X11_PLATFORMS = ("linux", "freebsd", "openbsd", "netbsd")
"""Where mss reads an X display, named by DISPLAY."""


class MssBackend(Backend):
    """Screens through mss; one mss connection per call, since mss reads its monitor list once."""

    name = "mss"

    @classmethod
    def check(cls, environ: Mapping[str, str], platform: str) -> None:
        """The session rule, and on macOS whether screen recording is allowed (asked, not
        prompted)."""
        if platform == "darwin" and _mac_preflight() is False:
            raise CaptureError(
                "macOS has not allowed screen recording: System Settings > Privacy & Security > "
                "Screen Recording, allow the app that runs screenrecord (Terminal, Python), then restart it"
            )
        if platform == "win32" and (why := session_problem(_win_session())) is not None:
            raise CaptureError(why)
        super().check(environ, platform)

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.environ = environ
        self.platform = platform

    def _open(self) -> mss.MSS:
        environ = self.environ
        try:
            if self.platform.startswith(X11_PLATFORMS):
                return mss.MSS(display=environ.get("DISPLAY") or None)
            return mss.MSS()
        except Exception as e:  # mss raises ScreenShotError, Xlib may raise others
            display = environ.get("DISPLAY", "")
            if environ.get("WAYLAND_DISPLAY"):
                raise CaptureError(
                    f"cannot open X display {display!r} in this Wayland session ({e}); screenrecord needs "
                    "an X11 session or XWayland access (check DISPLAY and XAUTHORITY)"
                ) from None
            raise CaptureError(
                f"cannot open display {display!r} ({e}); check that the graphical session is running "
                "and that DISPLAY and XAUTHORITY point at it"
            ) from None

    def monitors(self) -> list[Monitor]:
        """mss.monitors[1:]; [0] is the whole virtual screen."""
        with self._open() as sct:
            return [_monitor(i, m) for i, m in enumerate(sct.monitors[1:], start=1)]

    def grab(
        self, taken: datetime, wanted: Iterable[int] | None = None, ext: str = "png"
    ) -> tuple[list[Shot], list[Failure]]:
        """Frames are built straight from the BGRA buffer: no encoding happens here."""
        shots: list[Shot] = []
        failures: list[Failure] = []
        with self._open() as sct:
            try:
                listed = sct.monitors[1:]
            except Exception as e:
                raise CaptureError(
                    f"cannot list monitors ({e}); is the display still there?"
                ) from None
            for number, m in numbered(listed, wanted):
                mon = _monitor(number, m)
                start = time.perf_counter()
                try:
                    raw = sct.grab(m)
                except mss.ScreenShotError as e:
                    failures.append(Failure(mon, str(e).splitlines()[0]))
                    continue
                # raw BGRA straight to an RGB array: no PNG, no PIL copy (the engine works on arrays)
                bgra = np.frombuffer(raw.bgra, np.uint8).reshape(raw.height, raw.width, 4)
                image = cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB)
                ms = (time.perf_counter() - start) * 1000
                frame = Frame(number, image, taken, frame_name(taken, number, ext))
                shots.append(Shot(frame, mon, ms))
        return shots, failures


def session_problem(session_id: int | None) -> str | None:
    """Why a Windows process in session `session_id` cannot capture (None: it can, or unknown)."""
    if session_id != 0:
        return None
    return (
        "running in session 0 (as a Windows service, or a task set to run whether the user is "
        "logged on or not), which has no screen: start screenrecord in your own session "
        "(screenrecord service install)"
    )


def _win_session() -> int | None:
    """ProcessIdToSessionId(GetCurrentProcessId()), None where it cannot be asked."""
    if sys.platform != "win32":  # only Windows' ctypes has WinDLL (and mypy knows it)
        return None
    kernel32 = ctypes.WinDLL("kernel32")
    session = ctypes.c_ulong()
    if not kernel32.ProcessIdToSessionId(kernel32.GetCurrentProcessId(), ctypes.byref(session)):
        return None
    return session.value


def _mac_preflight() -> bool | None:
    """CGPreflightScreenCaptureAccess(): True/False, or None where it cannot be asked."""
    path = ctypes.util.find_library("CoreGraphics")
    if not path:
        return None
    try:
        cg = ctypes.cdll.LoadLibrary(path)
        fn = cg.CGPreflightScreenCaptureAccess
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_bool
    return bool(fn())


def _monitor(number: int, m: Mapping[str, int]) -> Monitor:
    return Monitor(number, m["left"], m["top"], m["width"], m["height"])
