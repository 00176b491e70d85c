"""Helpers for tests that drive a real X display and a real daemon subprocess."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw

from helpers.system import claim, require
from screenrecord import capture, config
from screenrecord.daemon import Recorder

REPO = Path(__file__).resolve().parents[2]
SIZE = (1280, 800)
"""The screen of the xvfb_display fixture."""
T0 = datetime(2026, 3, 10, 9, 0, 0)
"""The first tick of tests that pass the time in."""


def text_screen(
    seed: int, size: tuple[int, int], edit: tuple[int, int, int, int] | None = None
) -> Image.Image:
    """A terminal-like screen of random text; `edit` paints a blue box over part of it.

    On a 640x480 screen a 30x20 box scores ~0.998 (duplicate), 110x80 ~0.97 (near).
    """
    w, h = size
    r = random.Random(seed)
    im = Image.new("RGB", size, (250, 250, 245))
    d = ImageDraw.Draw(im)
    for y in range(4, h - 12, 14):
        line = "".join(
            r.choice("abcdefghij klmnop qrstuvwxyz0123456789") for _ in range(r.randint(10, w // 7))
        )
        d.text((6, y), line, fill=(20, 20, 30))
    if edit:
        d.rectangle(edit, fill=(40, 90, 200))
    return im


def show(display: str, tmp: Path, *screens: Image.Image) -> None:
    """Paint the root window with the monitors' images side by side (real X, pixel exact)."""
    full = Image.new("RGB", (sum(s.width for s in screens), max(s.height for s in screens)))
    x = 0
    for s in screens:
        full.paste(s, (x, 0))
        x += s.width
    path = tmp / "root.png"
    full.save(path)
    require("imagemagick", "display")
    # ImageMagick's display exits 1 after setting the root background; the pixels are what count.
    subprocess.run(
        ["display", "-window", "root", str(path)],
        env={**os.environ, "DISPLAY": display},
        timeout=30,
    )


def write_config(path: Path, root: Path, **extra: str) -> Path:
    lines = [f'root = "{root}"', "interval_seconds = 1"]
    tables: dict[str, list[str]] = {}
    for key, value in extra.items():
        if "__" in key:
            table, k = key.split("__")
            tables.setdefault(table, []).append(f"{k} = {value}")
        else:
            lines.append(f"{key} = {value}")
    for table, items in tables.items():
        lines += [f"[{table}]", *items]
    path.write_text("\n".join(lines) + "\n")
    return path


def recorder(tmp_path: Path, display: str, **extra: str) -> Recorder:
    """An in-process Recorder on `display`, archive tmp_path/archive, rings warmed up; config
    tmp_path/c.toml from write_config(**extra). Close it when done."""
    cfg = config.load(write_config(tmp_path / "c.toml", tmp_path / "archive", **extra))
    env = {"DISPLAY": display}
    r = Recorder(cfg, env)
    r.warm_up(capture.monitors(env))
    return r


def screenrecord(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run the command line as a real subprocess from the repository; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "screenrecord", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_daemon(
    display: str | None,
    config: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    run: tuple[str, ...] = (),
) -> subprocess.Popen:
    """`screenrecord ARGS run --config CONFIG RUN...`; no --config where `config` is None (the
    platform's file, or the built-in defaults)."""
    claim("daemon", "the daemon")
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if display:
        e["DISPLAY"] = display
    e.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "screenrecord", *args, "run", *run]
        + (["--config", str(config)] if config is not None else []),
        env=e,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rows(root: Path) -> list[sqlite3.Row]:
    db = root / "screenrecord.sqlite"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM decisions ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # table not created yet
        return []
    finally:
        conn.close()


def wait_rows(
    root: Path, n: int, proc: subprocess.Popen | None = None, timeout: float = 20
) -> list[sqlite3.Row]:
    """Wait until the catalog holds at least n decisions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = rows(root)
        if len(got) >= n:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"daemon exited {proc.returncode}: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"catalog has {len(rows(root))} decisions after {timeout}s, wanted {n}")


def wait_ticks(
    root: Path, ticks: int, monitors: int, proc: subprocess.Popen | None = None
) -> list[sqlite3.Row]:
    """Wait for `ticks` more ticks of `monitors` monitors."""
    return wait_rows(root, len(rows(root)) + ticks * monitors, proc)


def frames(root: Path) -> list[Path]:
    """Every image in the archive, relative to root, sorted."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.suffix in (".png", ".webp"))


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]
