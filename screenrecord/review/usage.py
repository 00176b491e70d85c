"""Where the time went by application: each tick's span given to what the tick saw.

Each tick's span (spans.py: the time since the previous tick is that tick's; a session's first
tick also stands for one interval from its own time) is *locked* when the screen was locked (or
the tick was skipped for it), *idle* when there had been no input for `idle_after` or more, *excluded* when
the focused window matched an exclusion rule, and otherwise belongs to the focused application,
and within it to the window title (when titles are recorded). A tick that knew nothing (no
window manager, an old catalog row) is left out of all of these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from screenrecord.models import Activity, Kind

TOP_TITLES = 5
"""Window titles shown per application."""


@dataclass(frozen=True, slots=True)
class TitleTime:
    title: str
    seconds: float


@dataclass(frozen=True, slots=True)
class AppTime:
    """Time an application was in front, not idle nor locked, and its most seen titles."""

    app: str
    seconds: float
    titles: list[TitleTime]


@dataclass
class Usage:
    """One day's time by what the user was doing."""

    idle_seconds: float = 0.0
    locked_seconds: float = 0.0
    excluded_seconds: float = 0.0
    apps: list[AppTime] = field(default_factory=list)
    """Most time first."""
    hour_apps: list[str | None] = field(default_factory=lambda: [None] * 24)
    """The application with the most time in each hour, None when none had any."""


def state(seen: Activity | None, kinds: Iterable[str], idle_after: float) -> str | None:
    """What a tick's span counts as: locked, idle, excluded, app, or None (nothing known)."""
    kinds = set(kinds)
    if Kind.LOCKED.value in kinds or (seen is not None and seen.locked):
        return "locked"
    if Kind.IDLE.value in kinds or (
        seen is not None and seen.idle_s is not None and seen.idle_s >= idle_after
    ):
        return "idle"
    if seen is not None and seen.excluded:
        return "excluded"
    if seen is not None and seen.app:
        return "app"
    return None


class Tally:
    """Adds up one day's spans; `usage()` gives the result."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.apps: dict[str, float] = defaultdict(float)
        self.titles: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.hours: list[dict[str, float]] = [defaultdict(float) for _ in range(24)]

    def add(
        self,
        seen: Activity | None,
        kinds: Iterable[str],
        idle_after: float,
        pieces: list[tuple[int, float]],
    ) -> None:
        """A tick's span, split into (hour, seconds) pieces."""
        what = state(seen, kinds, idle_after)
        if what is None:
            return
        total = sum(s for _, s in pieces)
        if what != "app":
            self.seconds[what] += total
            return
        assert seen is not None and seen.app is not None
        self.apps[seen.app] += total
        if seen.title:
            self.titles[seen.app][seen.title] += total
        for hour, secs in pieces:
            self.hours[hour][seen.app] += secs

    def usage(self) -> Usage:
        apps = [
            AppTime(
                app,
                round(secs, 3),
                [TitleTime(t, round(s, 3)) for t, s in _most(self.titles[app])[:TOP_TITLES]],
            )
            for app, secs in _most(self.apps)
        ]
        return Usage(
            idle_seconds=self.seconds["idle"],
            locked_seconds=self.seconds["locked"],
            excluded_seconds=self.seconds["excluded"],
            apps=apps,
            hour_apps=[_most(h)[0][0] if h else None for h in self.hours],
        )


def _most(seconds: dict[str, float]) -> list[tuple[str, float]]:
    """Most seconds first; ties by name, so that reports do not change from run to run."""
    return sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))
