"""The macOS reader: CoreGraphics and CoreFoundation through ctypes (no pyobjc to install).

- Visible windows: `CGWindowListCopyWindowInfo(kCGWindowListOptionOnScreenOnly |
  kCGWindowListExcludeDesktopElements)`, front to back, each a dictionary with
  `kCGWindowOwnerName`, `kCGWindowOwnerPID`, `kCGWindowName` (the title: it comes with the
  Screen Recording permission screenrecord needs anyway), `kCGWindowLayer` and
  `kCGWindowBounds` (points, global display coordinates, as mss numbers its monitors).
- Covering: a window of layer 0 with `kCGWindowAlpha` 1 hides what is below it; others (the
  menu bar and the Dock, drawn with a blur of what is below, a translucent window) do not.
- Focused window: the frontmost window of layer 0 (normal windows) in that list; it belongs to
  the frontmost application, which the list puts first.
- Executable: `proc_pidpath` (libproc) of the owner's pid.
- Idle: `CGEventSourceSecondsSinceLastEventType(kCGEventSourceStateHIDSystemState,
  kCGAnyInputEventType)`.
- Lock: `CGSessionCopyCurrentDictionary()["CGSSessionScreenIsLocked"]`, present and true while
  locked.
- Screen Recording: withdrawn while running (macOS 15 asks again each month; a new Python is a
  new app to it), grabs return only the wallpaper and the menu bar, not black. The sign that
  holds then is the window list: macOS keeps listing other processes' windows but without
  their `kCGWindowName`. `CGPreflightScreenCaptureAccess()` answering False also says it, but
  its True may be the answer cached when the process started, so names missing from every
  other process's window outweigh it.

The dictionaries are converted to Python values first (`_py`); `parse_windows`,
`parse_locked` and `parse_permission` work on those, and are what the tests check with dictionaries shaped as macOS
returns them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from screenrecord.capture.activity import Reader
from screenrecord.models import Activity, Window

log = logging.getLogger(__name__)

ON_SCREEN_ONLY = 1 << 0
EXCLUDE_DESKTOP = 1 << 4
HID_SYSTEM_STATE = 1
ANY_INPUT = 0xFFFFFFFF
UTF8 = 0x08000100
DOUBLE = 13  # kCFNumberDoubleType
NORMAL_LAYER = 0


def parse_windows(infos: list[Mapping[str, Any]], paths: Mapping[int, str]) -> tuple[Window, ...]:
    """Visible windows, bottom to top, from CGWindowListCopyWindowInfo's list (front to back);
    the first window of layer 0 is the focused one. `paths`: executable path by pid."""
    windows = []
    focused_done = False
    for info in infos:
        bounds = info.get("kCGWindowBounds")
        if not isinstance(bounds, Mapping) or info.get("kCGWindowAlpha", 1) == 0:
            continue
        pid = info.get("kCGWindowOwnerPID")
        focused = not focused_done and info.get("kCGWindowLayer") == NORMAL_LAYER
        focused_done = focused_done or focused
        exe = paths.get(pid) if isinstance(pid, int) else None
        windows.append(
            Window(
                info.get("kCGWindowOwnerName") or None,
                PurePosixPath(exe).name if exe else None,
                info.get("kCGWindowName") or None,
                round(bounds.get("X", 0)),
                round(bounds.get("Y", 0)),
                round(bounds.get("Width", 0)),
                round(bounds.get("Height", 0)),
                focused=focused,
                opaque=info.get("kCGWindowLayer") == NORMAL_LAYER
                and info.get("kCGWindowAlpha", 1) >= 1,
            )
        )
    return tuple(reversed(windows))


def parse_locked(session: Mapping[str, Any] | None) -> bool | None:
    """CGSessionCopyCurrentDictionary's answer: None where there is no session dictionary."""
    if session is None:
        return None
    return bool(session.get("CGSSessionScreenIsLocked", False))


def parse_permission(
    infos: list[Mapping[str, Any]], own_pid: int, preflight: bool | None
) -> bool | None:
    """Whether Screen Recording is allowed, from the window list (front to back, as for
    `parse_windows`), this process's pid and CGPreflightScreenCaptureAccess's answer (None where
    it is missing); None where neither tells."""
    if preflight is False:
        return False
    others = [i for i in infos if i.get("kCGWindowOwnerPID") != own_pid]
    if not others:  # nothing of another process's to see a name withheld on
        return preflight
    return any(i.get("kCGWindowName") for i in others)


class MacReader(Reader):
    name = "macos"

    def __init__(self) -> None:
        self.lib: _Libs | None = None
        try:
            self.lib = _Libs()
        except (OSError, AttributeError) as e:
            log.warning("cannot read the active window: CoreGraphics not usable (%s)", e)

    def read(self, windows: bool = True) -> Activity:
        lib = self.lib
        if lib is None:
            return Activity()
        infos = lib.window_list()
        pids = {i.get("kCGWindowOwnerPID") for i in infos}
        paths = {p: path for p in pids if isinstance(p, int) and (path := lib.pidpath(p))}
        listed = parse_windows(infos, paths)  # one call gives all: `windows` changes nothing
        focused = next((w for w in listed if w.focused), None)
        return Activity(
            app=focused.app if focused else None,
            executable=focused.executable if focused else None,
            title=focused.title if focused else None,
            idle_s=lib.idle(),
            locked=parse_locked(lib.session()),
            windows=listed,
            lists_windows=True,
            screen_recording=parse_permission(infos, os.getpid(), lib.preflight()),
        )


class _Libs:
    """The C functions used, with their types."""

    def __init__(self) -> None:
        cg = ctypes.cdll.LoadLibrary(ctypes.util.find_library("CoreGraphics") or "CoreGraphics")
        cf = ctypes.cdll.LoadLibrary(ctypes.util.find_library("CoreFoundation") or "CoreFoundation")
        proc = ctypes.util.find_library("proc")
        self.libproc = ctypes.cdll.LoadLibrary(proc) if proc else None
        vp, c_long = ctypes.c_void_p, ctypes.c_long
        cg.CGWindowListCopyWindowInfo.restype = vp
        cg.CGWindowListCopyWindowInfo.argtypes = [ctypes.c_uint32, ctypes.c_uint32]
        cg.CGEventSourceSecondsSinceLastEventType.restype = ctypes.c_double
        cg.CGEventSourceSecondsSinceLastEventType.argtypes = [ctypes.c_int32, ctypes.c_uint32]
        cg.CGSessionCopyCurrentDictionary.restype = vp
        self.preflight_fn = getattr(cg, "CGPreflightScreenCaptureAccess", None)
        if self.preflight_fn is not None:
            self.preflight_fn.restype = ctypes.c_bool
        for name, res, args in [
            ("CFGetTypeID", ctypes.c_ulong, [vp]),
            ("CFRelease", None, [vp]),
            ("CFArrayGetTypeID", ctypes.c_ulong, []),
            ("CFDictionaryGetTypeID", ctypes.c_ulong, []),
            ("CFStringGetTypeID", ctypes.c_ulong, []),
            ("CFNumberGetTypeID", ctypes.c_ulong, []),
            ("CFBooleanGetTypeID", ctypes.c_ulong, []),
            ("CFArrayGetCount", c_long, [vp]),
            ("CFArrayGetValueAtIndex", vp, [vp, c_long]),
            ("CFDictionaryGetCount", c_long, [vp]),
            ("CFDictionaryGetKeysAndValues", None, [vp, vp, vp]),
            ("CFStringGetLength", c_long, [vp]),
            ("CFStringGetCString", ctypes.c_bool, [vp, ctypes.c_char_p, c_long, ctypes.c_uint32]),
            ("CFNumberGetValue", ctypes.c_bool, [vp, ctypes.c_int, vp]),
            ("CFBooleanGetValue", ctypes.c_bool, [vp]),
        ]:
            fn = getattr(cf, name)
            fn.restype, fn.argtypes = res, args
        self.cg, self.cf = cg, cf
        self.types = {
            cf.CFArrayGetTypeID(): self._array,
            cf.CFDictionaryGetTypeID(): self._dict,
            cf.CFStringGetTypeID(): self._string,
            cf.CFNumberGetTypeID(): self._number,
            cf.CFBooleanGetTypeID(): lambda p: bool(cf.CFBooleanGetValue(p)),
        }

    def window_list(self) -> list[Mapping[str, Any]]:
        ref = self.cg.CGWindowListCopyWindowInfo(ON_SCREEN_ONLY | EXCLUDE_DESKTOP, 0)
        if not ref:
            return []
        try:
            value = self._py(ref)
        finally:
            self.cf.CFRelease(ref)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def session(self) -> Mapping[str, Any] | None:
        ref = self.cg.CGSessionCopyCurrentDictionary()
        if not ref:
            return None
        try:
            value = self._py(ref)
        finally:
            self.cf.CFRelease(ref)
        return value if isinstance(value, dict) else None

    def preflight(self) -> bool | None:
        """CGPreflightScreenCaptureAccess() (macOS 10.15+; asks, never prompts), None before."""
        fn = self.preflight_fn
        return None if fn is None else bool(fn())

    def idle(self) -> float:
        return float(self.cg.CGEventSourceSecondsSinceLastEventType(HID_SYSTEM_STATE, ANY_INPUT))

    def pidpath(self, pid: int) -> str | None:
        if self.libproc is None:
            return None
        buf = ctypes.create_string_buffer(4096)
        n = self.libproc.proc_pidpath(pid, buf, len(buf))
        return buf.value.decode("utf-8", "replace") if n > 0 else None

    def _py(self, ref: int) -> Any:
        """A CoreFoundation value as a Python one (other types: None)."""
        convert = self.types.get(self.cf.CFGetTypeID(ref))
        return convert(ref) if convert else None

    def _array(self, ref: int) -> list[Any]:
        cf = self.cf
        return [self._py(cf.CFArrayGetValueAtIndex(ref, i)) for i in range(cf.CFArrayGetCount(ref))]

    def _dict(self, ref: int) -> dict[Any, Any]:
        n = self.cf.CFDictionaryGetCount(ref)
        keys, values = (ctypes.c_void_p * n)(), (ctypes.c_void_p * n)()
        self.cf.CFDictionaryGetKeysAndValues(ref, keys, values)
        return {self._py(k): self._py(v) for k, v in zip(keys, values, strict=True) if k and v}

    def _string(self, ref: int) -> str:
        size = self.cf.CFStringGetLength(ref) * 4 + 1
        buf = ctypes.create_string_buffer(size)
        self.cf.CFStringGetCString(ref, buf, size, UTF8)
        return buf.value.decode("utf-8", "replace")

    def _number(self, ref: int) -> float:
        out = ctypes.c_double()
        self.cf.CFNumberGetValue(ref, DOUBLE, ctypes.byref(out))
        return int(out.value) if out.value.is_integer() else out.value
