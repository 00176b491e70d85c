"""The X11 reader: python-xlib for windows and idle, logind for the lock.

- Focused window: the root's `_NET_ACTIVE_WINDOW`, which an EWMH window manager keeps; without
  one there is no focused window (None, not an error).
- Its title: `_NET_WM_NAME` (UTF-8), else `WM_NAME`; its application: the class part of
  `WM_CLASS`; its executable: `/proc/PID/exe` of `_NET_WM_PID` (Linux, a local client).
- Visible windows, bottom to top: `_NET_CLIENT_LIST_STACKING` (else the root's children, as
  they are without a window manager), those whose map state is viewable, each with the
  rectangle of its top-level frame (the title bar, which shows the title, included).
- Idle: MIT-SCREEN-SAVER's QueryInfo `idle` (python-xlib >= 0.33 has the extension).

One connection is kept between ticks and opened again after the display went away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from Xlib import X, Xatom, display, error
from Xlib.xobject.drawable import Window as XWindow

from screenrecord.capture.activity import Reader, logind
from screenrecord.models import Activity, Window

log = logging.getLogger(__name__)


class X11Reader(Reader):
    name = "x11"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.display: display.Display | None = None
        self.down = False

    def _open(self) -> display.Display:
        if self.display is None:
            self.display = display.Display(self.environ.get("DISPLAY") or None)
        return self.display

    def read(self, windows: bool = True) -> Activity:
        locked = logind.locked(self.environ)
        try:
            found = _read(self._open(), windows)
        except (error.DisplayError, error.ConnectionClosedError, error.XError, OSError) as e:
            if not self.down:
                log.warning("cannot read the active window from the X display (%s)", e)
            self.down = True
            self.close()
            return Activity(locked=locked)
        self.down = False
        return dataclasses.replace(found, locked=locked)

    def close(self) -> None:
        if self.display is not None:
            d, self.display = self.display, None
            with contextlib.suppress(error.ConnectionClosedError, OSError):
                d.close()


def _read(d: display.Display, listed: bool) -> Activity:
    """The focused window, idle time and, if `listed`, every visible window (no lock)."""
    root = d.screen().root
    atoms = _Atoms(d)
    idle_s = None
    if d.has_extension("MIT-SCREEN-SAVER"):
        idle_s = root.screensaver_query_info().idle / 1000
    active = _window_prop(root, atoms.active)
    stacking = _windows_prop(root, atoms.stacking) if listed else []
    if stacking is None:  # no EWMH window manager: top-level windows are the root's children
        stacking = [w.id for w in root.query_tree().children]
    windows = []
    for wid in stacking:
        w = d.create_resource_object("window", wid)
        try:
            win = _window(root, w, atoms, focused=wid == active)
        except error.BadWindow:  # closed since the list was read
            continue
        if win is not None:
            windows.append(win)
    focused = next((w for w in windows if w.focused), None)
    if focused is None and active:  # focused but not listed (another desktop's, unmapped)
        try:
            w = d.create_resource_object("window", active)
            focused = _window(root, w, atoms, True, any_state=True)
        except error.BadWindow:
            focused = None
        if focused is not None and not listed:  # its rectangle tells the monitor it is on
            windows = [focused]
    return Activity(
        app=focused.app if focused else None,
        executable=focused.executable if focused else None,
        title=focused.title if focused else None,
        idle_s=idle_s,
        windows=tuple(windows),
        lists_windows=listed,
    )


class _Atoms:
    def __init__(self, d: display.Display) -> None:
        self.active = d.intern_atom("_NET_ACTIVE_WINDOW")
        self.stacking = d.intern_atom("_NET_CLIENT_LIST_STACKING")
        self.name = d.intern_atom("_NET_WM_NAME")
        self.utf8 = d.intern_atom("UTF8_STRING")
        self.pid = d.intern_atom("_NET_WM_PID")


def _window(
    root: XWindow,
    w: XWindow,
    atoms: _Atoms,
    focused: bool,
    any_state: bool = False,
) -> Window | None:
    """The window `w` as shown: None when it is not viewable (unless `any_state`)."""
    if not any_state and w.get_attributes().map_state != X.IsViewable:
        return None
    wm_class = w.get_full_property(Xatom.WM_CLASS, X.AnyPropertyType)
    app = None
    if wm_class is not None:
        parts = _text(wm_class.value).split("\0")
        app = parts[1] if len(parts) > 1 and parts[1] else parts[0] or None
    title_prop = w.get_full_property(atoms.name, atoms.utf8) or w.get_full_property(
        Xatom.WM_NAME, X.AnyPropertyType
    )
    title = _text(title_prop.value) if title_prop is not None else None
    pid = w.get_full_property(atoms.pid, Xatom.CARDINAL)
    executable = _executable(int(pid.value[0])) if pid is not None and len(pid.value) else None
    frame = _frame(root, w)
    g = frame.get_geometry()
    border = 2 * g.border_width
    return Window(
        app, executable, title, g.x, g.y, g.width + border, g.height + border, focused=focused
    )


def _frame(root: XWindow, w: XWindow) -> XWindow:
    """The root's child that holds `w`: the window manager's frame around it, or `w` itself."""
    while True:
        parent = w.query_tree().parent
        if parent is None or parent.id in (root.id, X.NONE):
            return w
        w = parent


def _window_prop(w: XWindow, atom: int) -> int | None:
    prop = w.get_full_property(atom, Xatom.WINDOW)
    if prop is None or not len(prop.value) or not prop.value[0]:
        return None
    return int(prop.value[0])


def _windows_prop(w: XWindow, atom: int) -> list[int] | None:
    prop = w.get_full_property(atom, Xatom.WINDOW)
    return None if prop is None else [int(v) for v in prop.value]


def _text(value: object) -> str:
    """A text property's value: UTF-8 where it is, else Latin-1 (X's STRING), no NUL at the end."""
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogateescape")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.rstrip("\0")


def _executable(pid: int) -> str | None:
    """The file name of process `pid`'s executable, where /proc tells (Linux, a local client)."""
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        pass
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or None
    except OSError:
        return None
