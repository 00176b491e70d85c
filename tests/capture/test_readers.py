"""The macOS and Windows readers on the data their APIs return, and which reader a session gets.

The values below are shaped as the calls return them (CGWindowListCopyWindowInfo's dictionaries,
CGSessionCopyCurrentDictionary's, Windows' handles, paths and tick counts), converted to Python
values as the readers convert them; on those platforms the readers also run for real.
"""

from __future__ import annotations

import sys

import pytest

from screenrecord.capture.activity import NullReader, _choose_impl, macos, windows
from screenrecord.capture.activity.x11 import X11Reader

MENU_BAR = {
    "kCGWindowAlpha": 1,
    "kCGWindowBounds": {"Height": 24, "Width": 1512, "X": 0, "Y": 0},
    "kCGWindowIsOnscreen": True,
    "kCGWindowLayer": 24,
    "kCGWindowMemoryUsage": 1104,
    "kCGWindowName": "Menubar",
    "kCGWindowNumber": 31,
    "kCGWindowOwnerName": "Window Server",
    "kCGWindowOwnerPID": 412,
    "kCGWindowSharingState": 1,
    "kCGWindowStoreType": 1,
}
EDITOR = {
    "kCGWindowAlpha": 1,
    "kCGWindowBounds": {"Height": 862, "Width": 1280, "X": 116, "Y": 33},
    "kCGWindowIsOnscreen": True,
    "kCGWindowLayer": 0,
    "kCGWindowMemoryUsage": 2176,
    "kCGWindowName": "README.md — screenrecord",
    "kCGWindowNumber": 5120,
    "kCGWindowOwnerName": "Code",
    "kCGWindowOwnerPID": 1807,
    "kCGWindowSharingState": 1,
    "kCGWindowStoreType": 1,
}
VAULT = {  # behind the editor; without Screen Recording permission there would be no name
    **EDITOR,
    "kCGWindowBounds": {"Height": 600, "Width": 900, "X": 1600, "Y": 200.5},
    "kCGWindowName": "Passwords.kdbx - KeePassXC",
    "kCGWindowNumber": 4410,
    "kCGWindowOwnerName": "KeePassXC",
    "kCGWindowOwnerPID": 933,
}
UNTITLED = {
    **EDITOR,
    "kCGWindowNumber": 77,
    "kCGWindowOwnerPID": 990,
    "kCGWindowOwnerName": "Finder",
}
del UNTITLED["kCGWindowName"]
INVISIBLE = {**EDITOR, "kCGWindowAlpha": 0, "kCGWindowOwnerName": "Overlay"}


def test_macos_window_list_front_to_back_becomes_bottom_to_top_with_the_focused_one() -> None:
    paths = {
        1807: "/Applications/Visual Studio Code.app/Contents/MacOS/Electron",
        933: "/Applications/KeePassXC.app/Contents/MacOS/KeePassXC",
    }
    got = macos.parse_windows([MENU_BAR, INVISIBLE, EDITOR, VAULT, UNTITLED], paths)
    assert [(w.app, w.title, w.focused) for w in got] == [
        ("Finder", None, False),
        ("KeePassXC", "Passwords.kdbx - KeePassXC", False),
        ("Code", "README.md — screenrecord", True),
        ("Window Server", "Menubar", False),
    ]
    vault = got[1]
    assert (vault.executable, vault.left, vault.top, vault.width, vault.height) == (
        "KeePassXC",
        1600,
        200,
        900,
        600,
    )
    assert got[2].executable == "Electron"
    # Normal windows cover what is below them; the menu bar (blurred) and translucent ones do not.
    assert [w.opaque for w in got] == [True, True, True, False]
    [faded] = macos.parse_windows([{**EDITOR, "kCGWindowAlpha": 0.85}], paths)
    assert not faded.opaque


def test_macos_lock_from_the_session_dictionary() -> None:
    unlocked = {
        "CGSSessionOnConsoleKey": True,
        "kCGSSessionUserIDKey": 501,
        "kCGSSessionUserNameKey": "me",
        "kCGSessionLoginDoneKey": True,
        "kCGSSessionSystemSafeBoot": False,
    }
    assert macos.parse_locked(unlocked) is False
    assert macos.parse_locked({**unlocked, "CGSSessionScreenIsLocked": True}) is True
    assert macos.parse_locked(None) is None  # no GUI session (over SSH)


def test_windows_foreground_window_and_its_process() -> None:
    a = windows.parse(
        0x000A0B2C,
        "Passwords.kdbx - KeePassXC",
        r"C:\Program Files\KeePassXC\KeePassXC.exe",
        (-8, -8, 1928, 1048),
        12.5,
        "Default",
    )
    assert (a.app, a.executable, a.title, a.idle_s, a.locked) == (
        "KeePassXC",
        "KeePassXC.exe",
        "Passwords.kdbx - KeePassXC",
        12.5,
        False,
    )
    assert not a.lists_windows  # only the focused window is known: excluded -> skip the tick
    [w] = a.windows
    assert (w.left, w.top, w.width, w.height, w.focused) == (-8, -8, 1936, 1056, True)
    # An elevated process whose image cannot be read: the title is still known.
    b = windows.parse(0x10, "Administrator: Command Prompt", None, None, 1.0, "Default")
    assert (b.app, b.executable, b.title) == (None, None, "Administrator: Command Prompt")


def test_windows_no_foreground_window_or_secure_desktop_is_locked() -> None:
    assert windows.parse(0, "", None, None, 30.0, "Default").locked is True
    assert windows.parse(0x20, "Windows Default Lock Screen", None, None, 30.0, None).locked
    assert windows.parse(0, "", None, None, 30.0, "Default").app is None


@pytest.mark.parametrize(
    ("desktop", "locked"),
    [
        ("Winlogon", True),  # the lock screen, and a UAC prompt on the secure desktop
        ("Screen-saver", True),  # a secure screensaver
        (None, True),  # OpenInputDesktop refused
        ("Default", False),
        ("default", False),  # desktop names are not case-sensitive
    ],
)
def test_windows_input_desktop_other_than_the_users_is_locked(
    desktop: str | None, locked: bool
) -> None:
    # A foreground window is still reported behind a UAC prompt: the desktop tells.
    a = windows.parse(0x20, "Editor", r"C:\Windows\notepad.exe", (0, 0, 800, 600), 3.0, desktop)
    assert a.locked is locked
    assert (a.title is None) is locked  # nothing of a window behind the secure desktop is kept


@pytest.mark.parametrize(
    ("now", "last", "seconds"),
    [
        (5_000_000, 4_990_000, 10.0),
        (2**32 + 500, 2**32 - 296, 0.796),  # GetTickCount64 past 49.7 days, dwTime before wrap
        (7 * 2**32 + 1000, 1000, 0.0),
    ],
)
def test_windows_idle_from_tick_counts(now: int, last: int, seconds: float) -> None:
    assert windows.idle_seconds(now, last) == pytest.approx(seconds)


def test_the_reader_is_chosen_once_from_the_session() -> None:
    assert isinstance(_choose_impl({"DISPLAY": ":0"}, "linux"), X11Reader)
    wayland = _choose_impl({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert isinstance(wayland, NullReader) and wayland.read().known is False
    assert isinstance(_choose_impl({}, "win32"), windows.WindowsReader)
    assert isinstance(_choose_impl({}, "darwin"), macos.MacReader)


@pytest.mark.skipif(sys.platform != "darwin", reason="macOS only: the real CoreGraphics calls")
def test_macos_reader_for_real() -> None:
    a = macos.MacReader().read()
    assert a.idle_s is not None and a.idle_s >= 0 and a.lists_windows


@pytest.mark.skipif(sys.platform != "win32", reason="Windows only: the real user32 calls")
def test_windows_reader_for_real() -> None:
    a = windows.WindowsReader().read()
    assert a.idle_s is not None and a.idle_s >= 0
