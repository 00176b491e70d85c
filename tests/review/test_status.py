"""`screenrecord status` on a real catalog with recorded decisions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers.xscreen import screenrecord

from screenrecord.archive import lock
from screenrecord.archive.catalog import FILE_NAME, Catalog
from screenrecord.models import Kind, Record
from screenrecord.review import status
from screenrecord.service import Installed

NOW = datetime(2024, 5, 2, 14, 30, 0)


def rel(t: datetime, monitor: int) -> str:
    return f"{t:%Y-%m}/{t:%Y-%m-%d}/{t:%Y-%m-%d_%H.%M.%S.%f}_{monitor}.png"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An archive whose catalog holds yesterday and today, two monitors, and one disk error."""
    root = tmp_path / "archive"
    with Catalog.open(root) as cat:
        y = NOW - timedelta(days=1)
        cat.record(Record(y, 1, 1920, 1080, Kind.NEW, None, None, rel(y, 1), 500_000))
        cat.record(Record(y, 1, 1920, 1080, Kind.DUPLICATE, 0.999, rel(y, 1)))
        t = NOW.replace(hour=9, minute=0)
        for i in range(6):  # today: monitor 1 every 3 minutes, changing every third tick
            at = t + timedelta(minutes=3 * i)
            if i % 3 == 0:
                cat.record(Record(at, 1, 1920, 1080, Kind.NEW, 0.41, None, rel(at, 1), 400_000))
            else:
                cat.record(Record(at, 1, 1920, 1080, Kind.DUPLICATE, 0.995, rel(t, 1)))
        err = t + timedelta(minutes=4)
        cat.record(
            Record(
                err,
                2,
                2560,
                1440,
                Kind.NEW,
                None,
                None,
                None,
                None,
                error="No space left on device",
            )
        )
        near = NOW - timedelta(minutes=2)
        cat.record(Record(near, 1, 1920, 1080, Kind.DUPLICATE, 0.997, rel(t, 1)))
        cat.record(Record(near, 2, 2560, 1440, Kind.NEAR, 0.96, rel(err, 2), rel(near, 2), 300_000))
    return root


def test_catalog_queries(root: Path) -> None:
    with Catalog.open(root, create=False) as cat:
        latest = cat.latest()
        assert [(r.monitor, r.decision) for r in latest] == [(1, "duplicate"), (2, "near")]
        assert latest[1].path == rel(NOW - timedelta(minutes=2), 2)
        midnight = NOW.replace(hour=0, minute=0)
        today = cat.tally(since=midnight)
        assert (
            today.decisions,
            today.written,
            today.new,
            today.near,
            today.duplicate,
            today.errors,
        ) == (9, 3, 3, 1, 5, 1)
        assert today.bytes == 400_000 * 2 + 300_000
        assert cat.tally().written == 4 and cat.tally().bytes == 1_600_000
        assert cat.written() == (4, 1_600_000)
        assert cat.last_error().error == "No space left on device"
        assert cat.last_error(since=NOW - timedelta(hours=1)) is None


def test_status_on_a_real_catalog(root: Path) -> None:
    unit = Installed(
        "systemd", Path("/home/u/.config/systemd/user/screenrecord.service"), [], True, True
    )
    lock.acquire(root)  # a recorder runs: capturing is judged from its newest decision
    try:
        s = status.gather(NOW, [unit], Path("/home/u/.config/screenrecord/config.toml"), root, 180)
    finally:
        lock.release(root)
    text = status.format_status(s)
    lines = text.splitlines()
    assert lines[0] == "screenrecord: capturing, last frame 2 min ago"
    assert "systemd user unit, enabled, running" in lines[1]
    assert lines[2] == "config      /home/u/.config/screenrecord/config.toml"
    assert lines[3].startswith(f"archive     {root}  4 frames, 1.6 MB written, ")
    assert lines[4] == "today       kept 3 (1 near), skipped 5 repeats, 1 error"
    assert lines[5] == (
        "monitor 1   1920x1080  14:28:00 (2 min ago)  duplicate 0.997"
        " (same as 2024-05/2024-05-02/2024-05-02_09.00.00.000000_1.png)"
    )
    assert lines[6] == (
        "monitor 2   2560x1440  14:28:00 (2 min ago)  near 0.960 -> 2024-05/2024-05-02/2024-05-02_14.28.00.000000_2.png"
    )
    assert lines[7] == (
        "activity    not known (no EWMH window manager, a Wayland session, or an older capture)"
    )
    assert lines[8] == "last error  09:04:00 (5 h 26 min ago) monitor 2: No space left on device"
    assert len(lines) == 9


def test_status_says_when_capturing_stopped(root: Path) -> None:
    later = NOW + timedelta(hours=12)  # 02:30 the next day
    unit = Installed("systemd", Path("/u/screenrecord.service"), [], True, True)
    text = status.format_status(status.gather(later, [unit], None, root, 180))
    assert text.splitlines()[0] == (
        "screenrecord: stopped, last frame 12 h 2 min ago (expected every 3 min): see `screenrecord service logs`"
    )
    assert "config      defaults (no config file)" in text
    assert "today       kept 0, skipped 0 repeats" in text  # a new day


def test_status_without_service_or_catalog(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    text = status.format_status(status.gather(NOW, [], None, root, 180))
    assert text.splitlines()[0] == (
        "screenrecord: not running: no service installed (start it at login: screenrecord service install)"
    )
    assert "service     not installed" in text
    assert "no catalog here" in text
    assert not (root / FILE_NAME).exists() and not root.exists()  # status never creates anything


def test_status_command_reads_catalog_without_loading_torch(root: Path, tmp_path: Path) -> None:
    with Catalog.open(root) as cat:  # the command reads the clock: one error within the week
        hour_ago = datetime.now() - timedelta(hours=1)
        cat.record(Record(hour_ago, 2, 2560, 1440, Kind.NEW, error="Permission denied: archive"))
    config = tmp_path / "config.toml"
    config.write_text(f'root = "{root}"\ninterval_seconds = 180\n')
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import sys; from screenrecord.cli import main; rc = main(['status', '--config', sys.argv[1]]);"
        "assert 'torch' not in sys.modules, 'status loaded torch'; raise SystemExit(rc)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(config)],
        capture_output=True,
        text=True,
        env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert f"config      {config}" in r.stdout
    assert "monitor 2   2560x1440" in r.stdout
    assert "service     not installed" in r.stdout
    assert "last error" in r.stdout and "monitor 2: Permission denied: archive" in r.stdout


def test_status_command_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("interval_seconds = -5\n")
    r = screenrecord(
        "status", "--config", str(config), env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    )
    assert r.returncode == 0, r.stderr
    [error] = [line for line in r.stdout.splitlines() if "error:" in line]
    assert "interval_seconds" in error


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5 s"),
        (89, "89 s"),
        (180, "3 min"),
        (3599, "1 h"),
        (3600, "1 h"),
        (7380, "2 h 3 min"),
        (3 * 86400, "3 days"),
    ],
)
def test_durations_read_naturally(seconds: int, text: str) -> None:
    assert status.duration(seconds) == text


PID = os.getpid()


@pytest.mark.parametrize(
    ("running", "recording", "minutes_later", "first_line"),
    [
        (
            None,
            True,
            0,
            "capturing, last frame 2 min ago (not started at login: screenrecord service install)",
        ),
        (False, True, 0, "capturing, last frame 2 min ago"),
        # stopped a moment ago: the newest decision is recent, but nothing holds the lock
        (
            None,
            False,
            0,
            "not running, last frame 2 min ago: no service installed (start it at login: screenrecord service install)",
        ),
        (False, False, 60, "installed, not running: see `screenrecord service logs`"),
        (
            True,
            False,
            60,
            "stopped, last frame 1 h 2 min ago (expected every 3 min): see `screenrecord service logs`",
        ),
        (
            True,
            True,
            60,
            f"running (pid {PID}), but no capture for 1 h 2 min (expected every 3 min): see `screenrecord service logs`",
        ),
        (
            "unknown",
            False,
            60,
            "stopped, last frame 1 h 2 min ago (expected every 3 min): see `screenrecord service logs`",
        ),
    ],
)
def test_headline_tells_a_running_recorder_from_a_stopped_one(
    root: Path, running, recording: bool, minutes_later: int, first_line: str
) -> None:
    """Running is told by the archive's lock (issue 12), capturing by the newest decision."""
    services = []
    if running is not None:
        state = None if running == "unknown" else running
        services = [Installed("windows", Path("C:/Startup/screenrecord.pyw"), [], True, state)]
    if recording:
        lock.acquire(root)
    try:
        s = status.gather(NOW + timedelta(minutes=minutes_later), services, None, root, 180)
    finally:
        if recording:
            lock.release(root)
    assert status.format_status(s).splitlines()[0] == f"screenrecord: {first_line}"


def test_errors_older_than_a_week_are_history_not_state(root: Path) -> None:
    s = status.gather(NOW + timedelta(days=8), [], None, root, 180)
    assert s.last_error is None
    assert "last error" not in status.format_status(s)


def test_status_says_paused(tmp_path):
    from datetime import timedelta

    from screenrecord.archive import pause
    from screenrecord.review import status

    root = tmp_path / "archive"
    root.mkdir()
    now = datetime(2026, 3, 10, 12, 0)
    pause.pause(root, timedelta(hours=2), now=now)
    s = status.gather(now, [], None, root, 180.0)
    assert s.paused[0]
    assert status.headline(s).startswith("paused until 2026-03-10 14:00")
    pause.resume(root)
    assert not status.gather(now, [], None, root, 180.0).paused[0]
