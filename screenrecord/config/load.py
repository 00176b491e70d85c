"""Where the config lives, TOML -> Config, and validation messages that name the file and key."""

from __future__ import annotations

import difflib
import shlex
import sys
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from screenrecord.archive import store
from screenrecord.config.kinds import Checker, Number, parse_duration, show
from screenrecord.config.model import Config, assemble
from screenrecord.config.settings import BY_KEY, KEYS, SECTIONS, SETTINGS, Setting
from screenrecord.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def default_path() -> Path:
    """The platform's config file: e.g. ~/.config/screenrecord/config.toml on Linux."""
    return Path(user_config_dir("screenrecord")) / "config.toml"


def load(path: Path | None = None) -> Config:
    """Read and validate a config file.

    None means the default file if it exists, else the built-in defaults; an explicit path
    that does not exist is an error.
    """
    if path is None:
        path = default_path()
        if not path.exists():
            return parse({}, None)
    path = Path(path)
    try:
        text = store.read_regular(path).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; create one with "
            f"`screenrecord config init {shlex.quote(str(path))}`"
        ) from None
    except store.NotRegularFile as e:
        raise ConfigError(
            f"{path}: not a regular file ({e.kind}); a config is a TOML file"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8 TOML") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the syntax") from None
    return parse(data, path)


def every(text: str) -> float:
    """The seconds of `run --every TEXT` ("10s", "5m", "1h"), within the range interval_seconds
    allows in the file; UsageError naming the option otherwise."""
    kind = BY_KEY["interval_seconds"].kind
    assert isinstance(kind, Number)
    try:
        d = parse_duration(text)
    except (ValueError, OverflowError):
        d = None
    seconds = d.total_seconds() if d is not None else None
    if seconds is None or not kind.lo <= seconds <= kind.hi:
        raise UsageError(
            f'--every {text}: give an interval from {kind.lo:g}s to {kind.hi / 86400:g}d, e.g. "10s" or "5m"'
        )
    return seconds


CHECK_ORDER = ("dedup", "storage", "activity.idle_after", "activity", "privacy", "", "capture")
"""The order values are checked in (tables, or single settings before their table's others),
which decides the one error a file with several wrong values reports; retention comes last."""


def _check_order(s: Setting) -> int:
    for place, name in enumerate(CHECK_ORDER):
        if name in (s.key, s.section):
            return place
    return len(CHECK_ORDER)


def parse(data: dict[str, Any], source: Path | None) -> Config:
    """Validate a TOML document already parsed into `data`."""
    check = Checker(source)
    tables = {"": _table(check, data, "")}
    for section in SECTIONS[1:]:
        tables[section.name] = _table(check, tables[""].get(section.name, {}), section.name)
    _unknown_keys(check, tables)
    found: dict[str, Any] = {}
    for s in sorted(SETTINGS, key=_check_order):
        value = tables[s.section].get(s.name, s.default)
        found[s.key] = s.kind.read(check, s.key, value, found)
    return assemble(found, source)


def _table(check: Checker, value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.fail(name, f"must be a table [{name}], got {show(value)}")
    return value


def _unknown_keys(check: Checker, tables: dict[str, dict[str, Any]]) -> None:
    """Fail naming every unknown key of every table at once, each with what it likely means."""
    found = [
        (name, key) for name, table in tables.items() for key in table if key not in KEYS[name]
    ]
    if not found:
        return
    (name, key), *rest = found
    others = [f"{_full(n, k)}: unknown setting ({_meant(n, k)})" for n, k in rest]
    check.fail(_full(name, key), "; ".join([f"unknown setting ({_meant(name, key)})", *others]))


def _full(table: str, key: str) -> str:
    """`KEY`, or `TABLE.KEY`, quoted when it would not read as a key."""
    full = f"{table}.{key}" if table else key
    return full if full.isprintable() and key.strip() else repr(full)


def _meant(table: str, key: str) -> str:
    """What an unknown `key` of `table` most likely means: a close spelling in the same table
    (`near_treshold`), the same name in another table (`ring_size` at the top level), or else
    the keys the table knows."""
    close = difflib.get_close_matches(key, sorted(KEYS[table]), n=1)
    if close:
        return f"did you mean {_full(table, close[0])}?"
    for other, keys in KEYS.items():
        if other != table and key in keys:
            return f"did you mean {_full(other, key)}?"
    return f"known here: {', '.join(sorted(KEYS[table]))}"
