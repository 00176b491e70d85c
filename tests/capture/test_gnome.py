"""GNOME on Wayland, on a real headless GNOME Shell (helpers/gnome.py), one per module: the
mutter backend (GNOME's own ScreenCast), and the screencast backend (the ScreenCast portal)
before and after its one approval, given with pointer clicks on the portal's dialog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.gnome import SIZES, Gnome
from helpers.xscreen import REPO, write_config
from PIL import Image

pytestmark = pytest.mark.gnome


def _env(gnome: Gnome) -> dict[str, str]:
    """The test's environment (its own HOME and XDG folders) inside the GNOME session."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SWAYSOCK") and not k.startswith("DBUS_")
    }
    return {**base, **gnome.session}


def _screenrecord(env: dict[str, str], *args: str, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "screenrecord", *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _frames(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.png") if not p.name.startswith("."))


def _sizes(paths: list[Path]) -> list[tuple[int, int]]:
    sizes = []
    for p in paths:
        with Image.open(p) as im:
            sizes.append(im.size)
    return sorted(sizes)


def test_mutter_once_writes_each_monitor_then_only_what_changed(gnome_session, tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive", capture__backend='"mutter"')
    env = _env(gnome_session)
    first = _screenrecord(env, "once", "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    assert _sizes(_frames(tmp_path / "archive")) == sorted(SIZES.values())
    again = _screenrecord(env, "once", "--config", str(cfg))
    assert again.returncode == 0, again.stderr
    assert len(_frames(tmp_path / "archive")) == 2, again.stdout
    gnome_session.paint("#a03020")
    changed = _screenrecord(env, "once", "--config", str(cfg))
    assert changed.returncode == 0, changed.stderr
    assert _sizes(_frames(tmp_path / "archive")) == sorted([*SIZES.values(), *SIZES.values()])
