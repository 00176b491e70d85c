"""Every setting, once: its table, name, default, kind and the comment `config init` writes.

Config's defaults (model.py), the validation (load.py) and the commented file `config init`
writes (template.py) are all read from `SETTINGS`; a new setting is a row here and a field of
its section's dataclass in model.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from screenrecord.capture import session
from screenrecord.config.kinds import (
    Boolean,
    Choice,
    Days,
    Duration,
    Folder,
    Integer,
    Kind,
    Monitors,
    Names,
    Number,
    Patterns,
    Size,
    Tiers,
)

NEAR_ACTIONS = ("keep", "separate", "drop")
DEVICES = ("auto", "cpu", "cuda", "mps")
FORMATS = ("png", "webp")


def capture_backends() -> tuple[str, ...]:
    """What capture.backend accepts: "auto" and the name of each of capture's backends, as the
    table reads at this moment."""
    return ("auto", *session.BACKENDS)


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: where it is, its default as the file spells it, what it may be, and the
    comment written above it."""

    section: str
    """Its table: "dedup", ...; "" for the top level."""
    name: str
    default: Any
    """As a TOML file spells it ("5m", "off", "~/ScreenRecord"); `value` is what Config holds."""
    kind: Kind
    help: str
    """The comment `config init` writes above it, one line per line."""
    example: Any = None
    """A value `config init` shows commented out: after the default, or in its stead in a
    section that sets nothing (retention)."""
    attr: str = ""
    """Its attribute on the section's object, where that is not `name`."""

    @property
    def key(self) -> str:
        """`TABLE.NAME`, as messages name it; `NAME` at the top level."""
        return f"{self.section}.{self.name}" if self.section else self.name

    @property
    def attribute(self) -> str:
        return self.attr or self.name

    @property
    def value(self) -> Any:
        """The built-in default as Config holds it (a Path, a timedelta, a tuple...)."""
        return self.kind.default(self.default)


@dataclass(frozen=True, slots=True)
class Section:
    """A table of the file, in the file's order; "" is the top level."""

    name: str
    help: str = ""
    """The comment under `[name]`, above its first setting."""
    commented: bool = False
    """Whether `config init` writes its settings commented out: nothing is set by default."""


SECTIONS = (
    Section(""),
    Section("dedup"),
    Section("storage"),
    Section(
        "activity",
        "Each tick records the focused window's application, executable and title, the idle "
        "time and\nwhether the screen is locked, where the platform tells\n(docs/desktops.md: "
        '"What you were doing").',
    ),
    Section(
        "privacy",
        "Windows matching a rule are painted over in every frame before it is compared or "
        "stored, and\ntheir titles are never stored (Windows: no screenshot while such a "
        "window is focused).",
    ),
    Section("capture"),
    Section(
        "retention",
        "Nothing is ever removed unless a tier or a budget is set here (docs/retention.md:\n"
        '"Keeping the disk in check"). `screenrecord prune` shows what would go; the daemon '
        "applies it\nonce a day.",
        commented=True,
    ),
)

SETTINGS = (
    Setting(
        "",
        "root",
        "~/ScreenRecord",
        Folder(),
        "Where frames and the catalog (screenrecord.sqlite) are stored.\n"
        "Frames go to ROOT/YYYY-MM/YYYY-MM-DD/YYYY-MM-DD_HH.MM.SS.ffffff_N.png "
        "(N = monitor, local time).",
    ),
    Setting(
        "",
        "interval_seconds",
        180,
        Number(1.0, 7 * 86400),
        "Seconds between two captures of every monitor.",
    ),
    Setting(
        "",
        "monitors",
        "all",
        Monitors(),
        '"all", or a list of monitor numbers counted from 1, e.g. [1, 3].',
    ),
    Setting(
        "",
        "keep_at_least_every",
        "off",
        Duration(),
        "Keep one frame per monitor at least this often even if nothing changed, so a long "
        'still\nscreen leaves a dated trace: e.g. "6h", "90m", "1d". "off" keeps only what '
        "changed.",
    ),
    Setting(
        "dedup",
        "duplicate_threshold",
        0.99,
        Number(0.0, 1.0),
        "A frame whose best SSIM against the monitor's recent kept frames is above\n"
        "duplicate_threshold is a duplicate and is not written.",
    ),
    Setting(
        "dedup",
        "near_threshold",
        0.95,
        Number(0.0, 1.0, at_most="dedup.duplicate_threshold"),
        "Between near_threshold and duplicate_threshold it is a near-duplicate.",
    ),
    Setting(
        "dedup",
        "near_action",
        "separate",
        Choice(NEAR_ACTIONS),
        'What to do with near-duplicates: "keep" (write normally), "separate" (write into the '
        'day\nfolder\'s similar/ subfolder) or "drop" (do not write).',
    ),
    Setting(
        "dedup",
        "ring_size",
        100,
        Integer(1, 100_000),
        "How many recent kept frames per monitor a new frame is compared with.",
    ),
    Setting(
        "dedup",
        "device",
        "auto",
        Choice(DEVICES),
        'Where to compute: "auto" (CUDA, then Apple MPS, then CPU), "cpu", "cuda" or "mps".',
    ),
    Setting(
        "dedup",
        "keep_local_changes",
        True,
        Boolean(),
        "true: a frame the score calls a duplicate is still kept, as a near-duplicate, when it\n"
        "changed by at least a line of text (a region ~96 px wide) outside what changes at most\n"
        "frames (clocks, carets). false: the score alone decides.",
    ),
    Setting("storage", "format", "png", Choice(FORMATS), '"png" or "webp" (lossless).'),
    Setting(
        "storage",
        "compress_level",
        6,
        Integer(0, 9),
        "PNG zlib level 0-9. 6 was chosen by measurement (bench/tick.py on real screenshots):\n"
        "27% smaller than level 1 for ~25 ms more per 1080p kept frame; 8 and 9 cost 2-6x the "
        "time for <8%.",
    ),
    Setting(
        "activity",
        "record_titles",
        True,
        Boolean(),
        "false: store the application name only, never window titles.",
    ),
    Setting(
        "activity",
        "idle_after",
        "5m",
        Duration(off=False),
        'No keyboard or mouse input for this long counts as idle in reports: "5m", "90s", "1h".',
    ),
    Setting(
        "activity",
        "skip_when_idle",
        False,
        Boolean(),
        "true: take no screenshot at all while idle (saves the grab).",
    ),
    Setting(
        "activity",
        "skip_when_locked",
        True,
        Boolean(),
        "Take no screenshot while the screen is locked, where that can be told.",
    ),
    Setting(
        "privacy",
        "exclude_apps",
        [],
        Names(),
        "Application or executable names, case-insensitive.",
        example=[
            "KeePassXC",
            "KeePass",
            "1Password",
            "Bitwarden",
            "Enpass",
            "Dashlane",
            "LastPass",
            "Keychain Access",
            "Seahorse",
            "gnome-keyring",
        ],
    ),
    Setting(
        "privacy",
        "exclude_titles",
        [],
        Patterns(),
        "Regular expressions, case-insensitive, searched in window titles.",
        example=["private browsing", "incognito", "inprivate"],
    ),
    Setting(
        "capture",
        "backend",
        "auto",
        Choice(capture_backends),
        'How the screen is read: "auto" picks by session (X11, macOS, Windows: mss; sway and '
        "other\nwlroots compositors: grim; KDE Plasma on Wayland: the desktop portal; README: "
        '"Desktops").\n"mss", "grim" or "portal" forces one; "mss" in a Wayland session reads '
        "XWayland only.",
    ),
    Setting(
        "retention",
        "keep_all",
        "14d",
        Days(),
        "Frames of today and of the days fewer than this far back are never thinned or deleted.",
        attr="keep_all_days",
    ),
    Setting(
        "retention",
        "thin",
        [],
        Tiers(after="retention.keep_all"),
        "Older than 14 days: at most 6 frames per monitor and hour; older than 180 days: 12 per "
        "day.\nThe most distinct frames stay: first and last of each active stretch, the day's "
        "highlights.",
        example=["14d: 6/h", "180d: 12/d"],
    ),
    Setting(
        "retention",
        "max_bytes",
        "off",
        Size(),
        "When the kept frames take more than this, thin the oldest days further until they fit.",
        example="50GB",
    ),
)
"""Every setting, in the order of the file `config init` writes."""

BY_KEY = {s.key: s for s in SETTINGS}
"""The settings by `TABLE.NAME` (`NAME` at the top level)."""

KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        [s.name for s in SETTINGS if not s.section] + [t.name for t in SECTIONS if t.name]
    ),
    **{
        t.name: frozenset(s.name for s in SETTINGS if s.section == t.name)
        for t in SECTIONS
        if t.name
    },
}
"""The settings each table knows ("" is the top level, where the tables are known too)."""


def defaults(section: str) -> dict[str, Any]:
    """The built-in defaults of one table, by attribute, as its object takes them."""
    return {s.attribute: s.value for s in SETTINGS if s.section == section}
