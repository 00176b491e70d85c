"""Where the config lives, TOML -> Config, and validation messages that name the file and key."""

from __future__ import annotations

import difflib
import re
import shlex
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, NoReturn

from platformdirs import user_config_dir

from screenrecord.config import units
from screenrecord.errors import ConfigError
from screenrecord.models import DedupSettings, Retention, Tier

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

NEAR_ACTIONS = ("keep", "separate", "drop")
DEVICES = ("auto", "cpu", "cuda", "mps")
FORMATS = ("png", "webp")
CAPTURE_BACKENDS = ("auto", "mss", "grim", "portal")

DEFAULT_TOML = """\
# screenrecord configuration. Every key is optional; the values below are the defaults.
# Check a file with `screenrecord config check FILE`.

# Where frames and the catalog (screenrecord.sqlite) are stored.
# Frames go to ROOT/YYYY-MM/YYYY-MM-DD/YYYY-MM-DD_HH.MM.SS.ffffff_N.png (N = monitor, local time).
root = "~/ScreenRecord"

# Seconds between two captures of every monitor.
interval_seconds = 180

# "all", or a list of monitor numbers counted from 1, e.g. [1, 3].
monitors = "all"

# Keep one frame per monitor at least this often even if nothing changed, so a long still
# screen leaves a dated trace: e.g. "6h", "90m", "1d". "off" keeps only what changed.
keep_at_least_every = "off"

[dedup]
# A frame whose best SSIM against the monitor's recent kept frames is above
# duplicate_threshold is a duplicate and is not written.
duplicate_threshold = 0.99
# Between near_threshold and duplicate_threshold it is a near-duplicate.
near_threshold = 0.95
# What to do with near-duplicates: "keep" (write normally), "separate" (write into the day
# folder's similar/ subfolder) or "drop" (do not write).
near_action = "separate"
# How many recent kept frames per monitor a new frame is compared with.
ring_size = 100
# Where to compute: "auto" (CUDA, then Apple MPS, then CPU), "cpu", "cuda" or "mps".
device = "auto"

[storage]
# "png" or "webp" (lossless).
format = "png"
# PNG zlib level 0-9. 6 was chosen by measurement (bench/tick.py on real screenshots):
# 27% smaller than level 1 for ~25 ms more per 1080p kept frame; 8 and 9 cost 2-6x the time for <8%.
compress_level = 6

[activity]
# Each tick records the focused window's application, executable and title, the idle time and
# whether the screen is locked, where the platform tells (README: "What you were doing").
# false: store the application name only, never window titles.
record_titles = true
# No keyboard or mouse input for this long counts as idle in reports: "5m", "90s", "1h".
idle_after = "5m"
# true: take no screenshot at all while idle (saves the grab).
skip_when_idle = false
# Take no screenshot while the screen is locked, where that can be told.
skip_when_locked = true

[privacy]
# Windows matching a rule are painted over in every frame before it is compared or stored, and
# their titles are never stored (Windows: no screenshot while such a window is focused).
# Application or executable names, case-insensitive.
exclude_apps = []
# exclude_apps = ["KeePassXC", "KeePass", "1Password", "Bitwarden", "Enpass", "Dashlane",
#                 "LastPass", "Keychain Access", "Seahorse", "gnome-keyring"]
# Regular expressions, case-insensitive, searched in window titles.
exclude_titles = []
# exclude_titles = ["private browsing", "incognito", "inprivate"]

[capture]
# How the screen is read: "auto" picks by session (X11, macOS, Windows: mss; sway and other
# wlroots compositors: grim; KDE Plasma on Wayland: the desktop portal; README: "Desktops").
# "mss", "grim" or "portal" forces one; "mss" in a Wayland session reads XWayland only.
backend = "auto"

[retention]
# Nothing is ever removed unless a tier or a budget is set here (README: "Keeping the disk in
# check"). `screenrecord prune` shows what would go; the daemon applies it once a day.
# Frames of today and of the days fewer than this far back are never thinned or deleted.
# keep_all = "14d"
# Older than 14 days: at most 6 frames per monitor and hour; older than 180 days: 12 per day.
# The most distinct frames stay: first and last of each active stretch, the day's highlights.
# thin = ["14d: 6/h", "180d: 12/d"]
# When the kept frames take more than this, thin the oldest days further until they fit.
# max_bytes = "50GB"
"""


@dataclass(frozen=True, slots=True)
class DedupConfig:
    duplicate_threshold: float = 0.99
    near_threshold: float = 0.95
    near_action: str = "separate"
    ring_size: int = 100
    device: str = "auto"


@dataclass(frozen=True, slots=True)
class StorageConfig:
    format: str = "png"
    compress_level: int = 6

    @property
    def ext(self) -> str:
        return self.format


@dataclass(frozen=True, slots=True)
class ActivityConfig:
    record_titles: bool = True
    idle_after: timedelta = timedelta(minutes=5)
    skip_when_idle: bool = False
    skip_when_locked: bool = True


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    exclude_apps: tuple[str, ...] = ()
    """Application or executable names, matched case-insensitively."""
    exclude_titles: tuple[str, ...] = ()
    """Regular expressions, searched case-insensitively in window titles (checked to compile)."""


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    backend: str = "auto"
    """One of CAPTURE_BACKENDS; "auto" lets capture choose by session (session.choose)."""


@dataclass(frozen=True, slots=True)
class Config:
    """A validated configuration; `source` is the file it came from (None: built-in defaults)."""

    root: Path = field(default_factory=lambda: Path("~/ScreenRecord").expanduser())
    interval_seconds: float = 180
    monitors: Literal["all"] | tuple[int, ...] = "all"
    keep_at_least_every: timedelta | None = None
    dedup: DedupConfig = field(default_factory=DedupConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    retention: Retention = field(default_factory=Retention)
    source: Path | None = None

    def dedup_settings(self) -> DedupSettings:
        d = self.dedup
        return DedupSettings(
            duplicate_threshold=d.duplicate_threshold,
            near_threshold=d.near_threshold,
            ring_size=d.ring_size,
            device=d.device,
        )

    @property
    def wanted(self) -> tuple[int, ...] | None:
        """The monitor numbers to capture, None for all of them."""
        return None if isinstance(self.monitors, str) else self.monitors

    def wants(self, monitor: int) -> bool:
        """Whether monitor number `monitor` (from 1) is captured."""
        return self.wanted is None or monitor in self.wanted


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
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; create one with "
            f"`screenrecord config init {shlex.quote(str(path))}`"
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


KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "root",
            "interval_seconds",
            "monitors",
            "keep_at_least_every",
            "dedup",
            "storage",
            "activity",
            "privacy",
            "capture",
            "retention",
        }
    ),
    "dedup": frozenset(
        {"duplicate_threshold", "near_threshold", "near_action", "ring_size", "device"}
    ),
    "storage": frozenset({"format", "compress_level"}),
    "activity": frozenset({"record_titles", "idle_after", "skip_when_idle", "skip_when_locked"}),
    "privacy": frozenset({"exclude_apps", "exclude_titles"}),
    "capture": frozenset({"backend"}),
    "retention": frozenset({"keep_all", "thin", "max_bytes"}),
}
"""The settings each table knows ("" is the top level)."""


def parse(data: dict[str, Any], source: Path | None) -> Config:
    """Validate a TOML document already parsed into `data`."""
    v = _Validator(source)
    top = v.table(data, "")
    dedup = v.table(top.get("dedup", {}), "dedup")
    storage = v.table(top.get("storage", {}), "storage")
    activity = v.table(top.get("activity", {}), "activity")
    privacy = v.table(top.get("privacy", {}), "privacy")
    capture = v.table(top.get("capture", {}), "capture")
    retention = v.table(top.get("retention", {}), "retention")
    v.unknown_keys(
        {
            "": top,
            "dedup": dedup,
            "storage": storage,
            "activity": activity,
            "privacy": privacy,
            "capture": capture,
            "retention": retention,
        }
    )

    d = DedupConfig()
    dup = v.number(dedup, "dedup.duplicate_threshold", d.duplicate_threshold, 0.0, 1.0)
    near = v.number(dedup, "dedup.near_threshold", d.near_threshold, 0.0, 1.0)
    if near > dup:
        v.fail(
            "dedup.near_threshold",
            f"{near} is above dedup.duplicate_threshold {dup}; make it lower or equal",
        )
    d = DedupConfig(
        duplicate_threshold=dup,
        near_threshold=near,
        near_action=v.choice(dedup, "dedup.near_action", d.near_action, NEAR_ACTIONS),
        ring_size=v.integer(dedup, "dedup.ring_size", d.ring_size, 1, 100_000),
        device=v.choice(dedup, "dedup.device", d.device, DEVICES),
    )
    s = StorageConfig()
    s = StorageConfig(
        format=v.choice(storage, "storage.format", s.format, FORMATS),
        compress_level=v.integer(storage, "storage.compress_level", s.compress_level, 0, 9),
    )
    a = ActivityConfig()
    idle_after = v.duration(activity, "activity.idle_after", "5m")
    if idle_after is None:
        v.fail("activity.idle_after", 'must be a duration like "5m", not "off"')
    a = ActivityConfig(
        record_titles=v.boolean(activity, "activity.record_titles", a.record_titles),
        idle_after=idle_after,
        skip_when_idle=v.boolean(activity, "activity.skip_when_idle", a.skip_when_idle),
        skip_when_locked=v.boolean(activity, "activity.skip_when_locked", a.skip_when_locked),
    )
    p = PrivacyConfig(
        exclude_apps=v.strings(privacy, "privacy.exclude_apps"),
        exclude_titles=v.patterns(privacy, "privacy.exclude_titles"),
    )
    return Config(
        root=v.root(top),
        interval_seconds=v.number(top, "interval_seconds", 180, 1.0, 7 * 86400),
        monitors=v.monitors(top),
        keep_at_least_every=v.duration(top, "keep_at_least_every"),
        dedup=d,
        storage=s,
        activity=a,
        privacy=p,
        capture=CaptureConfig(
            v.choice(capture, "capture.backend", "auto", CAPTURE_BACKENDS),
        ),
        retention=v.retention(retention),
        source=source,
    )


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


class _Validator:
    """Turns each bad value into one ConfigError line: `FILE: KEY: problem; what to do`."""

    def __init__(self, source: Path | None) -> None:
        self.where = str(source) if source else "built-in defaults"
        self.base = source.parent if source else Path.cwd()

    def fail(self, key: str, problem: str) -> NoReturn:
        message = f"{self.where}: {key}: {problem}"
        # one line, whatever the file holds: a key may contain a newline
        raise ConfigError(message.replace("\r", "\\r").replace("\n", "\\n"))

    def table(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(name, f"must be a table [{name}], got {_show(value)}")
        return value

    def unknown_keys(self, tables: dict[str, dict[str, Any]]) -> None:
        """Fail naming every unknown key of every table at once, each with what it likely means."""
        found = [
            (name, key) for name, table in tables.items() for key in table if key not in KEYS[name]
        ]
        if not found:
            return
        (name, key), *rest = found
        others = [f"{_full(n, k)}: unknown setting ({_meant(n, k)})" for n, k in rest]
        self.fail(_full(name, key), "; ".join([f"unknown setting ({_meant(name, key)})", *others]))

    def _get(self, table: dict[str, Any], key: str, default: Any) -> Any:
        return table.get(key.rsplit(".", 1)[-1], default)

    def number(
        self, table: dict[str, Any], key: str, default: float, lo: float, hi: float
    ) -> float:
        value = self._get(table, key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"must be a number, got {_show(value)}")
        if not lo <= value <= hi:
            self.fail(key, f"{value} is out of range; use a number from {lo:g} to {hi:g}")
        return value

    def integer(self, table: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
        value = self._get(table, key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, got {_show(value)}")
        if not lo <= value <= hi:
            self.fail(key, f"{value} is out of range; use a whole number from {lo} to {hi}")
        return value

    def choice(
        self, table: dict[str, Any], key: str, default: str, choices: tuple[str, ...]
    ) -> str:
        value = self._get(table, key, default)
        if not isinstance(value, str) or value not in choices:
            self.fail(key, f"{_show(value)} is not one of: {', '.join(choices)}")
        return value

    def root(self, table: dict[str, Any]) -> Path:
        value = table.get("root", "~/ScreenRecord")
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            self.fail("root", f"must be a folder path as a string, got {_show(value)}")
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # ~user of an unknown user, or no home folder at all
            self.fail("root", f"{value!r}: cannot find that home folder; write the full path")
        if not path.is_absolute():
            path = self.base / path
        try:
            for p in (path, *path.parents):
                if p.exists():
                    if not p.is_dir():
                        self.fail("root", f"{p} is a file, not a folder; choose another root")
                    break
        except OSError as e:  # e.g. a name longer than the filesystem allows
            self.fail(
                "root", f"{_show(str(path))} cannot be used ({e.strerror}); choose another root"
            )
        return path

    def monitors(self, table: dict[str, Any]) -> Literal["all"] | tuple[int, ...]:
        value = table.get("monitors", "all")
        if value == "all":
            return "all"
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in value)
        ):
            self.fail(
                "monitors", f'must be "all" or a list of monitor numbers from 1, got {_show(value)}'
            )
        if len(set(value)) != len(value):
            self.fail("monitors", f"lists a monitor twice: {value}")
        return tuple(value)

    def boolean(self, table: dict[str, Any], key: str, default: bool) -> bool:
        value = self._get(table, key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {_show(value)}")
        return value

    def strings(self, table: dict[str, Any], key: str) -> tuple[str, ...]:
        value = self._get(table, key, [])
        if not isinstance(value, list) or any(
            not isinstance(s, str) or not s.strip() for s in value
        ):
            self.fail(key, f'must be a list of names, e.g. ["KeePassXC"], got {_show(value)}')
        return tuple(value)

    def patterns(self, table: dict[str, Any], key: str) -> tuple[str, ...]:
        """A list of regular expressions, each of which must compile."""
        value = self._get(table, key, [])
        if not isinstance(value, list) or any(not isinstance(s, str) or not s for s in value):
            self.fail(
                key,
                f'must be a list of regular expressions, e.g. ["incognito"], got {_show(value)}',
            )
        for pattern in value:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as e:
                self.fail(
                    key, f"{pattern!r} is not a regular expression ({e}); fix it or remove it"
                )
        return tuple(value)

    def duration(self, table: dict[str, Any], key: str, default: str = "off") -> timedelta | None:
        value = self._get(table, key, default)
        if value is False:
            return None
        if not isinstance(value, str):
            self.fail(
                key, f'must be a duration like "6h", "90m", "1d" or "off", got {_show(value)}'
            )
        try:
            d = parse_duration(value)
        except OverflowError:
            self.fail(key, f'{_show(value)} is too long; write at most a few years, or "off"')
        except ValueError:
            self.fail(key, f'{value!r} is not a duration; write e.g. "6h", "90m", "1d" or "off"')
        if d is not None and d.total_seconds() <= 0:
            self.fail(key, f'{value!r} must be longer than zero, or "off"')
        return d

    def retention(self, table: dict[str, Any]) -> Retention:
        """The [retention] table: whole days, tiers ordered by age and thinning, a size."""
        keep = self.days(table, "retention.keep_all", "14d")
        value = table.get("thin", [])
        if not isinstance(value, list) or any(not isinstance(t, str) for t in value):
            self.fail(
                "retention.thin",
                f'must be a list like ["14d: 6/h", "180d: 12/d"], got {_show(value)}',
            )
        tiers: list[Tier] = []
        for text in value:
            m = _TIER_RE.match(text)
            after = _whole_days(m[1]) if m else None
            if m is None or after is None or int(m[2]) < 1:
                self.fail(
                    "retention.thin",
                    f'{text!r} is not a tier; write "AGE: N/h" or "AGE: N/d", e.g. "14d: 6/h"',
                )
            tier = Tier(after, int(m[2]), m[3].lower())
            if tier.after_days < keep:
                self.fail(
                    "retention.thin",
                    f"{text!r} is younger than keep_all ({keep}d); make it {keep}d or older",
                )
            if tiers and tier.after_days <= tiers[-1].after_days:
                self.fail(
                    "retention.thin",
                    f"{text!r} comes after {str(tiers[-1])!r}: list the tiers from youngest to oldest",
                )
            if tiers and tier.per_day > tiers[-1].per_day:
                self.fail(
                    "retention.thin",
                    f"{text!r} keeps more than {str(tiers[-1])!r} before it: each older tier must keep at most as many frames",
                )
            tiers.append(tier)
        budget = table.get("max_bytes", "off")
        if budget in ("off", False):
            max_bytes = None
        elif isinstance(budget, int) and not isinstance(budget, bool):
            max_bytes = budget  # a number of bytes
        else:
            try:
                if not isinstance(budget, str):
                    raise ValueError(budget)
                max_bytes = units.parse_size(budget)
            except (ValueError, OverflowError):
                self.fail(
                    "retention.max_bytes",
                    f'{_show(budget)} is not a size; write e.g. "50GB", "800MB" or "off"',
                )
            if max_bytes <= 0:
                self.fail("retention.max_bytes", f'{budget!r} must be more than zero, or "off"')
        return Retention(keep, tuple(tiers), max_bytes)

    def days(self, table: dict[str, Any], key: str, default: str) -> int:
        """A duration in whole days, at least one: `14d`, `2w`."""
        value = self._get(table, key, default)
        days = _whole_days(value) if isinstance(value, str) else None
        if days is None or days < 1:
            self.fail(key, f'{_show(value)} is not a number of days; write e.g. "14d" or "2w"')
        return days


_TIER_RE = re.compile(r"^\s*([^:]+?)\s*:\s*(\d+)\s*/\s*([hd])\s*$", re.IGNORECASE)


def _whole_days(text: str) -> int | None:
    """`14d` -> 14, `2w` -> 14, `90d` -> 90; None for anything that is not whole days."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text, re.IGNORECASE)
    if m is None:
        return None
    return int(m[1]) * (7 if m[2].lower() == "w" else 1)


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


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def init(path: Path | None = None) -> Path:
    """Write the commented default config to `path` (default: the platform's); never overwrites."""
    path = Path(path) if path is not None else default_path()
    if path.exists():
        raise ConfigError(f"{path}: already exists, left as it is; edit it or remove it first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(DEFAULT_TOML)
    except FileExistsError:
        raise ConfigError(
            f"{path}: already exists, left as it is; edit it or remove it first"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot write ({e.strerror}); choose another path") from None
    return path
