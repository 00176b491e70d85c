"""What the user was doing at a tick: the focused window, the visible windows, idle time, lock.

One reader per platform behind one small interface, chosen once by `_choose_impl(environ,
platform)` as the capture backend is: X11 (python-xlib, and logind over D-Bus for the lock),
GNOME on Wayland (idle from GNOME Shell, the lock from logind, no windows),
macOS (CoreGraphics through ctypes), Windows (user32 through ctypes), and a null reader that
knows nothing (a Wayland session without X, a platform with no reader). A reader never raises:
what it cannot tell is None in the `Activity` it returns, so a tick always goes on.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping

from screenrecord.capture import session
from screenrecord.models import Activity


class Reader(ABC):
    """Reads the activity of one session, once per tick; `close` releases its connections."""

    name = "none"
    """Shown by `status` and the bench: x11, gnome, macos, windows, none."""

    @abstractmethod
    def read(self, windows: bool = True) -> Activity:
        """What the session shows now; never raises (unknown parts are None).

        `windows`: list every visible window, which only exclusion rules need; a reader for which
        that costs more than the focused window alone (X11: several requests per window) may
        then leave the list out.
        """

    def close(self) -> None:  # noqa: B027 - a reader that holds nothing needs no clean-up
        """Release what the reader holds (a display connection)."""


class NullReader(Reader):
    """Knows nothing: activity is not recorded and nothing is excluded by window."""

    def __init__(self, why: str = "") -> None:
        self.why = why

    def read(self, windows: bool = True) -> Activity:
        return Activity()


def _choose_impl(environ: Mapping[str, str], platform: str) -> Reader:
    """The reader for this session: the one place that says which."""
    if platform == "darwin":
        from screenrecord.capture.activity.macos import MacReader

        return MacReader()
    if platform.startswith("win"):
        from screenrecord.capture.activity.windows import WindowsReader

        return WindowsReader()
    if session.desktop(environ, platform).kind == "gnome":
        from screenrecord.capture.activity.gnome import GnomeReader

        return GnomeReader(environ)
    if session.x11_problem(environ, platform) is None:
        from screenrecord.capture.activity.x11 import X11Reader

        return X11Reader(environ)
    return NullReader("no X display: the compositor tells other programs nothing")


def open_reader(environ: Mapping[str, str], platform: str = sys.platform) -> Reader:
    """The reader for the session `environ` names."""
    return _choose_impl(environ, platform)
