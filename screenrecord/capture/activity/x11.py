"""The X11 reader: python-xlib for windows and idle, logind for the lock.

- Focused window: the root's `_NET_ACTIVE_WINDOW`, which an EWMH window manager keeps; without
  one there is no focused window (None, not an error).
- Its title: `_NET_WM_NAME` (UTF-8), else `WM_NAME`; its application: the class part of
  `WM_CLASS`; its executable: `/proc/PID/exe` of `_NET_WM_PID` (Linux, a local client).
- Visible windows, bottom to top as the server stacks them (the root's children, QueryTree's
  order): the clients of `_NET_CLIENT_LIST_STACKING` (else the root's children, as they are
  without a window manager) whose map state is viewable, each with the rectangle of its
  top-level frame (the title bar, which shows the title, included), and the viewable
  override-redirect windows (a screen locker's, a menu) as windows with no name, which only
  cover what lies below. A window is taken as opaque unless it has 32 bits of depth (an alpha
  channel a compositor may blend), `_NET_WM_WINDOW_OPACITY` below full, or a SHAPE bounding
  region (not its whole rectangle).
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
from Xlib.ext import shape
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
    windows = _visible(d, root, atoms, active) if listed else []
    focused = next((w for w in windows if w.focused), None)
    if focused is None and active:  # focused but not listed (another desktop's, unmapped)
        try:
            w = d.create_resource_object("window", active)
            found = _window(root, w, atoms, True, any_state=True)
        except error.BadWindow:
            found = None
        focused = found[1] if found is not None else None
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
        self.opacity = d.intern_atom("_NET_WM_WINDOW_OPACITY")
        self.shape = d.has_extension("SHAPE")


def _visible(d: display.Display, root: XWindow, atoms: _Atoms, active: int | None) -> list[Window]:
    """Every visible window, bottom to top: the clients at their frames' places among the root's
    children, and the override-redirect children as unnamed windows that only cover."""
    children = root.query_tree().children
    clients = _windows_prop(root, atoms.stacking)
    if clients is None:  # no EWMH window manager: top-level windows are the root's children
        clients = [w.id for w in children]
    by_frame: dict[int, Window] = {}
    for wid in clients:
        w = d.create_resource_object("window", wid)
        try:
            found = _window(root, w, atoms, focused=wid == active)
        except error.BadWindow:  # closed since the list was read
            continue
        if found is not None:
            by_frame[found[0]] = found[1]
    windows = []
    named = set(clients)
    for child in children:
        if child.id in by_frame:
            windows.append(by_frame.pop(child.id))
        elif child.id not in named:
            try:
                cover = _cover(child, atoms)
            except error.BadWindow:
                continue
            if cover is not None:
                windows.append(cover)
    return windows + list(by_frame.values())  # mapped since the tree was read: on top


def _cover(w: XWindow, atoms: _Atoms) -> Window | None:
    """A viewable override-redirect window (no window manager's client) as an unnamed window."""
    attributes = w.get_attributes()
    if (
        attributes.map_state != X.IsViewable
        or not attributes.override_redirect
        or attributes.win_class == X.InputOnly
    ):
        return None
    g = w.get_geometry()
    border = 2 * g.border_width
    if g.x + g.width + border <= 0 or g.y + g.height + border <= 0:
        return None  # kept out of sight (toolkits park helper windows at -100,-100)
    opaque = _opaque(w, g.depth, atoms)
    return Window(None, None, None, g.x, g.y, g.width + border, g.height + border, opaque=opaque)


def _opaque(w: XWindow, depth: int, atoms: _Atoms) -> bool:
    """Whether `w` hides what is below it in all its rectangle (see the module's docstring)."""
    if depth == 32:
        return False
    opacity = w.get_full_property(atoms.opacity, Xatom.CARDINAL)
    if opacity is not None and len(opacity.value) and int(opacity.value[0]) < 0xFFFFFFFF:
        return False
    return not (atoms.shape and shape.query_extents(w).bounding_shaped)


def _window(
    root: XWindow,
    w: XWindow,
    atoms: _Atoms,
    focused: bool,
    any_state: bool = False,
) -> tuple[int, Window] | None:
    """The window `w` as shown, with the id of its frame: None when it is not viewable (unless
    `any_state`, which also leaves out whether it is opaque)."""
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
    # Whether it covers matters only among the visible windows (`any_state`: the focused one).
    opaque = any_state or (
        _opaque(frame, g.depth, atoms) and (frame.id == w.id or _opaque(w, 0, atoms))
    )
    window = Window(
        app, executable, title, g.x, g.y, g.width + border, g.height + border, focused, opaque
    )
    return frame.id, window


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
