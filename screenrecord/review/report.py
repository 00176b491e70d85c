"""Where the day went: time tracking from the catalog, or from file names where there is none.

A *tick* is one capture instant: the frames of all monitors taken within a few seconds. A tick is
*active* when some monitor kept a new or near frame (the screen changed), *unchanged* when every
monitor's frame was a duplicate. Each tick stands for a span of time by the rule of spans.py: the
time since the previous tick, or for the first tick of a session one capture interval (the median
gap between ticks) from its own time on.

Without a catalog only kept frames exist, as files: every tick with a file is active, and
unchanged time and skipped frames are unknown (None).

What the user was doing (see usage.py) splits the same spans by application, idle, locked and
excluded time, each span by what the tick before it saw: a tick's change shows in the time up to
it, its focused application is taken to stay in front until the next tick. A catalog without
activity (or an archive without catalog) has none of it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from screenrecord.archive import store
from screenrecord.archive.catalog import FILE_NAME, Capture, Catalog
from screenrecord.config.units import count, duration, nouns, size
from screenrecord.errors import UsageError
from screenrecord.models import NO_FRAME, Activity, Period
from screenrecord.review import spans
from screenrecord.review.usage import Tally, Usage

TICK_WINDOW = timedelta(seconds=5)
"""Frames of different monitors taken this close together belong to one tick."""
DEFAULT_INTERVAL = 180.0
"""Seconds a tick stands for when the period has a single tick (the daemon's default interval)."""
CHANGED = ("new", "near")
NOT_GRABBED = tuple(k.value for k in NO_FRAME)
"""Decisions of monitors that took no screenshot on purpose: not skipped frames."""
IDLE_AFTER = 300.0
"""Seconds without input that count as idle when the caller does not say (the config default)."""


@dataclass
class Hour:
    """One monitor's hour."""

    new: int = 0
    near: int = 0
    duplicate: int = 0
    error: int = 0
    kept: int = 0
    active_seconds: float = 0.0


@dataclass
class Day:
    """Numbers for one calendar day (local time)."""

    day: date
    first: datetime
    last: datetime
    ticks: int = 0
    active_ticks: int = 0
    unchanged_ticks: int | None = 0
    active_seconds: float = 0.0
    unchanged_seconds: float | None = 0.0
    kept: int = 0
    kept_bytes: int = 0
    """Frames kept and still stored (not pruned), and their bytes."""
    pruned: int = 0
    pruned_bytes: int = 0
    """Frames kept, then deleted by retention, and their bytes."""
    skipped: int | None = 0
    skipped_bytes_estimate: int | None = 0
    """Bytes the skipped frames would have taken, at their monitor's mean kept frame size."""
    errors: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    monitors: dict[int, list[Hour]] = field(default_factory=dict)
    """Per monitor, 24 hours."""
    usage: Usage | None = None
    """Time by application, idle, locked and excluded; None without a catalog."""


@dataclass
class Report:
    source: str
    """`catalog` or `files`."""
    root: Path
    since: datetime
    until: datetime
    interval_seconds: float
    days: list[Day]
    idle_after_seconds: float = IDLE_AFTER


def parse_when(text: str, end: bool = False) -> datetime:
    """A date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS]); a bare date as `end` means the
    end of that day, so `--until 2026-03-11` includes the 11th."""
    try:
        if len(text) == 10:
            d = datetime.strptime(text, "%Y-%m-%d")
            return d + timedelta(days=1) if end else d
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r}: not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None


def captures(
    root: Path, since: datetime | None, until: datetime | None
) -> tuple[str, list[Capture]]:
    """Decisions in [since, until) from ROOT's catalog, or kept files where there is no catalog."""
    period = Period(since, until)
    if (root / FILE_NAME).exists():
        with Catalog.open(root, create=False) as cat:
            return "catalog", cat.captures(period)
    found = []
    for p in store.walk([root]):
        parsed = store.parse_name(p.name)
        if parsed is None:
            continue
        taken, monitor = parsed
        if taken in period:
            found.append(
                Capture(taken, monitor, "kept", p.relative_to(root).as_posix(), p.stat().st_size)
            )
    found.sort(key=lambda c: (c.taken, c.monitor))
    return "files", found


def latest_day(root: Path) -> date | None:
    """The last day that has captures."""
    source, caps = captures(root, None, None)
    return caps[-1].taken.date() if caps else None


def ticks(caps: Iterable[Capture]) -> list[list[Capture]]:
    """Group captures (in time order) into capture instants."""
    out: list[list[Capture]] = []
    for c in caps:
        t = out[-1] if out else None
        if t and c.taken - t[0].taken <= TICK_WINDOW and all(x.monitor != c.monitor for x in t):
            t.append(c)
        else:
            out.append([c])
    return out


def build(root: Path, since: datetime, until: datetime, idle_after: float = IDLE_AFTER) -> Report:
    """The report of [since, until); `idle_after`: seconds without input that count as idle."""
    source, caps = captures(root, since, until)
    groups = ticks(caps)
    gaps = [
        (b[0].taken - a[0].taken).total_seconds() for a, b in zip(groups, groups[1:], strict=False)
    ]
    gaps = [g for g in gaps if g > 0]
    interval = statistics.median(gaps) if gaps else DEFAULT_INTERVAL
    days: dict[date, Day] = {}
    # known only from a catalog; counted here, set on the days at the end
    unchanged_ticks: dict[date, int] = defaultdict(int)
    unchanged_seconds: dict[date, float] = defaultdict(float)
    skipped: dict[date, int] = defaultdict(int)
    tallies: dict[date, Tally] = defaultdict(Tally)
    prev: datetime | None = None
    before: tuple[Activity | None, list[str]] = (None, [])
    """What the previous tick saw: the span up to a tick is the time after the previous one."""
    for t in groups:
        when = t[0].taken
        span, fresh = spans.span((when - prev).total_seconds() if prev else math.inf, interval)
        prev = when
        d = days.get(when.date())
        if d is None:
            d = days[when.date()] = Day(when.date(), when, when)
        d.last = max(d.last, max(c.taken for c in t))
        d.ticks += 1
        start = when if fresh else when - timedelta(seconds=span)
        seen = (
            next((c.activity for c in t if c.activity is not None), None),
            [c.decision for c in t],
        )
        what, kinds = seen if fresh else before
        before = seen
        tallies[d.day].add(
            what,
            kinds,
            idle_after,
            list(_by_hour(start, start + timedelta(seconds=span), when.date())),
        )
        active = source == "files" or any(c.decision in CHANGED for c in t)
        if active:
            d.active_ticks += 1
            d.active_seconds += span
        elif source == "catalog" and any(c.decision == "duplicate" for c in t):
            unchanged_ticks[d.day] += 1
            unchanged_seconds[d.day] += span
        for c in t:
            hour = d.monitors.setdefault(c.monitor, [Hour() for _ in range(24)])[c.taken.hour]
            d.decisions[c.decision] = d.decisions.get(c.decision, 0) + 1
            if c.decision in ("new", "near", "duplicate", "error"):
                setattr(hour, c.decision, getattr(hour, c.decision) + 1)
            if c.decision == "error":
                d.errors += 1
            if c.pruned:
                d.pruned += 1
                d.pruned_bytes += c.bytes or 0
            elif c.path is not None:
                hour.kept += 1
                d.kept += 1
                d.kept_bytes += c.bytes or 0
            elif source == "catalog" and c.decision not in ("error", *NOT_GRABBED):
                skipped[d.day] += 1
            if active and (source == "files" or c.decision in CHANGED):
                start = c.taken if fresh else c.taken - timedelta(seconds=span)
                for h, secs in _by_hour(start, start + timedelta(seconds=span), c.taken.date()):
                    d.monitors[c.monitor][h].active_seconds += secs
    for d in days.values():
        if source == "files":  # only kept frames exist: what was unchanged or skipped is unknown
            d.unchanged_ticks = d.unchanged_seconds = d.skipped = d.skipped_bytes_estimate = None
        else:
            d.unchanged_ticks = unchanged_ticks[d.day]
            d.unchanged_seconds = unchanged_seconds[d.day]
            d.skipped = skipped[d.day]
            d.skipped_bytes_estimate = _skipped_bytes(caps, d.day)
            d.usage = tallies[d.day].usage()
    days_ = sorted(days.values(), key=lambda d: d.day)
    return Report(source, root, since, until, interval, days_, idle_after)


def _by_hour(start: datetime, end: datetime, day: date) -> Iterable[tuple[int, float]]:
    """Split [start, end] into (hour, seconds) pieces within `day`; time outside it is dropped."""
    midnight = datetime.combine(day, datetime.min.time())
    start, end = max(start, midnight), min(end, midnight + timedelta(days=1))
    while start < end:
        nxt = min(end, start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        yield start.hour, (nxt - start).total_seconds()
        start = nxt


def _skipped_bytes(caps: list[Capture], day: date) -> int:
    sizes: dict[int, list[int]] = {}
    skipped: dict[int, int] = {}
    for c in caps:
        if c.taken.date() != day:
            continue
        if c.path is not None:
            if c.bytes:
                sizes.setdefault(c.monitor, []).append(c.bytes)
        elif c.decision in ("duplicate", "near", "new"):
            skipped[c.monitor] = skipped.get(c.monitor, 0) + 1
    return round(sum(n * statistics.mean(sizes[m]) for m, n in skipped.items() if m in sizes))


def to_json(report: Report) -> dict[str, Any]:
    """A JSON-ready dict: datetimes as ISO 8601, hours as lists of 24."""

    def conv(v: Any) -> Any:
        if isinstance(v, datetime | date):
            return v.isoformat()
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return conv(asdict(report))


COLUMN = len(duration(23 * 3600 + 59 * 60))
"""Width of the day's number column: the longest duration of a day, `23 h 59 min`."""


def format_text(report: Report) -> str:
    """The report as a person reads it: one block per day, with an hour timeline per monitor."""
    lines = [
        f"report of {report.root} from the {report.source}, capture interval ~{duration(report.interval_seconds)}"
    ]
    if not report.days:
        lines.append("no captures in this period")
    for d in report.days:
        lines += [
            "",
            f"{d.day}  first {d.first:%H:%M:%S}  last {d.last:%H:%M:%S}  ({count(d.ticks, 'tick')})",
            f"  active     {duration(d.active_seconds):>{COLUMN}}  ({count(d.active_ticks, 'tick')} with a new or changed frame)",
            f"  unchanged  {duration(d.unchanged_seconds):>{COLUMN}}  ({_n(d.unchanged_ticks)} {nouns(d.unchanged_ticks, 'tick')} with only repeats)",
            f"  kept       {d.kept:>{COLUMN}}  {nouns(d.kept, 'frame')}, {size(d.kept_bytes)}",
        ]
        if d.pruned:
            lines.append(
                f"  pruned     {d.pruned:>{COLUMN}}  {nouns(d.pruned, 'frame')}, {size(d.pruned_bytes)} deleted by retention"
            )
        if d.skipped is None:
            lines.append(f"  skipped    {'-':>{COLUMN}}  unknown: no catalog, only the kept files")
        else:
            lines.append(
                f"  skipped    {d.skipped:>{COLUMN}}  {nouns(d.skipped, 'frame')}, ~{size(d.skipped_bytes_estimate)} not written"
            )
        if d.errors:
            lines.append(f"  errors     {d.errors:>{COLUMN}}")
        lines += _usage_lines(d.usage, report.idle_after_seconds)
        u = d.usage
        hours = [
            h
            for h in range(24)
            if any(sum(_count(x[h])) for x in d.monitors.values()) or (u and u.hour_apps[h])
        ]
        mons = sorted(d.monitors)
        app_column = " leading app" if u and u.apps else ""
        lines.append(("  hour  " + "".join(f"monitor {m:<23}" for m in mons) + app_column).rstrip())
        for h in range(min(hours), max(hours) + 1) if hours else []:
            cells = []
            for m in mons:
                x = d.monitors[m][h]
                bar = "#" * round(x.active_seconds / 360) if x.active_seconds else ""
                cells.append(
                    f"{bar:<10} {duration(x.active_seconds) if x.active_seconds else '':>6} {x.kept:>3} kept "
                )
            app = (u.hour_apps[h] or "") if app_column and u else ""
            lines.append((f"  {h:02d}    " + "".join(f"{c:<31}" for c in cells) + app).rstrip())
    return "\n".join(lines)


TITLE_WIDTH = 40
"""Window titles are cut to this many characters in the text report."""


def _usage_lines(u: Usage | None, idle_after: float) -> list[str]:
    """Idle, locked and excluded time, then each application's time and top titles."""
    if u is None:
        return [f"  apps       {'-':>{COLUMN}}  unknown: no catalog, only the kept files"]
    lines = [
        f"  idle       {duration(u.idle_seconds):>{COLUMN}}  (no input for {duration(idle_after)} or more)",
        f"  locked     {duration(u.locked_seconds):>{COLUMN}}  (the screen was locked)",
    ]
    if u.excluded_seconds:
        lines.append(
            f"  excluded   {duration(u.excluded_seconds):>{COLUMN}}  (an excluded window was in front)"
        )
    if not u.apps:
        lines.append(f"  apps       {'-':>{COLUMN}}  no focused window recorded")
        return lines
    lines.append("  time by application (in front, neither idle nor locked)")
    width = max(len(a.app) for a in u.apps)
    for a in u.apps:
        titles = "; ".join(f"{_cut(t.title)} {duration(t.seconds)}" for t in a.titles)
        lines.append(f"    {a.app:<{width}}  {duration(a.seconds):>{COLUMN}}  {titles}".rstrip())
    return lines


def _cut(title: str) -> str:
    return title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 3] + "..."


def _n(v: int | None) -> str:
    return "-" if v is None else str(v)


def _count(h: Hour) -> tuple[int, ...]:
    return (h.new, h.near, h.duplicate, h.error, h.kept)
