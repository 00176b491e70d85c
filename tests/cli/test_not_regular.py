"""A FIFO (or another special file) named like an image or a config is refused in one line,
never opened: opening a FIFO for reading waits for a writer forever."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers.xscreen import screenrecord

SEQ = sorted((Path(__file__).resolve().parents[1] / "data" / "seq").glob("*.png"))


def env(home: Path) -> dict[str, str]:
    """No display, and HOME and the XDG dirs in a temporary folder."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_compare_refuses_a_fifo_named_like_an_image(tmp_path: Path) -> None:
    x = fifo(tmp_path / "x.png")
    for args in ([x, SEQ[0]], [SEQ[0], x]):
        r = screenrecord("compare", *map(str, args), env=env(tmp_path), timeout=30)
        assert r.returncode == 1, r
        assert (
            one_line(r.stderr)
            == f"screenrecord: {x}: not a regular file (a FIFO), not read as an image"
        )


def test_dedup_counts_a_fifo_as_an_error_not_as_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    for p in SEQ[:2]:
        shutil.copy(p, folder / p.name)
    x = fifo(folder / "x.png")
    home = tmp_path / "home"
    r = screenrecord("dedup", str(folder), env=env(home), timeout=60)
    assert "3 frames: " in r.stdout and ", 1 error;" in r.stdout, r
    assert f"{x}: not a regular file (a FIFO)" in r.stderr, r.stderr
    # Given by name, it is one frame that could not be read.
    r = screenrecord("dedup", str(x), env=env(home), timeout=60)
    assert "1 frame: " in r.stdout and ", 1 error;" in r.stdout, r
    assert f"{x}: not a regular file (a FIFO)" in r.stderr, r.stderr


@pytest.mark.parametrize("command", [["report"], ["run"], ["once"]])
def test_a_fifo_as_the_config_is_refused_at_start(tmp_path: Path, command: list[str]) -> None:
    config = fifo(tmp_path / "config.toml")
    r = screenrecord("--config", str(config), *command, env=env(tmp_path), timeout=30)
    assert r.returncode == 2, r
    assert one_line(r.stderr).endswith(
        f"screenrecord: {config}: not a regular file (a FIFO); a config is a TOML file"
    )
