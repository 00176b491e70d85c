"""Values shared by every module: no logic, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image


class Kind(str, Enum):
    """What was decided about a frame: the engine's verdict, or ERROR when none could be made."""

    NEW = "new"
    NEAR = "near"
    DUPLICATE = "duplicate"
    ERROR = "error"
    """No decision: the frame could not be grabbed or read (never returned by the engine)."""
    LOCKED = "locked"
    """No screenshot: the screen was locked (`activity.skip_when_locked`)."""
    IDLE = "idle"
    """No screenshot: the user was idle (`activity.skip_when_idle`)."""
    EXCLUDED = "excluded"
    """No pixels kept: excluded windows covered the whole monitor, or (where visible windows
    cannot be listed) an excluded window was focused."""


NO_FRAME = (Kind.LOCKED, Kind.IDLE, Kind.EXCLUDED)
"""Decisions of a tick that kept no pixels of the monitor on purpose (never an engine verdict)."""


class Placement(str, Enum):
    """Where the keep policy sends a decided frame (see pipeline.KeepPolicy)."""

    SKIP = "skip"
    """Not kept: a duplicate, or a near frame with `near_action = "drop"`."""
    ARCHIVE = "archive"
    """Kept in its day folder."""
    SIMILAR = "similar"
    """Kept in the `similar/` folder beside it (a near frame, `near_action = "separate"`)."""
    HEARTBEAT = "heartbeat"
    """A duplicate kept anyway, in its day folder, because of `keep_at_least_every`."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One screenshot of one monitor, full resolution, RGB."""

    monitor: int
    image: Image.Image | np.ndarray
    """A PIL RGB image or an (H, W, 3) uint8 RGB array."""
    taken: datetime
    name: str
    """A stable name for the frame: its archive path, or the file name it will get."""
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        if isinstance(self.image, np.ndarray):
            return self.image.shape[1], self.image.shape[0]
        return self.image.size


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict on a frame against its stream's ring."""

    kind: Kind
    score: float | None
    """Best SSIM found, None when the ring held nothing to compare with."""
    match: str | None
    """Name of the ring frame that made it a duplicate (or scored best)."""
    compared: int = 0
    """How many exact SSIM comparisons the decision needed."""


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a sink put a frame."""

    path: str
    """The name the frame is known by from now on: the ring and the record use it."""
    bytes: int | None = None
    """Size of a file the sink wrote (None when it only moved or left a file)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A visible top-level window: who owns it, its title, where it is on the virtual screen
    (its frame and decorations included, in the capture backend's coordinates)."""

    app: str | None
    """The application: X11's WM_CLASS class, macOS's owner name, Windows' executable stem."""
    executable: str | None
    """The executable's file name (not its folder), where it can be told."""
    title: str | None
    left: int
    top: int
    width: int
    height: int
    focused: bool = False
    opaque: bool = True
    """Whether it hides what lies below it: False where the platform says it may be translucent
    (X11: 32-bit depth or `_NET_WM_WINDOW_OPACITY`; macOS: alpha below 1, or not a normal window)."""


@dataclass(frozen=True, slots=True)
class Activity:
    """What the user was doing at one tick: the focused window, idle time, lock.

    A reader (screenrecord.activity) fills it from the platform; `privacy.judge` then drops what
    must not be stored (titles of excluded windows, every title with `record_titles = false`)
    and names the rule that excluded the focused window. None means "not known here".
    """

    app: str | None = None
    executable: str | None = None
    title: str | None = None
    monitor: int | None = None
    """The monitor the focused window is on (its centre), numbered as the capture backend does."""
    idle_s: float | None = None
    """Seconds since the last keyboard or mouse input."""
    locked: bool | None = None
    excluded: str | None = None
    """The rule that matched the focused window (e.g. `exclude_apps "KeePassXC"`); its title
    and app are then not stored."""
    windows: tuple[Window, ...] = field(default=(), compare=False, repr=False)
    """Visible windows, bottom to top (stacking order), for painting the visible part of
    excluded ones (never stored)."""
    lists_windows: bool = field(default=False, compare=False, repr=False)
    """Whether `windows` is the full list of visible windows (X11, macOS) or the platform
    tells only the focused one (Windows): then an excluded focused window skips the tick."""
    screen_recording: bool | None = field(default=None, compare=False, repr=False)
    """macOS: whether Screen Recording is allowed now (without it grabs get only the wallpaper);
    None where the platform has no such permission or it cannot be told."""

    @property
    def known(self) -> bool:
        """Whether the platform told anything at all."""
        return any(
            v is not None for v in (self.app, self.title, self.idle_s, self.locked, self.excluded)
        )


@dataclass(frozen=True, slots=True)
class Box:
    """A region of a frame, in full-size pixels from the frame's top-left corner."""

    x: int
    y: int
    w: int
    h: int

    def __str__(self) -> str:
        return f"{self.w}x{self.h} at {self.x},{self.y}"


@dataclass(frozen=True, slots=True)
class Record:
    """What happened to one frame: the one per-frame result.

    The catalog stores it (one row), `once` and the daemon's log show it, `dedup --json` prints
    it. Paths are the names frames are known by: archive-relative for the daemon, as given for
    `dedup`.
    """

    taken: datetime
    monitor: int
    width: int
    height: int
    decision: Kind
    score: float | None = None
    """Best SSIM found, None when the ring held nothing to compare with."""
    match: str | None = None
    """Where the ring frame that matched (or scored best) is stored."""
    path: str | None = None
    """Where the frame is stored now (kept or set aside), None when nothing was stored."""
    bytes: int | None = None
    """Size of the file written, for frames the daemon wrote."""
    x: int = 0
    """Position of the monitor on the virtual screen."""
    y: int = 0
    capture_ms: float | None = None
    compare_ms: float | None = None
    write_ms: float | None = None
    error: str | None = None
    """One line: why no decision was made, or why the frame could not be stored."""
    id: int | None = None
    """The catalog's row id, once recorded."""
    source: str | None = None
    """The file the frame was read from (`dedup`); None for a capture."""
    compared: int | None = field(default=None, compare=False)
    """How many exact SSIM comparisons the decision needed (not stored in the catalog)."""
    activity: Activity | None = None
    """What the tick saw (the same for every monitor of a tick); None for `dedup`."""
    pruned: date | None = None
    """The day retention deleted the file (`prune`); the row stays so time is still counted."""
    regions: tuple[Box, ...] = ()
    """Where the frame changed against its best match, outside its stream's noise mask: largest
    first, at most 4; empty when none were found or none were computed."""
    reason: str | None = field(default=None, compare=False)
    """Why a frame the score called a duplicate was kept (not stored: `why` tells it again
    from the score and the regions)."""

    @property
    def heartbeat(self) -> bool:
        """A duplicate that was stored anyway (keep_at_least_every)."""
        return self.decision is Kind.DUPLICATE and self.path is not None and self.source is None


@dataclass(frozen=True, slots=True)
class Period:
    """The capture times [since, until); either end open when None."""

    since: datetime | None = None
    until: datetime | None = None

    def __contains__(self, taken: datetime) -> bool:
        return (self.since is None or taken >= self.since) and (
            self.until is None or taken < self.until
        )


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """Thresholds and sizes of the similarity engine."""

    duplicate_threshold: float = 0.99
    near_threshold: float = 0.95
    ring_size: int = 100
    scale: int = 2
    device: str = "auto"
    keep_local_changes: bool = True
    """Keep a frame the score calls a duplicate when it changed, outside its stream's noise
    mask, by at least a line of text (`engine.change`): a near-duplicate. False: the score
    alone decides."""


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a thinning schedule: days older than `after_days` keep at most `cap` frames
    per monitor and `per` (`h`: hour, `d`: day)."""

    after_days: int
    cap: int
    per: str

    @property
    def per_day(self) -> int:
        """The most frames a day of one monitor keeps under this tier."""
        return self.cap * 24 if self.per == "h" else self.cap

    def __str__(self) -> str:
        return f"{self.after_days}d: {self.cap}/{self.per}"


@dataclass(frozen=True, slots=True)
class Retention:
    """What `prune` and the daemon may remove: nothing unless a tier or a budget is set."""

    keep_all_days: int = 14
    """Frames of today and of the days fewer than this many days back are never removed."""
    thin: tuple[Tier, ...] = ()
    """Tiers in order of age, each at most as dense as the one before."""
    max_bytes: int | None = None
    """Budget for the frames kept (day folders and their similar/), None for none."""

    @property
    def active(self) -> bool:
        return bool(self.thin) or self.max_bytes is not None


class Progress(Protocol):
    """How far a long job (highlights, day pages, dedup) is, told without printing anything: a
    library function takes an optional `Progress` and calls it; what it is drawn as, if at all,
    is the caller's business (the CLI draws a bar on a terminal)."""

    def start(self, total: int) -> None:
        """A stage of `total` steps begins (a later call begins another)."""

    def advance(self, n: int = 1) -> None:
        """`n` more steps are done."""
