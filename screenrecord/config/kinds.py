"""What a setting's value may be: each kind checks one value and turns it into what Config holds.

A kind's `read` fails through the `Checker` with one line, `FILE: KEY: problem; what to do`;
its `default` turns a built-in default, spelled as the file spells it ("5m", "off",
"~/ScreenRecord"), into the value Config holds, without checking it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from screenrecord.config import units
from screenrecord.errors import ConfigError
from screenrecord.models import Tier

Found = Mapping[str, Any]
"""The values read so far, by full key (`dedup.duplicate_threshold`)."""


class Checker:
    """Turns each bad value into one ConfigError line: `FILE: KEY: problem; what to do`."""

    def __init__(self, source: Path | None) -> None:
        self.where = str(source) if source else "built-in defaults"
        self.base = source.parent if source else Path.cwd()
        """Where a relative root starts: the config file's folder."""

    def fail(self, key: str, problem: str) -> NoReturn:
        message = f"{self.where}: {key}: {problem}"
        # one line, whatever the file holds: a key may contain a newline
        raise ConfigError(message.replace("\r", "\\r").replace("\n", "\\n"))


def show(value: Any) -> str:
    """A value as a message quotes it, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Kind:
    """A type of value, with its range or choices."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> Any:
        """The value the file gives `key`, checked; fail naming `key` where it is wrong."""
        raise NotImplementedError

    def default(self, value: Any) -> Any:
        """The built-in default `value` as Config holds it."""
        return value


class Number(Kind):
    """A number from `lo` to `hi`; `at_most`: the full key of a setting read before it that
    it may not exceed."""

    def __init__(self, lo: float, hi: float, at_most: str | None = None) -> None:
        self.lo, self.hi, self.at_most = lo, hi, at_most

    def read(self, check: Checker, key: str, value: Any, found: Found) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            check.fail(key, f"must be a number, got {show(value)}")
        if not self.lo <= value <= self.hi:
            check.fail(
                key, f"{value} is out of range; use a number from {self.lo:g} to {self.hi:g}"
            )
        if self.at_most is not None and value > found[self.at_most]:
            check.fail(
                key,
                f"{value} is above {self.at_most} {found[self.at_most]}; make it lower or equal",
            )
        return value


class Integer(Kind):
    """A whole number from `lo` to `hi`."""

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def read(self, check: Checker, key: str, value: Any, found: Found) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            check.fail(key, f"must be a whole number, got {show(value)}")
        if not self.lo <= value <= self.hi:
            check.fail(
                key, f"{value} is out of range; use a whole number from {self.lo} to {self.hi}"
            )
        return value


class Choice(Kind):
    """One of a few names; `choices` may be a function, asked at every read, where the names
    are another table's (capture's backends)."""

    def __init__(self, choices: Iterable[str] | Callable[[], Iterable[str]]) -> None:
        self._choices = choices

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._choices() if callable(self._choices) else self._choices)

    def read(self, check: Checker, key: str, value: Any, found: Found) -> str:
        choices = self.choices
        if not isinstance(value, str) or value not in choices:
            check.fail(key, f"{show(value)} is not one of: {', '.join(choices)}")
        return value


class Boolean(Kind):
    def read(self, check: Checker, key: str, value: Any, found: Found) -> bool:
        if not isinstance(value, bool):
            check.fail(key, f"must be true or false, got {show(value)}")
        return value


class Duration(Kind):
    """A duration, `"6h"`, `"90m"`, `"1h30m"`, `"2d"`; "off" (or false) is None unless `off`
    is False."""

    def __init__(self, off: bool = True) -> None:
        self.off = off

    def read(self, check: Checker, key: str, value: Any, found: Found) -> timedelta | None:
        d = self._read(check, key, value)
        if d is None and not self.off:
            check.fail(key, 'must be a duration like "5m", not "off"')
        return d

    def _read(self, check: Checker, key: str, value: Any) -> timedelta | None:
        if value is False:
            return None
        if not isinstance(value, str):
            check.fail(
                key, f'must be a duration like "6h", "90m", "1d" or "off", got {show(value)}'
            )
        try:
            d = parse_duration(value)
        except OverflowError:
            check.fail(key, f'{show(value)} is too long; write at most a few years, or "off"')
        except ValueError:
            check.fail(key, f'{value!r} is not a duration; write e.g. "6h", "90m", "1d" or "off"')
        if d is not None and d.total_seconds() <= 0:
            check.fail(key, f'{value!r} must be longer than zero, or "off"')
        return d

    def default(self, value: Any) -> timedelta | None:
        return parse_duration(value)


class Names(Kind):
    """A list of names (applications), none blank."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> tuple[str, ...]:
        if not isinstance(value, list) or any(
            not isinstance(s, str) or not s.strip() for s in value
        ):
            check.fail(key, f'must be a list of names, e.g. ["KeePassXC"], got {show(value)}')
        return tuple(value)

    def default(self, value: Any) -> tuple[str, ...]:
        return tuple(value)


class Patterns(Kind):
    """A list of regular expressions, each of which must compile."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> tuple[str, ...]:
        if not isinstance(value, list) or any(not isinstance(s, str) or not s for s in value):
            check.fail(
                key,
                f'must be a list of regular expressions, e.g. ["incognito"], got {show(value)}',
            )
        for pattern in value:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as e:
                check.fail(
                    key, f"{pattern!r} is not a regular expression ({e}); fix it or remove it"
                )
        return tuple(value)

    def default(self, value: Any) -> tuple[str, ...]:
        return tuple(value)


class Folder(Kind):
    """A folder path: `~` expanded, relative to the config file's folder, not under a file."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> Path:
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            check.fail(key, f"must be a folder path as a string, got {show(value)}")
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # ~user of an unknown user, or no home folder at all
            check.fail(key, f"{value!r}: cannot find that home folder; write the full path")
        if not path.is_absolute():
            path = check.base / path
        try:
            for p in (path, *path.parents):
                if p.exists():
                    if not p.is_dir():
                        check.fail(key, f"{p} is a file, not a folder; choose another root")
                    break
        except OSError as e:  # e.g. a name longer than the filesystem allows
            check.fail(key, f"{show(str(path))} cannot be used ({e.strerror}); choose another root")
        return path

    def default(self, value: Any) -> Path:
        return Path(value).expanduser()


class Monitors(Kind):
    """ "all", or a list of distinct monitor numbers counted from 1."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> Any:
        if value == "all":
            return "all"
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in value)
        ):
            check.fail(key, f'must be "all" or a list of monitor numbers from 1, got {show(value)}')
        if len(set(value)) != len(value):
            check.fail(key, f"lists a monitor twice: {value}")
        return tuple(value)

    def default(self, value: Any) -> Any:
        return value if value == "all" else tuple(value)


class Days(Kind):
    """A duration in whole days, zero or more: `14d`, `2w`; `0d` is today alone."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> int:
        days = whole_days(value) if isinstance(value, str) else None
        if days is None:
            check.fail(
                key,
                f'{show(value)} is not a number of whole days; write e.g. "14d", "2w" or "0d" (today only)',
            )
        return days

    def default(self, value: Any) -> int | None:
        return whole_days(value)


class Tiers(Kind):
    """Thinning tiers, `"AGE: N/h"` or `"AGE: N/d"`, from youngest to oldest, each keeping at
    most as many frames as the one before and none younger than `after` (a full key of Days)."""

    def __init__(self, after: str) -> None:
        self.after = after

    def read(self, check: Checker, key: str, value: Any, found: Found) -> tuple[Tier, ...]:
        keep = found[self.after]
        name = self.after.rsplit(".", 1)[-1]
        if not isinstance(value, list) or any(not isinstance(t, str) for t in value):
            check.fail(key, f'must be a list like ["14d: 6/h", "180d: 12/d"], got {show(value)}')
        tiers: list[Tier] = []
        for text in value:
            tier = _tier(text)
            if tier is None:
                check.fail(
                    key, f'{text!r} is not a tier; write "AGE: N/h" or "AGE: N/d", e.g. "14d: 6/h"'
                )
            if tier.after_days < keep:
                check.fail(
                    key, f"{text!r} is younger than {name} ({keep}d); make it {keep}d or older"
                )
            if tiers and tier.after_days <= tiers[-1].after_days:
                check.fail(
                    key,
                    f"{text!r} comes after {str(tiers[-1])!r}: list the tiers from youngest to oldest",
                )
            if tiers and tier.per_day > tiers[-1].per_day:
                check.fail(
                    key,
                    f"{text!r} keeps more than {str(tiers[-1])!r} before it: each older tier must keep at most as many frames",
                )
            tiers.append(tier)
        return tuple(tiers)

    def default(self, value: Any) -> tuple[Tier, ...]:
        return tuple(t for t in map(_tier, value) if t is not None)


class Size(Kind):
    """A number of bytes, or a size, `"50GB"`, `"800MB"`; "off" (or false) is None."""

    def read(self, check: Checker, key: str, value: Any, found: Found) -> int | None:
        if value in ("off", False):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # a number of bytes, taken as it is: not checked to be positive
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            n = units.parse_size(value)
        except (ValueError, OverflowError):
            check.fail(key, f'{show(value)} is not a size; write e.g. "50GB", "800MB" or "off"')
        if n <= 0:
            check.fail(key, f'{value!r} must be more than zero, or "off"')
        return n

    def default(self, value: Any) -> int | None:
        return None if value == "off" else units.parse_size(value)


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta | None:
    """'6h', '90m', '1h30m', '2d', '45s' -> timedelta; 'off' -> None; anything else -> ValueError."""
    t = text.strip().lower()
    if t in ("off", "never", "none", ""):
        return None
    pos, seconds = 0, 0.0
    for m in _DURATION_RE.finditer(t):
        if m.start() != pos and t[pos : m.start()].strip():
            raise ValueError(text)
        seconds += float(m[1]) * _UNITS[m[2]]
        pos = m.end()
    if pos == 0 or t[pos:].strip():
        raise ValueError(text)
    return timedelta(seconds=seconds)


_TIER_RE = re.compile(r"^\s*([^:]+?)\s*:\s*(\d+)\s*/\s*([hd])\s*$", re.IGNORECASE)


def _tier(text: str) -> Tier | None:
    """`"14d: 6/h"` -> Tier(14, 6, "h"); None for anything that is not a tier."""
    m = _TIER_RE.match(text)
    after = whole_days(m[1]) if m else None
    if m is None or after is None or int(m[2]) < 1:
        return None
    return Tier(after, int(m[2]), m[3].lower())


def whole_days(text: str) -> int | None:
    """`14d` -> 14, `2w` -> 14, `90d` -> 90; None for anything that is not whole days."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text, re.IGNORECASE)
    if m is None:
        return None
    return int(m[1]) * (7 if m[2].lower() == "w" else 1)
