"""The activity readers and exclusions on a real X server: openbox, xterm windows, xdotool, the
daemon as a subprocess, real SQLite files and the frames it stores."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from helpers.bus import logind
from helpers.desktop import Windows, focus, openbox, touch
from helpers.procs import running, stop
from helpers.xscreen import (
    frames,
    recorder,
    rows,
    screenrecord,
    start_daemon,
    wait_rows,
    wait_ticks,
    write_config,
)
from PIL import Image

from screenrecord import capture, config
from screenrecord.capture.activity import open_reader
from screenrecord.models import Kind

EXCLUDED_BG = "#ff00ff"
EXCLUDED_RGB = (255, 0, 255)
"""The colour excluded xterms are filled with; nothing else on these screens uses it."""


def pixels_of(path: Path, rgb: tuple[int, int, int]) -> int:
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    return int(np.all(a == rgb, axis=-1).sum())


def grabbed_pixels(d: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of colour `rgb` the screen shows now (a plain capture, no exclusions)."""
    shots, _ = capture.grab({"DISPLAY": d}, datetime.now())
    return sum(int(np.all(np.asarray(s.frame.image) == rgb, axis=-1).sum()) for s in shots)


def test_x11_reader_follows_focus_and_idle(xvfb_display):
    d = xvfb_display
    with openbox(d), Windows(d) as w:
        editor = w.xterm("notes.txt - editor", "Editor", "80x24+20+20")
        term = w.xterm("build log", "Buildterm", "80x24+500+300")
        reader = open_reader({"DISPLAY": d}, "linux")
        try:
            focus(d, editor)
            a = reader.read()
            assert (a.app, a.executable, a.title) == ("Editor", "xterm", "notes.txt - editor")
            focus(d, term)
            a = reader.read()
            assert (a.app, a.title) == ("Buildterm", "build log")
            # Both windows are listed, bottom to top, with their frames on the screen.
            listed = [(x.title, x.focused) for x in a.windows]
            assert listed == [("notes.txt - editor", False), ("build log", True)]
            # Without exclusion rules only the focused window is read (cheaper per tick).
            only = reader.read(windows=False)
            assert [x.title for x in only.windows] == ["build log"] and not only.lists_windows
            top = a.windows[-1]
            assert top.left <= 500 and top.top <= 300 and top.width > 400 and top.height > 300
            # Idle grows without input and drops with a pointer move.
            touch(d)
            first = reader.read().idle_s
            time.sleep(1.5)
            later = reader.read().idle_s
            assert first is not None and later is not None and later >= first + 1.2
            touch(d)
            assert reader.read().idle_s < 1.0
        finally:
            reader.close()


def test_without_a_window_manager_there_is_no_focused_window(xvfb_display):
    d = xvfb_display
    with Windows(d) as w:
        w.xterm("lonely", "Lonely", "40x10+10+10")
        reader = open_reader({"DISPLAY": d}, "linux")
        try:
            a = reader.read()
        finally:
            reader.close()
    assert (a.app, a.title) == (None, None)
    assert a.idle_s is not None
    # The window is still known, for exclusions: the root's children, as mapped.
    assert [(x.app, x.title) for x in a.windows] == [("Lonely", "lonely")]


@pytest.mark.daemon
def test_daemon_records_the_focused_app_and_title_per_tick(xvfb_display, tmp_path):
    d = xvfb_display
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    with openbox(d), Windows(d) as w:
        editor = w.xterm("notes.txt - editor", "Editor", "80x24+20+20")
        term = w.xterm("build log", "Buildterm", "80x24+500+300")
        focus(d, editor)
        with running(start_daemon(d, cfg)) as proc:
            wait_rows(root, 2, proc)
            focus(d, term)
            n = len(rows(root))
            wait_rows(root, n + 2, proc)
            code, err = stop(proc)
    assert code == 0, err
    seen = [(r["app"], r["executable"], r["title"], r["focus_monitor"]) for r in rows(root)]
    assert seen[0] == ("Editor", "xterm", "notes.txt - editor", 1)
    assert seen[-1] == ("Buildterm", "xterm", "build log", 1)
    assert all(r["idle_s"] is not None and r["excluded"] is None for r in rows(root))
    # `why` tells the app and title of a kept frame, `status` what the last tick saw.
    first = root / rows(root)[0]["path"]
    why = screenrecord("why", str(first), "--config", str(cfg))
    assert why.returncode == 0, why.stderr
    assert "window    Editor (xterm): notes.txt - editor; idle " in why.stdout
    status = screenrecord("status", "--config", str(cfg))
    assert status.returncode == 0, status.stderr
    [line] = [x for x in status.stdout.splitlines() if x.startswith("activity")]
    assert line.startswith('activity    Buildterm "build log" on monitor 1, idle ')
    assert line.endswith(", lock unknown") or line.endswith(", not locked")


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("privacy__exclude_titles", '["secret VAULT"]', 'exclude_titles "secret VAULT"'),
        ("privacy__exclude_apps", '["keepassxc"]', 'exclude_apps "keepassxc"'),
    ],
    ids=["by-title", "by-app"],
)
@pytest.mark.daemon
def test_an_excluded_window_never_reaches_a_stored_frame(xvfb_display, tmp_path, key, value, rule):
    d = xvfb_display
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root, **{key: value}, dedup__near_action='"keep"')
    with openbox(d), Windows(d) as w:
        vault = w.xterm("my secret vault - passwords", "KeePassXC", "60x20+40+40", bg=EXCLUDED_BG)
        other = w.xterm("plain work", "Work", "80x24+300+200")
        assert grabbed_pixels(d, EXCLUDED_RGB) > 10_000  # the colour is on the screen
        with running(start_daemon(d, cfg)) as proc:
            focus(d, vault)  # focused
            wait_ticks(root, 2, 1, proc)
            focus(d, other)  # visible behind a window that covers part of it
            wait_ticks(root, 2, 1, proc)
            w.xterm("another", "Work", "40x10+700+500")  # the screen changes: new frames
            wait_ticks(root, 2, 1, proc)
            code, err = stop(proc)
    assert code == 0, err
    stored = frames(root)
    assert len(stored) >= 2
    assert [pixels_of(root / p, EXCLUDED_RGB) for p in stored] == [0] * len(stored)
    # The window's rectangle is painted grey, its title bar included.
    assert any(pixels_of(root / p, (128, 128, 128)) > 100_000 for p in stored)
    # Its title is nowhere in the catalog, not even in the database file; the rule is named.
    recorded = rows(root)
    vault_ticks = [r for r in recorded if r["excluded"]]
    assert vault_ticks and all(r["app"] is None and r["title"] is None for r in vault_ticks)
    assert {r["excluded"] for r in vault_ticks} == {rule}
    assert any(r["title"] == "plain work" for r in recorded)
    db = b"".join(p.read_bytes() for p in root.glob("screenrecord.sqlite*"))
    assert b"my secret vault - passwords" not in db
    assert "my secret vault" not in err  # nor in the log


def test_a_reloaded_config_paints_a_window_it_now_excludes(xvfb_display, tmp_path):
    d = xvfb_display
    with openbox(d), Windows(d) as w:
        focus(d, w.xterm("diary", "Diary", "60x20+40+40", bg=EXCLUDED_BG))
        rec = recorder(tmp_path, d)
        try:
            [before] = rec.tick(datetime(2026, 3, 10, 9, 0))
            cfg = write_config(
                tmp_path / "c.toml", tmp_path / "archive", privacy__exclude_apps='["diary"]'
            )
            rec.reconfigure(config.load(cfg))  # what SIGHUP does with an unchanged root
            [after] = rec.tick(datetime(2026, 3, 10, 9, 3))
        finally:
            rec.close()
    root = tmp_path / "archive"
    assert before.activity is not None and before.activity.title == "diary"
    assert pixels_of(root / before.path, EXCLUDED_RGB) > 10_000
    # The painted screen differs from the ring's frame: it is new, and shows no window.
    assert after.decision is Kind.NEW and pixels_of(root / after.path, EXCLUDED_RGB) == 0
    assert after.activity is not None and after.activity.excluded == 'exclude_apps "diary"'


def test_a_monitor_covered_by_an_excluded_window_keeps_no_frame(xvfb_display, tmp_path):
    d = xvfb_display  # no window manager: the window lies exactly where it asks, over everything
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root, privacy__exclude_apps='["Vault"]')
    with Windows(d) as w:
        w.xterm("vault", "Vault", "300x100+0+0", bg=EXCLUDED_BG)
        r = screenrecord("once", "--config", str(cfg), env=_env(d))
    assert r.returncode == 0, r.stderr
    assert "excluded, no screenshot kept" in r.stdout
    assert frames(root) == []
    assert [x["decision"] for x in rows(root)] == ["excluded"]


def test_record_titles_false_stores_no_title(xvfb_display, tmp_path):
    d = xvfb_display
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root, activity__record_titles="false")
    with openbox(d), Windows(d) as w:
        focus(d, w.xterm("private letter", "Writer", "80x24+20+20"))
        r = screenrecord("once", "--config", str(cfg), env=_env(d))
    assert r.returncode == 0, r.stderr
    [row] = rows(root)
    assert (row["app"], row["title"]) == ("Writer", None)
    db = b"".join(p.read_bytes() for p in root.glob("screenrecord.sqlite*"))
    assert b"private letter" not in db


@pytest.mark.daemon
def test_skip_when_idle_takes_no_screenshot_until_input(xvfb_display, tmp_path):
    d = xvfb_display
    root = tmp_path / "archive"
    cfg = write_config(
        tmp_path / "c.toml",
        root,
        activity__idle_after='"2s"',
        activity__skip_when_idle="true",
    )
    with openbox(d), Windows(d) as w:
        focus(d, w.xterm("reading", "Reader", "80x24+20+20"))
        with running(start_daemon(d, cfg)) as proc:
            deadline = time.monotonic() + 20
            while not any(r["decision"] == "idle" for r in rows(root)):
                assert time.monotonic() < deadline, "no idle tick"
                wait_ticks(root, 1, 1, proc)
            n = len(rows(root))
            while not any(r["decision"] != "idle" for r in rows(root)[n:]):
                assert time.monotonic() < deadline + 20, "input did not end the idle ticks"
                touch(d)
                time.sleep(0.2)
            code, err = stop(proc)
    assert code == 0, err
    idle = [r for r in rows(root) if r["decision"] == "idle"]
    assert all(r["path"] is None and r["idle_s"] >= 2 for r in idle)
    assert "no input for activity.idle_after: no screenshots" in err
    assert "input again: capturing again" in err


@pytest.mark.daemon
def test_a_locked_screen_takes_no_screenshot_and_counts_as_locked(xvfb_display, tmp_path):
    d = xvfb_display
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    with openbox(d), Windows(d) as w, logind(tmp_path) as bus:
        focus(d, w.xterm("work", "Work", "80x24+20+20"))
        env = {"DBUS_SYSTEM_BUS_ADDRESS": bus.address}
        with running(start_daemon(d, cfg, env=env)) as proc:
            wait_rows(root, 2, proc)
            bus.lock(True)
            w.xterm("seen while locked", "Work", "40x10+600+400")  # the screen changes meanwhile
            deadline = time.monotonic() + 20
            while sum(r["decision"] == "locked" for r in rows(root)) < 3:
                assert time.monotonic() < deadline, "no locked ticks"
                wait_ticks(root, 1, 1, proc)
            kept_while_locked = len(frames(root))
            bus.lock(False)
            n = len(rows(root))
            wait_rows(root, n + 2, proc)
            code, err = stop(proc)
    assert code == 0, err
    recorded = rows(root)
    assert recorded[0]["locked"] == 0 and recorded[0]["decision"] == "new"
    locked = [r for r in recorded if r["decision"] == "locked"]
    assert all(r["path"] is None and r["locked"] == 1 for r in locked)
    assert kept_while_locked == 1  # the first frame only: nothing was grabbed while locked
    assert recorded[-1]["decision"] != "locked" and len(frames(root)) == 2
    assert "the screen is locked: no screenshots" in err and "the screen is unlocked" in err
    r = screenrecord("report", str(root), "--json")
    assert r.returncode == 0, r.stderr
    (day,) = json.loads(r.stdout)["days"]
    assert day["usage"]["locked_seconds"] >= 2
    assert day["usage"]["apps"][0]["app"] == "Work"


def test_without_a_system_bus_the_lock_is_unknown(xvfb_display, tmp_path):
    reader = open_reader(
        {"DISPLAY": xvfb_display, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none"}, "linux"
    )
    try:
        a = reader.read()
    finally:
        reader.close()
    assert a.locked is None and a.idle_s is not None


def _env(d: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"} | {"DISPLAY": d}
