"""The Windows reader: user32 and kernel32 through ctypes.

- Focused window: `GetForegroundWindow`, its title `GetWindowTextW`, its rectangle
  `GetWindowRect`; its process `GetWindowThreadProcessId`, whose executable is
  `QueryFullProcessImageNameW` (with PROCESS_QUERY_LIMITED_INFORMATION, which elevated processes
  also grant); the application is the executable's name without `.exe`.
- Idle: `GetLastInputInfo` against `GetTickCount64`: the last input's tick is 32 bits, so the
  difference is taken modulo 2**32 (the count wraps every 49.7 days).
- Lock: no foreground window, `OpenInputDesktop` refused, or an input desktop other than the
  user's `Default` (`GetUserObjectInformationW(UOI_NAME)`: `Winlogon` for the lock screen and
  a UAC prompt on the secure desktop, `Screen-saver` for a secure screensaver) means locked:
  a grab then gets a black screen or fails, so the tick is recorded as locked instead.

Windows lists no other windows here, so `lists_windows` is False: an excluded focused window
makes the daemon skip the whole tick instead of painting it. `parse` works on the values those
calls return, and is what the tests check.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import wintypes
from pathlib import PureWindowsPath
from typing import Any

from screenrecord.capture.activity import Reader
from screenrecord.models import Activity, Window

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
DESKTOP_SWITCHDESKTOP = 0x0100
DESKTOP_READOBJECTS = 0x0001
UOI_NAME = 2
USER_DESKTOP = "Default"
"""The interactive user's desktop; Winlogon (lock screen, UAC) and Screen-saver are not it."""


def idle_seconds(now_ms: int, last_input_ms: int) -> float:
    """Seconds since the last input: GetTickCount64() and LASTINPUTINFO.dwTime (32 bits)."""
    return ((now_ms & 0xFFFFFFFF) - last_input_ms) % 2**32 / 1000


def app_name(image: str | None) -> str | None:
    """The application of an executable path: `C:\\...\\KeePassXC.exe` -> `KeePassXC`."""
    if not image:
        return None
    return PureWindowsPath(image).stem or None


def parse(
    hwnd: int,
    title: str,
    image: str | None,
    rect: tuple[int, int, int, int] | None,
    idle_s: float | None,
    input_desktop: str | None,
) -> Activity:
    """The activity from the calls' results: the foreground window handle (0: none), its title,
    its process's image path, its rectangle (left, top, right, bottom), the idle time and
    the input desktop's name (None: OpenInputDesktop failed)."""
    if not hwnd or input_desktop is None or input_desktop.casefold() != USER_DESKTOP.casefold():
        return Activity(idle_s=idle_s, locked=True)
    exe = PureWindowsPath(image).name if image else None
    windows: tuple[Window, ...] = ()
    if rect is not None:
        left, top, right, bottom = rect
        windows = (
            Window(
                app_name(image), exe, title or None, left, top, right - left, bottom - top, True
            ),
        )
    return Activity(
        app=app_name(image),
        executable=exe,
        title=title or None,
        idle_s=idle_s,
        locked=False,
        windows=windows,
        lists_windows=False,
    )


class WindowsReader(Reader):
    name = "windows"

    def __init__(self) -> None:
        self.dlls = _load() if sys.platform == "win32" else None

    def read(self, windows: bool = True) -> Activity:
        if self.dlls is None:  # pragma: no cover - only reached off Windows
            return Activity()
        user32, kernel32 = self.dlls
        info = _LastInput(ctypes.sizeof(_LastInput), 0)
        idle = (
            idle_seconds(kernel32.GetTickCount64(), info.dwTime)
            if user32.GetLastInputInfo(ctypes.byref(info))
            else None
        )
        desk_name = _input_desktop(user32)
        hwnd = user32.GetForegroundWindow()
        if not hwnd:
            return parse(0, "", None, None, idle, desk_name)
        n = user32.GetWindowTextLengthW(hwnd)
        buf = ctypes.create_unicode_buffer(n + 1)
        user32.GetWindowTextW(hwnd, buf, n + 1)
        r = wintypes.RECT()
        rect = (
            (r.left, r.top, r.right, r.bottom)
            if user32.GetWindowRect(hwnd, ctypes.byref(r))
            else None
        )
        pid = wintypes.DWORD()
        user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        return parse(hwnd, buf.value, _image(kernel32, pid.value), rect, idle, desk_name)


def _load() -> tuple[Any, Any]:
    """user32 and kernel32 with the prototypes used: handles are pointer-sized, not ints."""
    if sys.platform != "win32":  # only Windows' ctypes has WinDLL (and mypy knows it)
        raise OSError("user32 and kernel32 exist only on Windows")
    user32, kernel32 = ctypes.WinDLL("user32"), ctypes.WinDLL("kernel32")
    w = wintypes
    for dll, name, res, args in [
        (user32, "GetForegroundWindow", w.HWND, []),
        (user32, "GetWindowTextLengthW", ctypes.c_int, [w.HWND]),
        (user32, "GetWindowTextW", ctypes.c_int, [w.HWND, w.LPWSTR, ctypes.c_int]),
        (user32, "GetWindowRect", w.BOOL, [w.HWND, ctypes.POINTER(w.RECT)]),
        (user32, "GetWindowThreadProcessId", w.DWORD, [w.HWND, ctypes.POINTER(w.DWORD)]),
        (user32, "GetLastInputInfo", w.BOOL, [ctypes.c_void_p]),
        (user32, "OpenInputDesktop", w.HANDLE, [w.DWORD, w.BOOL, w.DWORD]),
        (user32, "CloseDesktop", w.BOOL, [w.HANDLE]),
        (
            user32,
            "GetUserObjectInformationW",
            w.BOOL,
            [w.HANDLE, ctypes.c_int, ctypes.c_void_p, w.DWORD, ctypes.POINTER(w.DWORD)],
        ),
        (kernel32, "GetTickCount64", ctypes.c_ulonglong, []),
        (kernel32, "OpenProcess", w.HANDLE, [w.DWORD, w.BOOL, w.DWORD]),
        (
            kernel32,
            "QueryFullProcessImageNameW",
            w.BOOL,
            [w.HANDLE, w.DWORD, w.LPWSTR, ctypes.POINTER(w.DWORD)],
        ),
        (kernel32, "CloseHandle", w.BOOL, [w.HANDLE]),
    ]:
        fn = getattr(dll, name)
        fn.restype, fn.argtypes = res, args
    return user32, kernel32


class _LastInput(ctypes.Structure):
    _fields_ = [("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD)]


def _input_desktop(user32: Any) -> str | None:
    """The name of the desktop that receives input now, None where it cannot be opened."""
    desk = user32.OpenInputDesktop(0, False, DESKTOP_SWITCHDESKTOP | DESKTOP_READOBJECTS)
    if not desk:
        return None
    try:
        buf = ctypes.create_unicode_buffer(256)
        needed = wintypes.DWORD()
        ok = user32.GetUserObjectInformationW(
            desk, UOI_NAME, buf, ctypes.sizeof(buf), ctypes.byref(needed)
        )
        return buf.value if ok else None
    finally:
        user32.CloseDesktop(desk)


def _image(kernel32: Any, pid: int) -> str | None:
    handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return None
    try:
        size = wintypes.DWORD(32768)
        buf = ctypes.create_unicode_buffer(size.value)
        ok = kernel32.QueryFullProcessImageNameW(handle, 0, buf, ctypes.byref(size))
        return buf.value if ok else None
    finally:
        kernel32.CloseHandle(handle)
