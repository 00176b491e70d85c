"""What one day's page shows: its kept frames on disk, each monitor's activity lane, its totals.

Frames are the files of the day folder and its `similar/` (what is on disk is what can be shown);
lanes come from the catalog's decisions (every tick, kept or not), or from the frames alone in an
archive without a catalog. Each decision stands for the time since the monitor's previous one,
or a session's first for one interval from its own time on, by the rule `report` counts time by
(spans.py). Idle, locked and excluded time, the leading applications and what each
kept frame's tick saw come from the activity the catalog recorded, judged as `report` judges it
(usage.py); where each kept frame changed, from the regions the catalog recorded.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from screenrecord.archive import store
from screenrecord.archive.catalog import FILE_NAME, Catalog
from screenrecord.models import NO_FRAME, Activity, Box, Kind, Period, Record
from screenrecord.review import report, usage
from screenrecord.review.spans import span

ACTIVITY_STATES = tuple(k.value for k in NO_FRAME)
"""What the user was doing, over what was captured: a tick that took no screenshot on purpose
(locked, idle, excluded), or one whose activity `report` counts as such."""
STATES = ("active", "similar", "unchanged", "error", *ACTIVITY_STATES)
"""Every lane state, in the order of the page's legend."""
LEADING = 3
"""Applications named per day: those with the most time in front (`report`'s time by app)."""


@dataclass(frozen=True, slots=True)
class Shot:
    """One kept frame on disk."""

    taken: datetime
    monitor: int
    rel: str
    """Path relative to the day folder: the file name, or `similar/` and the name."""


@dataclass(frozen=True, slots=True)
class Totals:
    """The day's numbers, as the index and the page header show them."""

    kept: int
    active_seconds: float
    unchanged_seconds: float | None
    first: str
    last: str
    apps: tuple[str, ...] = ()
    """The leading applications (most time in front first), where the catalog recorded them."""


@dataclass
class Day:
    """Everything the day's page is made of."""

    day: date
    folder: Path
    shots: list[Shot]
    fingerprint: str
    """Changes when the day's frames or catalog rows change."""
    lanes: dict[int, list[tuple[float, float, str]]] = field(default_factory=dict)
    """Per monitor, (start, end, state) in seconds since midnight, touching runs merged."""
    totals: Totals | None = None
    seen: dict[str, str] = field(default_factory=dict)
    """Per kept frame (its `Shot.rel`), what its tick saw: the application and window title."""
    regions: dict[str, tuple[Box, ...]] = field(default_factory=dict)
    """Per kept frame (its `Shot.rel`), where it changed against its best match (the player
    outlines them); frames without any are left out."""


def fingerprint(version: str, day: date, found: Sequence[Shot], digest: str | None) -> str:
    """A digest of what the page is made from: the frame names and the catalog's day digest."""
    h = hashlib.sha256(f"{version}\n{day}\n{digest}\n".encode())
    for s in found:
        h.update(s.rel.encode() + b"\n")
    return h.hexdigest()[:32]


def state(rec: Record, idle_after: float = report.IDLE_AFTER) -> str:
    """The lane state of one decision.

    Locked, idle and excluded (ACTIVITY_STATES) win, as `report` counts them: a tick that took
    no screenshot for it, or one whose activity says so (`idle_after` seconds without input is
    idle); otherwise a new frame is active, a near one similar, a duplicate unchanged.
    """
    what = usage.state(rec.activity, (rec.decision.value,), idle_after)
    if what in ACTIVITY_STATES:
        return what
    if rec.decision is Kind.ERROR:
        return "error"
    if rec.decision is Kind.DUPLICATE:
        return "unchanged"
    if rec.decision is Kind.NEAR:
        return "similar"
    return "active"


def lanes(
    events: Iterable[tuple[datetime, int, str]], day: date, interval: float
) -> dict[int, list[tuple[float, float, str]]]:
    """Each monitor's (start, end, state) runs from its (taken, monitor, state) events."""
    midnight = datetime.combine(day, time())
    per: dict[int, list[tuple[float, str]]] = {}
    for taken, monitor, st in events:
        per.setdefault(monitor, []).append(((taken - midnight).total_seconds(), st))
    out: dict[int, list[tuple[float, float, str]]] = {}
    for monitor, evs in sorted(per.items()):
        evs.sort()
        runs: list[tuple[float, float, str]] = []
        prev, before = -math.inf, ""
        for t, seen in evs:
            seconds, fresh = span(t - prev, interval)
            start, end, st = (t, t + seconds, seen) if fresh else (prev, t, before)
            start, end = max(0.0, start), min(86400.0, end)
            prev, before = t, seen
            if runs and runs[-1][2] == st and runs[-1][1] >= start:
                runs[-1] = (runs[-1][0], max(runs[-1][1], end), st)
            elif end > start:
                runs.append((round(start, 3), round(end, 3), st))
        out[monitor] = [(round(a, 3), round(b, 3), s) for a, b, s in runs]
    return out


def label(seen: Activity) -> str | None:
    """What a tick saw, as the page shows it next to its frame: `app · title`, only `app`
    without titles; an excluded window is named as such (its app and title are not stored)."""
    if seen.excluded:
        return "an excluded window"
    if not seen.app:
        return None
    return f"{seen.app} · {seen.title}" if seen.title else seen.app


def collect(
    root: Path, day: date, found: list[Shot], fp: str, idle_after: float = report.IDLE_AFTER
) -> Day:
    """The lanes and totals of `day` (frames `found`), from the catalog where there is one;
    `idle_after`: seconds without input that count as idle."""
    folder = store.day_folder(root, datetime.combine(day, time()))
    since = datetime.combine(day, time())
    until = since + timedelta(days=1)
    has_catalog = (root / FILE_NAME).exists()
    # without a catalog report reads file names; the day folder alone holds this day's
    rep = report.build(root if has_catalog else folder, since, until, idle_after)
    interval = rep.interval_seconds
    seen: dict[str, str] = {}
    regions: dict[str, tuple[Box, ...]] = {}
    if has_catalog:
        with Catalog.open(root, create=False) as cat:
            rows = list(cat.rows(Period(since, until)))
        events = [(r.taken, r.monitor, state(r, idle_after)) for r in rows]
        base = folder.relative_to(root).as_posix() + "/"
        for r in rows:
            text = label(r.activity) if r.activity and r.path else None
            if r.path and r.path.startswith(base):
                if text:
                    seen[r.path.removeprefix(base)] = text
                if r.regions:
                    regions[r.path.removeprefix(base)] = r.regions
    else:
        events = [(s.taken, s.monitor, "active") for s in found]
    d = rep.days[0] if rep.days else None
    totals = Totals(
        kept=len(found),
        active_seconds=d.active_seconds if d else 0.0,
        unchanged_seconds=d.unchanged_seconds if d else None,
        first=f"{d.first:%H:%M}" if d else "",
        last=f"{d.last:%H:%M}" if d else "",
        apps=tuple(a.app for a in d.usage.apps[:LEADING]) if d and d.usage else (),
    )
    return Day(day, folder, found, fp, lanes(events, day, interval), totals, seen, regions)
