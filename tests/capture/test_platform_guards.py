"""The guards of macOS and Windows that need no such machine to check: their logic takes the
platform calls' results, shaped as those calls return them; the calls themselves are thin and
run only on their platform (test_readers.py checks the readers' other values)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from helpers.xscreen import frames, recorder, rows, screenrecord

from screenrecord.capture import mssbackend
from screenrecord.capture.activity import macos
from screenrecord.daemon.recorder import SCREEN_RECORDING
from screenrecord.models import Kind

EDITOR = {  # CGWindowListCopyWindowInfo's dictionary of another app's window, permission given
    "kCGWindowAlpha": 1,
    "kCGWindowBounds": {"Height": 862, "Width": 1280, "X": 116, "Y": 33},
    "kCGWindowIsOnscreen": True,
    "kCGWindowLayer": 0,
    "kCGWindowName": "README.md — screenrecord",
    "kCGWindowNumber": 5120,
    "kCGWindowOwnerName": "Code",
    "kCGWindowOwnerPID": 1807,
    "kCGWindowSharingState": 1,
    "kCGWindowStoreType": 1,
}
MENU_BAR = {
    **EDITOR,
    "kCGWindowBounds": {"Height": 24, "Width": 1512, "X": 0, "Y": 0},
    "kCGWindowLayer": 24,
    "kCGWindowName": "Menubar",
    "kCGWindowNumber": 31,
    "kCGWindowOwnerName": "Window Server",
    "kCGWindowOwnerPID": 412,
}
OWN = {**EDITOR, "kCGWindowOwnerPID": os.getpid(), "kCGWindowName": "our own window"}


def withheld(info: Mapping[str, Any]) -> dict[str, Any]:
    """The same window listed without Screen Recording: macOS leaves its name out."""
    return {k: v for k, v in info.items() if k != "kCGWindowName"}


def test_macos_screen_recording_withdrawn_is_told_by_the_names_macos_withholds() -> None:
    pid = os.getpid()
    allowed = [MENU_BAR, EDITOR, OWN]
    assert macos.parse_permission(allowed, pid, True) is True
    assert macos.parse_permission(allowed, pid, None) is True  # before macOS 10.15: no preflight
    # Withdrawn while running: the preflight may still say yes, the list does not.
    lost = [withheld(MENU_BAR), withheld(EDITOR), OWN]  # our own window keeps its name
    assert macos.parse_permission(lost, pid, True) is False
    assert macos.parse_permission(lost, pid, None) is False
    assert macos.parse_permission(allowed, pid, False) is False  # the preflight's no is a no
    # Nothing of another process's on screen: only the preflight can tell.
    assert macos.parse_permission([OWN], pid, True) is True
    assert macos.parse_permission([], pid, None) is None
    # One unnamed window among named ones is just a window without a title.
    assert macos.parse_permission([withheld(EDITOR), MENU_BAR], pid, True) is True


class ShapedCoreGraphics:
    """What MacReader's CoreGraphics calls return, as Python values (its `_Libs`' methods)."""

    def __init__(self) -> None:
        self.allowed = True

    def window_list(self) -> list[Mapping[str, Any]]:
        listed = [EDITOR, MENU_BAR]
        return listed if self.allowed else [withheld(i) for i in listed]

    def session(self) -> Mapping[str, Any] | None:
        return {"kCGSSessionUserNameKey": "me"}

    def idle(self) -> float:
        return 1.5

    def pidpath(self, pid: int) -> str | None:
        return None

    def preflight(self) -> bool | None:
        return True  # the answer cached when the process started


def test_a_withdrawn_screen_recording_grant_stores_nothing_and_says_so(
    xvfb_display, tmp_path, caplog
):
    """The recorder on a real X server, its activity read by the macOS reader from CoreGraphics
    answers shaped as macOS gives them after the grant lapses."""
    cg = ShapedCoreGraphics()
    rec = recorder(tmp_path, xvfb_display)
    reader = macos.MacReader()
    reader.lib = cg  # the calls answered as macOS answers them (tests are not type-checked)
    rec.reader.close()
    rec.reader = reader
    now = datetime.now() - timedelta(seconds=30)
    caplog.set_level(logging.INFO, logger="screenrecord")
    try:
        [kept] = rec.tick(now)
        cg.allowed = False
        lapsed = [r for t in (1, 2, 3) for r in rec.tick(now + timedelta(seconds=t))]
        cg.allowed = True
        [again] = rec.tick(now + timedelta(seconds=4))
    finally:
        rec.close()
    root = tmp_path / "archive"
    assert kept.decision is Kind.NEW and again.decision is Kind.DUPLICATE
    # While it lapsed: no frame kept or compared, each tick an error saying why.
    assert [(r.decision, r.error, r.path) for r in lapsed] == [
        (Kind.ERROR, SCREEN_RECORDING, None)
    ] * 3
    assert len(frames(root)) == 1
    assert [r["error"] for r in rows(root)] == [None, *[SCREEN_RECORDING] * 3, None]
    # The log says it once when it lapses and once when it is back (beside each tick's line).
    said = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "screenrecord.daemon.recorder"
    ]
    assert said == [
        f"{SCREEN_RECORDING}; nothing is recorded until then",
        "Screen Recording is allowed again: capturing",
    ]
    # `status` names the missing permission.
    status = screenrecord("status", "--config", str(tmp_path / "c.toml"))
    assert status.returncode == 0, status.stderr
    [line] = [x for x in status.stdout.splitlines() if x.startswith("last error")]
    assert line.endswith(f"monitor 1: {SCREEN_RECORDING}")
    assert "Screen Recording is not allowed" in SCREEN_RECORDING


def test_windows_session_0_is_refused_in_one_line() -> None:
    # ProcessIdToSessionId(GetCurrentProcessId()): 0 for services and tasks run "whether the
    # user is logged on or not", 1 and up for a user's sessions, None where it cannot be asked.
    why = mssbackend.session_problem(0)
    assert why is not None and "\n" not in why
    assert why.startswith("running in session 0 (as a Windows service")
    assert why.endswith("start screenrecord in your own session (screenrecord service install)")
    assert mssbackend.session_problem(1) is None
    assert mssbackend.session_problem(2) is None
    assert mssbackend.session_problem(None) is None
