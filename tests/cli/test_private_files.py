"""What the command line writes outside the archive is private like the archive, whatever the
umask: the `run --log` file (it tells when the screen was locked and the user idle), the file
`config init` writes, and the folders `service install` creates. Files 0600, the folders made
for them 0700; a folder that was already there keeps its mode. Each command runs for real, as a
subprocess under umask 000 and 022."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.xscreen import REPO

from screenrecord import service

UMASKS = [0o000, 0o022]


def run(home: Path, umask: int, *args: str) -> subprocess.CompletedProcess:
    """`screenrecord ARGS` with HOME `home`, no display, under `umask`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env = {k: v for k, v in env.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "screenrecord", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        umask=umask,
    )


def modes(top: Path) -> dict[str, int]:
    """Permission bits of everything under `top`, by path relative to it; not what systemctl
    makes itself (`systemctl --user enable` makes `*.target.wants/` 0755, and its link)."""
    return {
        str(p.relative_to(top)): stat.S_IMODE(p.lstat().st_mode)
        for p in top.rglob("*")
        if not any(part.endswith(".wants") for part in p.relative_to(top).parts)
    }


def made_private(before: dict[str, int], after: dict[str, int], top: Path) -> dict[str, int]:
    """What is not as it should be: new folders not 0700, new files not 0600, and anything that
    was there before whose mode changed."""
    wrong = {}
    for name, mode in after.items():
        if name in before:
            if mode != before[name]:
                wrong[name] = mode
        elif mode != (0o700 if (top / name).is_dir() else 0o600):
            wrong[name] = mode
    return wrong


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A HOME with a shared folder already there (0755): ours to write into, not to change."""
    home = tmp_path / "home"
    (home / "shared").mkdir(parents=True)
    for d in (home, home / "shared"):
        d.chmod(0o755)
    return home


@pytest.mark.parametrize("umask", UMASKS)
def test_the_run_log_is_private(home, umask):
    log = home / "shared" / "logs" / "screenrecord" / "run.log"
    before = modes(home)
    r = run(home, umask, "run", "--log", str(log))  # no display: it fails, into its log
    assert r.returncode != 0
    assert "screenrecord:" in log.read_text()
    assert made_private(before, modes(home), home) == {}
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


@pytest.mark.parametrize("umask", UMASKS)
def test_config_init_writes_a_private_file(home, umask):
    path = home / "shared" / "settings" / "screenrecord" / "config.toml"
    before = modes(home)
    r = run(home, umask, "config", "init", str(path))
    assert r.returncode == 0, r.stderr
    assert "interval" in path.read_text()
    assert made_private(before, modes(home), home) == {}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("umask", UMASKS)
def test_config_init_at_the_default_place_makes_its_folders_private(home, umask):
    r = run(home, umask, "config", "init")
    assert r.returncode == 0, r.stderr
    path = home / ".config" / "screenrecord" / "config.toml"
    assert path.is_file()
    assert modes(home / ".config") == {"screenrecord": 0o700, "screenrecord/config.toml": 0o600}
    assert stat.S_IMODE((home / ".config").stat().st_mode) == 0o700


@pytest.mark.parametrize("umask", UMASKS)
@pytest.mark.parametrize("target", service.TARGETS)
def test_service_install_makes_private_folders_and_leaves_others(home, tmp_path, umask, target):
    """The folders install creates (the service manager's folder, its parents that were missing:
    `~/.config` on a new account) are 0700; a `~/.config` already there keeps its 0755."""
    config = tmp_path / "c.toml"
    config.write_text(f'root = "{tmp_path / "archive"}"\n')
    fresh = run(home, umask, "service", "install", "--target", target, "--no-start")
    assert fresh.returncode == 0, fresh.stderr
    file = service.layout(target, service.Host("linux", {"HOME": str(home)}, Path(), 0)).file
    assert file.is_file()
    new = {n: m for n, m in modes(home).items() if (home / n).is_dir() and n != "shared"}
    assert new and set(new.values()) == {0o700}, new

    other = tmp_path / "other"
    (other / ".config").mkdir(parents=True)
    (other / ".config").chmod(0o755)
    before = modes(other)
    r = run(other, umask, "service", "install", "--target", target, "--no-start")
    assert r.returncode == 0, r.stderr
    after = modes(other)
    assert after[".config"] == 0o755
    assert {n: m for n, m in after.items() if (other / n).is_dir() and n not in before} == {
        n: 0o700 for n in after if (other / n).is_dir() and n not in before
    }
