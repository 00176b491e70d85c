"""The command line's parser: options shared by every command, before or after its name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.xscreen import screenrecord

from screenrecord import cli


def env(home: Path) -> dict[str, str]:
    """No display, and HOME and the XDG dirs in a temporary folder."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'root = "{tmp_path / "archive"}"\ninterval_seconds = 60\n')
    return path


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["status"], 0),
        (["-v", "status"], 1),
        (["status", "-v"], 1),
        (["--verbose", "status"], 1),
        (["-vv", "once"], 2),
        (["once", "-vv"], 2),
        (["-vv", "service", "install", "--dry-run"], 2),
        (["service", "install", "-vv", "--dry-run"], 2),
        (["-v", "compare", "a.png", "b.png"], 1),
        (["config", "check", "-v"], 1),
    ],
)
def test_verbose_before_or_after_the_command(argv: list[str], verbose: int) -> None:
    assert cli._parser().parse_args(argv).verbose == verbose


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "c.toml", "status"],
        ["status", "--config", "c.toml"],
        ["-v", "--config", "c.toml", "service", "install"],
        ["service", "install", "--config", "c.toml", "-v"],
    ],
)
def test_config_before_or_after_the_command(argv: list[str]) -> None:
    assert cli._parser().parse_args(argv).config == "c.toml"


def test_status_takes_verbose_after_its_name(tmp_path: Path, config: Path) -> None:
    for argv in (["-v", "status"], ["status", "-v"]):
        r = screenrecord(*argv, "--config", str(config), env=env(tmp_path))
        assert r.returncode == 0, r.stderr
        assert f"config      {config}" in r.stdout


def test_config_given_before_the_command_is_used(tmp_path: Path, config: Path) -> None:
    r = screenrecord("--config", str(config), "status", env=env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert f"config      {config}" in r.stdout


@pytest.mark.parametrize("argv", [["-vv", "once"], ["once", "-vv"]])
def test_debug_output_with_vv_before_or_after_once(
    tmp_path: Path, config: Path, argv: list[str]
) -> None:
    """No display here: `once` fails, and -vv adds the debug traceback behind the one line."""
    r = screenrecord(*argv, "--config", str(config), env=env(tmp_path), timeout=120)
    assert r.returncode == 2, r.stderr
    assert "screenrecord: DEBUG: error" in r.stderr and "Traceback" in r.stderr
    quiet = screenrecord("once", "--config", str(config), env=env(tmp_path), timeout=120)
    assert quiet.returncode == 2
    assert len(quiet.stderr.strip().splitlines()) == 1, quiet.stderr


def test_config_is_refused_by_a_command_that_reads_none(tmp_path: Path) -> None:
    r = screenrecord("--config", "c.toml", "compare", "a.png", "b.png", env=env(tmp_path))
    assert r.returncode == 2
    assert "--config: `compare` reads no config" in r.stderr


def test_commands_without_a_config_do_not_offer_one(tmp_path: Path) -> None:
    for argv in (["compare"], ["undo"], ["config", "path"], ["service", "logs"]):
        r = screenrecord(*argv, "--help", env=env(tmp_path))
        assert r.returncode == 0, r.stderr
        assert "--verbose" in r.stdout and "--config" not in r.stdout, (argv, r.stdout)


def test_config_check_exits_0(tmp_path: Path, config: Path) -> None:
    assert cli.main(["config", "check", str(config)]) == 0
    r = screenrecord("config", "check", env=env(tmp_path))  # no file: the defaults apply
    assert r.returncode == 0, r.stderr
    assert "no config file; the built-in defaults apply" in r.stdout
