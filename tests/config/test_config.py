"""Config files: defaults, validation messages naming file and key, and the config commands."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.xscreen import screenrecord

from screenrecord import config
from screenrecord.errors import ConfigError
from screenrecord.models import DedupSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        "HOME": str(home / "home"),
        "XDG_CONFIG_HOME": str(home / "xdg"),
        "PATH": "/usr/bin:/bin",
    }
    return screenrecord(*args, env=env)


def test_default_file_text_is_the_built_in_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(config.DEFAULT_TOML)
    cfg = config.load(path)
    assert cfg.source == path
    assert cfg.root == tmp_path / "home" / "ScreenRecord"
    assert (cfg.interval_seconds, cfg.monitors, cfg.keep_at_least_every) == (180, "all", None)
    assert (
        cfg.dedup.near_action,
        cfg.dedup.device,
        cfg.storage.format,
        cfg.storage.compress_level,
    ) == (
        "separate",
        "auto",
        "png",
        6,
    )
    assert cfg.dedup_settings() == DedupSettings(0.99, 0.95, 100, 2, "auto")
    assert config.load(None) == config.Config(root=cfg.root)  # no file at the default path


def test_default_path_follows_the_platform_dirs(tmp_path):
    assert config.default_path() == tmp_path / "xdg" / "screenrecord" / "config.toml"
    config.init()
    assert config.load(None).source == config.default_path()


def test_values_are_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'root = "~/shots"\ninterval_seconds = 2.5\nmonitors = [2, 1]\nkeep_at_least_every = "1h30m"\n'
        '[dedup]\nduplicate_threshold = 0.98\nnear_threshold = 0.9\nnear_action = "drop"\nring_size = 7\ndevice = "cpu"\n'
        '[storage]\nformat = "webp"\n'
    )
    cfg = config.load(path)
    assert cfg.root == tmp_path / "home" / "shots"
    assert cfg.interval_seconds == 2.5 and cfg.monitors == (2, 1)
    assert cfg.keep_at_least_every == timedelta(hours=1, minutes=30)
    assert cfg.dedup_settings() == DedupSettings(0.98, 0.9, 7, 2, "cpu")
    assert cfg.dedup.near_action == "drop" and cfg.storage.ext == "webp"
    assert cfg.wants(1) and not cfg.wants(3)


def test_relative_root_is_relative_to_the_config_file(tmp_path):
    path = tmp_path / "conf" / "c.toml"
    path.parent.mkdir()
    path.write_text('root = "archive"\n')
    assert config.load(path).root == tmp_path / "conf" / "archive"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("colour = 1\n", "colour", "unknown setting"),
        ("[dedup]\nthreshold = 0.9\n", "dedup.threshold", "unknown setting"),
        ("[display]\nx = 1\n", "display", "unknown setting"),
        ("dedup = 3\n", "dedup", "must be a table"),
        ("interval_seconds = -5\n", "interval_seconds", "out of range"),
        ("interval_seconds = 0\n", "interval_seconds", "out of range"),
        ('interval_seconds = "180"\n', "interval_seconds", "must be a number"),
        ("interval_seconds = true\n", "interval_seconds", "must be a number"),
        (
            "[dedup]\nnear_threshold = 0.995\n",
            "dedup.near_threshold",
            "above dedup.duplicate_threshold",
        ),
        ("[dedup]\nduplicate_threshold = 1.5\n", "dedup.duplicate_threshold", "out of range"),
        (
            '[dedup]\nnear_action = "delete"\n',
            "dedup.near_action",
            "not one of: keep, separate, drop",
        ),
        ("[dedup]\nring_size = 0\n", "dedup.ring_size", "out of range"),
        ("[dedup]\nring_size = 10.5\n", "dedup.ring_size", "whole number"),
        ('[dedup]\ndevice = "tpu"\n', "dedup.device", "not one of"),
        ('[storage]\nformat = "jpeg"\n', "storage.format", "not one of: png, webp"),
        ("[storage]\ncompress_level = 12\n", "storage.compress_level", "out of range"),
        ("monitors = []\n", "monitors", "list of monitor numbers"),
        ("monitors = [0]\n", "monitors", "list of monitor numbers"),
        ('monitors = "some"\n', "monitors", "list of monitor numbers"),
        ("monitors = [1, 1]\n", "monitors", "twice"),
        ('keep_at_least_every = "soon"\n', "keep_at_least_every", "not a duration"),
        ('keep_at_least_every = "0h"\n', "keep_at_least_every", "longer than zero"),
        ("keep_at_least_every = 6\n", "keep_at_least_every", "must be a duration"),
        ("root = 5\n", "root", "folder path"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path, text, key, words):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    message = str(e.value)
    assert message.startswith(f"{path}: {key}: ") and words in message
    assert "\n" not in message


def test_root_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "c.toml"
    path.write_text(f'root = "{tmp_path}/afile/archive"\n')
    with pytest.raises(ConfigError, match=r"c\.toml: root: .*afile is a file, not a folder"):
        config.load(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file; create one with `screenrecord"):
        config.load(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("root = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML \(.*line 1"):
        config.load(tmp_path / "bad.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        config.load(tmp_path / "bin.toml")
    with pytest.raises(ConfigError, match="is a folder"):
        config.load(tmp_path)


def test_durations():
    assert config.parse_duration("6h") == timedelta(hours=6)
    assert config.parse_duration("1d 2h") == timedelta(days=1, hours=2)
    assert config.parse_duration("90m") == timedelta(minutes=90)
    assert config.parse_duration("off") is None
    for bad in ("6", "h", "6x", "6h later", "-1h"):
        with pytest.raises(ValueError):
            config.parse_duration(bad)


def test_config_commands(home):
    default = home / "xdg" / "screenrecord" / "config.toml"
    r = cli("config", "path", home=home)
    assert (r.returncode, r.stdout.strip()) == (0, str(default))
    r = cli("config", "check", home=home)
    assert r.returncode == 0 and "built-in defaults" in r.stdout
    r = cli("config", "init", home=home)
    assert r.returncode == 0 and default.read_text() == config.DEFAULT_TOML
    r = cli("config", "init", home=home)
    assert (
        r.returncode == 2
        and "already exists" in r.stderr
        and default.read_text() == config.DEFAULT_TOML
    )
    r = cli("config", "check", home=home)
    assert r.returncode == 0 and r.stdout.startswith(f"{default}: ok")
    bad = home / "bad.toml"
    bad.write_text("[dedup]\nnear_threshold = 0.999\n")
    r = cli("config", "check", str(bad), home=home)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"screenrecord: {bad}: dedup.near_threshold: 0.999 is above")
    r = cli("run", "--config", str(bad), home=home)
    assert r.returncode == 2 and "dedup.near_threshold" in r.stderr and "Traceback" not in r.stderr
