"""The first hour's failures end in one line, or not at all (issue 12): each one run for real, on
a real X display, a real daemon subprocess, real SQLite files and a real read-only mount."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import xserver
from helpers.procs import running, stop
from helpers.system import unavailable
from helpers.xscreen import (
    frames,
    rows,
    screenrecord,
    show,
    start_daemon,
    text_screen,
    wait_rows,
    write_config,
)
from PIL import Image

from screenrecord.archive.catalog import FILE_NAME, SCHEMA_VERSION, Catalog, CatalogDamaged
from screenrecord.errors import StoreError

SIZE = (1280, 800)  # the xvfb_display fixture's screen


def env_for(display: str, tmp: Path) -> dict[str, str]:
    """The environment of a user whose home is `tmp` (no service installed) on `display`."""
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {**e, "DISPLAY": display, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def once(cfg: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return screenrecord("once", "--config", str(cfg), env=env)


def headline(cfg: Path, env: dict[str, str]) -> str:
    r = screenrecord("status", "--config", str(cfg), env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[0]


# -- status after the daemon stopped -------------------------------------------------------------


@pytest.mark.daemon
def test_status_after_sigterm_says_stopped(xvfb_display, tmp_path):
    """The newest decision is a second old, but the daemon is gone: status says so at once
    (before, `capturing, last frame 1 s ago` for up to two intervals and a minute)."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    env = env_for(xvfb_display, tmp_path)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, cfg, env={"HOME": env["HOME"]})) as proc:
        wait_rows(root, 1, proc)
        assert headline(cfg, env).startswith("screenrecord: capturing, last frame ")
        code, err = stop(proc)
    assert code == 0, err
    assert headline(cfg, env).startswith("screenrecord: not running, last frame ")


# -- an archive root that cannot be written ------------------------------------------------------


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder made read-only by a read-only bind mount over itself (tests run as root, and
    chmod does not stop root)."""
    root = tmp_path / "archive"
    root.mkdir()
    r = subprocess.run(["mount", "--bind", str(root), str(root)], capture_output=True, text=True)
    if r.returncode != 0:
        unavailable(f"cannot bind-mount here ({r.stderr.strip()}); run the tests as root")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(root)], check=True)
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def test_a_read_only_root_ends_once_and_run_in_one_line(xvfb_display, tmp_path, read_only):
    cfg = write_config(tmp_path / "c.toml", read_only)
    env = env_for(xvfb_display, tmp_path)
    for command in ("once", "run"):
        r = screenrecord(command, "--config", str(cfg), env=env, timeout=30)
        assert r.returncode == 1, (command, r.stderr)
        assert "Traceback" not in r.stderr
        (line,) = r.stderr.splitlines()
        # `run` stamps its lines with the time (a service's log file), `once` does not
        message = (
            re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", "", line) if command == "run" else line
        )
        assert message.startswith(f"screenrecord: {read_only}: cannot write into this archive")
        assert "Read-only file system" in line and "make it writable" in line
    with pytest.raises(StoreError, match="Read-only file system") as e:
        Catalog.open(read_only)
    assert str(read_only) in str(e.value)
    assert list(read_only.iterdir()) == []


# -- a damaged catalog ---------------------------------------------------------------------------


@pytest.fixture
def recorded(xvfb_display, tmp_path) -> tuple[Path, Path, dict[str, str]]:
    """An archive of two frames kept by `once` (the second a near-duplicate in similar/); the
    catalog is checkpointed and closed."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    env = env_for(xvfb_display, tmp_path)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    assert once(cfg, env).returncode == 0
    show(xvfb_display, tmp_path, text_screen(1, SIZE, edit=(100, 100, 300, 250)))
    r = once(cfg, env)
    assert r.returncode == 0 and "near" in r.stdout, r.stdout
    assert not (root / f"{FILE_NAME}-wal").exists()
    return root, cfg, env


def damage(db: Path, how: str) -> bytes:
    data = db.read_bytes()
    data = os.urandom(len(data)) if how == "garbage" else data[: len(data) // 2]
    db.write_bytes(data)
    with pytest.raises(CatalogDamaged):  # the damage is real: the recorder cannot use it as is
        Catalog.open(db.parent, check=True)
    return data


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_a_damaged_catalog_is_set_aside_and_rebuilt(recorded, tmp_path, xvfb_display, how):
    root, cfg, env = recorded
    kept = {(r["path"], r["decision"]) for r in rows(root) if r["path"]}
    assert {d for _, d in kept} == {"new", "near"}
    damaged = damage(root / FILE_NAME, how)
    show(xvfb_display, tmp_path, text_screen(7, SIZE))
    r = once(cfg, env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    # the one line saying what happened (INFO lines tell of the warm-up and the decision)
    lines = [x for x in r.stderr.splitlines() if ": INFO: " not in x]
    assert len(lines) == 1, r.stderr
    (line,) = lines
    (aside,) = [
        p
        for p in root.glob(f"{FILE_NAME}.corrupt-*")
        if not p.name.endswith("-wal") and not p.name.endswith("-shm")
    ]
    assert f"kept as {aside.name}" in line and "rebuilt from the 2 frames" in line
    assert aside.read_bytes() == damaged  # never deleted, never changed
    got = {(r["path"], r["decision"]) for r in rows(root) if r["path"]}
    assert kept < got and len(got) == 3  # the two kept frames, and the one captured now
    assert len(frames(root)) == 3
    status = screenrecord("status", "--config", str(cfg), env=env).stdout
    assert status.count("catalog     rebuilt") == 1 and aside.name in status
    set_aside = set(root.glob(f"{FILE_NAME}.corrupt-*"))
    r = once(cfg, env)  # the next start finds a sound catalog: nothing more set aside
    assert r.returncode == 0, r.stderr
    assert set(root.glob(f"{FILE_NAME}.corrupt-*")) == set_aside


def test_a_catalog_from_a_newer_screenrecord_is_refused_and_left_alone(recorded):
    root, cfg, env = recorded
    db = root / FILE_NAME
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    before, n = db.read_bytes(), len(frames(root))
    r = once(cfg, env)
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert f"{db}: catalog schema {SCHEMA_VERSION + 1} is newer" in line
    assert line.endswith("upgrade screenrecord")
    assert db.read_bytes() == before and not list(root.glob(f"{FILE_NAME}.corrupt-*"))
    assert len(frames(root)) == n


# -- undo with nothing to undo -------------------------------------------------------------------


def test_undo_on_a_clean_folder_is_not_an_error(tmp_path):
    r = screenrecord("undo", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"screenrecord: {tmp_path}: no dedup journal here (.screenrecord-journal.jsonl); nothing to undo"
    ]
    assert r.stderr == ""


# -- a numeric warning from the engine -----------------------------------------------------------


@pytest.fixture
def xvfb_1366() -> Iterator[str]:
    """A real Xvfb of 1366x768, a laptop's screen, the size the warning was reported on."""
    with xserver.start((1366, 768)) as x:
        yield x.display


@pytest.mark.display
def test_a_black_screen_after_a_warm_up_raises_no_numeric_warning(xvfb_1366, tmp_path):
    """The ring warmed from an archive that holds one screen twice (a keep_at_least_every
    repeat: warm-up prepares both into one object, so the coarse stack has an empty slot), then
    a black screen: `divide by zero encountered in divide` in CoarseStack.scores, before."""
    laptop = (1366, 768)
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root, keep_at_least_every='"1s"')
    env = {**env_for(xvfb_1366, tmp_path), "PYTHONWARNINGS": "error::RuntimeWarning"}
    show(xvfb_1366, tmp_path, text_screen(3, laptop))
    assert once(cfg, env).returncode == 0
    time.sleep(1.1)
    r = once(cfg, env)  # the same screen, kept again
    assert r.returncode == 0 and "duplicate (keep_at_least_every)" in r.stdout, r.stdout
    show(xvfb_1366, tmp_path, text_screen(4, laptop))
    assert once(cfg, env).returncode == 0
    assert len(frames(root)) == 3
    show(xvfb_1366, tmp_path, Image.new("RGB", laptop))
    r = once(cfg, env)
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr and "Traceback" not in r.stderr
    assert r.stdout.startswith("monitor 1 1366x768: new, ")
    assert rows(root)[-1]["decision"] == "new"


# -- dedup --apply and undo beside a recorder ----------------------------------------------------


@pytest.mark.daemon
def test_dedup_apply_beside_a_running_daemon_is_refused_with_its_pid(xvfb_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    env = env_for(xvfb_display, tmp_path)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(root, 1, proc)
        before = frames(root)
        for command in (["dedup", "--apply", str(root)], ["dedup", "--apply", str(root / "2")]):
            (root / "2").mkdir(exist_ok=True)  # a folder inside the archive: the same lock
            r = screenrecord(*command, env=env)
            assert r.returncode == 1, r.stderr
            (line,) = r.stderr.splitlines()
            assert f"another screenrecord (pid {proc.pid}) is already recording into" in line
            assert not (root / ".screenrecord-journal.jsonl").exists()
        assert frames(root)[: len(before)] == before
        code, err = stop(proc)
    assert code == 0, err


def test_why_follows_a_frame_that_dedup_moved_and_undo_put_back(xvfb_display, tmp_path):
    """The daemon keeps two screens that `dedup` (stricter: its default thresholds) finds to be
    a duplicate: `why` explains the frame where `--apply` moved it, and again once `undo` has
    put it back; the catalog row's path follows the file."""
    root = tmp_path / "archive"
    cfg = write_config(
        tmp_path / "c.toml",
        root,
        dedup__duplicate_threshold="0.9999",
        dedup__near_threshold="0.9995",
    )
    env = env_for(xvfb_display, tmp_path)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    assert once(cfg, env).returncode == 0
    show(xvfb_display, tmp_path, text_screen(1, SIZE, edit=(600, 300, 630, 320)))
    r = once(cfg, env)
    assert r.returncode == 0 and ": new, " in r.stdout, r.stdout
    second = Path(r.stdout.rsplit(", ", 1)[1].strip())
    rel = second.relative_to(root).as_posix()

    r = screenrecord("dedup", "--apply", str(root), env=env)
    assert r.returncode == 0, r.stderr
    moved = second.parent / "dedup" / second.name
    assert moved.exists() and not second.exists()
    why = screenrecord("why", str(moved), "--config", str(cfg), env=env)
    assert why.returncode == 0, why.stderr
    assert f"written   {moved} (" in why.stdout
    assert [r["path"] for r in rows(root) if r["path"] and r["path"].endswith(second.name)] == [
        moved.relative_to(root).as_posix()
    ]

    r = screenrecord("undo", str(root), env=env)
    assert r.returncode == 0 and "1 file put back" in r.stdout, r.stdout
    assert second.exists() and not moved.exists()
    why = screenrecord("why", str(second), "--config", str(cfg), env=env)
    assert why.returncode == 0, why.stderr
    assert f"written   {second} (" in why.stdout
    assert [r["path"] for r in rows(root) if r["path"] and r["path"].endswith(second.name)] == [rel]
