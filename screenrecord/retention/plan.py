"""Which frames a retention schedule removes: the plan `prune` shows, and carries out with --apply.

Ages are whole days: on day D, a frame of day F is (D - F) days old. `keep_all = "14d"` keeps
today and the 14 days before it whole; a tier `"14d: 6/h"` applies to frames older than that,
the oldest tier that a day has reached deciding. Counting in days makes a plan the same all day
long (the daemon's daily run, a rerun after a kill) and a day never straddles two tiers.

A tier keeps at most N frames per thinning unit: one monitor's hour (`N/h`) or day (`N/d`). The
frames of a monitor's day are ranked once, and each unit keeps its best ranked:
  1. the first and the last kept frame of each active stretch: a run of the monitor's ticks
     (catalog decisions) with no idle or locked tick in it and no silence longer than three
     intervals between two ticks (the recorder stopped, the machine slept). Frames the catalog
     does not know count as ticks of their own;
  2. the day's highlights (`highlights.rank`, the frames `highlights` would pick for the day);
  3. the other frames, the most novel first (farthest from every other frame of the day);
  4. near-duplicates in `similar/`, which go before any main frame: once a main frame of a
     monitor's day goes, every near-duplicate of that day goes with it.
Novelty needs the frames' pixels (thumbnails), so a day is ranked only when it has to be thinned.

`max_bytes` bounds the bytes of the frames kept (the day folders and their `similar/`; `dedup/`
folders are the user's to empty, the catalog is small). When the schedule leaves more, the
budget halves the frames kept per monitor of the oldest day, then of the next oldest, and so on
towards keep_all, and goes round again while the archive is still too large: older days are
always thinned at least as far as newer ones. A monitor's day keeps at least its best frame. A
budget that cannot be met that way is not met: the plan carries one warning, and nothing of
keep_all is ever removed.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from screenrecord.archive import store
from screenrecord.archive.catalog import Capture, Catalog
from screenrecord.archive.journal import FILE_NAME as DEDUP_JOURNAL
from screenrecord.archive.journal import Journal
from screenrecord.config import units
from screenrecord.models import Activity, Kind, Period, Retention, Tier
from screenrecord.review import highlights

HIGHLIGHTS_PER_DAY = 3
"""Highlights of a monitor's day that rank right after the ends of its active stretches."""
FLOOR = 1
"""Frames per monitor and day that the budget never takes."""
STRETCH_GAP_TICKS = 3
"""A silence of more than this many intervals between two ticks ends an active stretch."""
QUIET = (Kind.IDLE.value, Kind.LOCKED.value)
"""Decisions that mean nobody was at the screen."""


@dataclass(frozen=True, slots=True)
class Kept:
    """A frame on disk that retention may remove."""

    rel: str
    """Archive-relative path, as the catalog names it."""
    taken: datetime
    monitor: int
    bytes: int
    similar: bool
    """In its day's `similar/` (a near-duplicate)."""


@dataclass(frozen=True, slots=True)
class Doomed:
    """A frame the plan removes, and why."""

    frame: Kept
    reason: str
    """`thin 14d: 6/h`, `similar` (a main frame of its day went) or `budget`."""


@dataclass
class Month:
    """A month's frames: what goes and what stays."""

    month: str
    gone: int = 0
    gone_bytes: int = 0
    kept: int = 0
    kept_bytes: int = 0


@dataclass
class Plan:
    """What a retention schedule removes from an archive on `today`."""

    root: Path
    today: date
    retention: Retention
    gone: list[Doomed] = field(default_factory=list)
    months: list[Month] = field(default_factory=list)
    size_before: int = 0
    """Bytes of the frames kept before (day folders and their similar/)."""
    size_after: int = 0
    warning: str | None = None
    """Why the budget is not met, when it is not."""
    pending_dedup: list[Path] = field(default_factory=list)
    """Dedup journals whose moves can still be undone (prune refuses to run beside them)."""


@dataclass(frozen=True, slots=True)
class Stretches:
    """What tells an active stretch: the idle threshold and the longest silence inside one."""

    idle_after: timedelta = timedelta(minutes=5)
    gap: timedelta = timedelta(seconds=STRETCH_GAP_TICKS * 180)

    @classmethod
    def of(cls, interval_seconds: float, idle_after: timedelta) -> Stretches:
        return cls(idle_after, timedelta(seconds=STRETCH_GAP_TICKS * interval_seconds))


def plan(
    root: Path,
    retention: Retention,
    today: date,
    cat: Catalog | None,
    stretches: Stretches | None = None,
) -> Plan:
    """The frames `retention` removes from the archive at `root` on `today` (nothing moves)."""
    result = Plan(root, today, retention)
    days = _frames(root, result.pending_dedup)
    result.size_before = sum(f.bytes for frames in days.values() for f in frames)
    ranker = _Ranker(root, cat, stretches or Stretches())
    doomed: dict[str, Doomed] = {}
    oldest_first = sorted(days)
    for day in oldest_first:
        tier = _tier(retention, (today - day).days)
        if tier is not None:
            for d in _thin(days[day], tier, ranker):
                doomed[d.frame.rel] = d
    size = result.size_before - sum(d.frame.bytes for d in doomed.values())
    if retention.max_bytes is not None and size > retention.max_bytes:
        eligible = [d for d in oldest_first if (today - d).days > retention.keep_all_days]
        size = _budget(days, eligible, doomed, ranker, size, retention.max_bytes)
        if size > retention.max_bytes:
            result.warning = (
                f"{root}: {units.size(size)} of frames stay, over the budget of "
                f"{units.size(retention.max_bytes)}: {kept_whole(retention.keep_all_days)} "
                f"(keep_all) and {FLOOR} frame per monitor and older day are kept"
            )
    result.size_after = size
    result.gone = sorted(
        doomed.values(), key=lambda d: (d.frame.taken, d.frame.monitor, d.frame.rel)
    )
    result.months = _months(days, doomed)
    return result


def kept_whole(keep_all_days: int) -> str:
    """The days keep_all spares, as a person says them: `today`, `today and the day before`,
    `today and the 14 days before`."""
    if keep_all_days == 0:
        return "today"
    before = "the day" if keep_all_days == 1 else f"the {keep_all_days} days"
    return f"today and {before} before"


def _tier(retention: Retention, age: int) -> Tier | None:
    """The tier a day `age` days old is in (the oldest it has reached), None inside keep_all."""
    if age <= retention.keep_all_days:
        return None
    reached = [t for t in retention.thin if age > t.after_days]
    return reached[-1] if reached else None


def _frames(root: Path, pending: list[Path]) -> dict[date, list[Kept]]:
    """The frames of every day folder (ROOT/YYYY-MM/YYYY-MM-DD and its similar/), by day, and the
    dedup journals met on the way (in `pending`). Links are never followed (see store.folders)."""
    days: dict[date, list[Kept]] = defaultdict(list)
    for folder in store.folders([root], dated_only=True):
        if _undoable(folder.path):
            pending.append(folder.path / DEDUP_JOURNAL)
        rel = folder.path.relative_to(root)
        if len(rel.parts) != 2:
            continue
        for f, similar in [(f, False) for f in folder.files] + [(f, True) for f in folder.similar]:
            try:
                size = os.lstat(f.path).st_size
            except OSError:
                continue
            days[f.taken.date()].append(
                Kept(f.path.relative_to(root).as_posix(), f.taken, f.monitor, size, similar)
            )
    return days


def _undoable(folder: Path) -> bool:
    """Whether a dedup journal in `folder` holds moves that `undo` can still put back."""
    if not (folder / DEDUP_JOURNAL).is_file():
        return False
    return any(r.planned for r in Journal(folder).runs())


def _thin(frames: list[Kept], tier: Tier, ranker: _Ranker) -> Iterable[Doomed]:
    """A day's frames over the tier's cap, per monitor and unit, lowest ranked; then the
    near-duplicates of every monitor that lost a main frame."""
    by_monitor: dict[int, list[Kept]] = defaultdict(list)
    for f in frames:
        by_monitor[f.monitor].append(f)
    reason = f"thin {tier}"
    for mine in by_monitor.values():
        units_: dict[int, list[Kept]] = defaultdict(list)
        for f in mine:
            units_[f.taken.hour if tier.per == "h" else 0].append(f)
        if all(len(u) <= tier.cap for u in units_.values()):
            continue
        order = ranker.order(mine)
        gone = [f for u in units_.values() for f in sorted(u, key=order.__getitem__)[tier.cap :]]
        yield from (Doomed(f, reason) for f in gone)
        if any(not f.similar for f in gone):
            left = {f.rel for f in gone}
            yield from (Doomed(f, "similar") for f in mine if f.similar and f.rel not in left)


def _budget(
    days: dict[date, list[Kept]],
    eligible: list[date],
    doomed: dict[str, Doomed],
    ranker: _Ranker,
    size: int,
    max_bytes: int,
) -> int:
    """Halve the frames kept per monitor of the oldest eligible days first, round after round,
    until `size` fits `max_bytes` or every monitor's day is down to FLOOR; returns the size."""
    while True:
        progress = False
        for day in eligible:
            by_monitor: dict[int, list[Kept]] = defaultdict(list)
            for f in days[day]:
                if f.rel not in doomed:
                    by_monitor[f.monitor].append(f)
            for monitor in sorted(by_monitor):
                left = by_monitor[monitor]
                if len(left) <= FLOOR:
                    continue
                order = ranker.order([f for f in days[day] if f.monitor == monitor])
                left.sort(key=order.__getitem__)
                for f in left[max(FLOOR, len(left) // 2) :]:
                    doomed[f.rel] = Doomed(f, "budget")
                    size -= f.bytes
                progress = True
                if size <= max_bytes:
                    return size
        if not progress:
            return size


def _months(days: dict[date, list[Kept]], doomed: dict[str, Doomed]) -> list[Month]:
    months: dict[str, Month] = {}
    for day in sorted(days):
        m = months.setdefault(f"{day:%Y-%m}", Month(f"{day:%Y-%m}"))
        for f in days[day]:
            if f.rel in doomed:
                m.gone += 1
                m.gone_bytes += f.bytes
            else:
                m.kept += 1
                m.kept_bytes += f.bytes
    return list(months.values())


class _Ranker:
    """Ranks the frames of a monitor's day, best kept first (see the module's docstring); each
    day is ranked once, when first asked, and its catalog rows read once."""

    def __init__(self, root: Path, cat: Catalog | None, stretches: Stretches) -> None:
        self.root = root
        self.cat = cat
        self.stretches = stretches
        self._orders: dict[tuple[date, int], dict[Kept, tuple]] = {}
        self._ticks: dict[date, list[Capture]] = {}

    def order(self, frames: list[Kept]) -> dict[Kept, tuple]:
        """A sort key for each of `frames` (one monitor's day), lowest kept first."""
        key = (frames[0].taken.date(), frames[0].monitor)
        if key not in self._orders:
            self._orders[key] = self._rank(key[0], key[1], frames)
        return self._orders[key]

    def _rank(self, day: date, monitor: int, frames: list[Kept]) -> dict[Kept, tuple]:
        main = sorted((f for f in frames if not f.similar), key=lambda f: (f.taken, f.rel))
        ends = self._stretch_ends(day, monitor, main)
        picks, novelty = self._novelty(day, main)
        order: dict[Kept, tuple] = {}
        for f in main:
            rank = 0 if f.rel in ends else 1 if f.rel in picks else 2
            order[f] = (rank, -novelty.get(f.rel, 0.0), f.taken, f.rel)
        for f in frames:
            if f.similar:
                order[f] = (3, 0.0, f.taken, f.rel)
        return order

    def _novelty(self, day: date, main: list[Kept]) -> tuple[set[str], dict[str, float]]:
        since = datetime.combine(day, datetime.min.time())
        repeats: dict[Path, float] = {}
        if self.cat is not None:
            period = Period(since, since + timedelta(days=1))
            repeats = {self.root / rel: s for rel, s in self.cat.repeats(period).items()}
        found = [highlights.Source(self.root / f.rel, f.taken, f.monitor) for f in main]
        picks, novelty = highlights.rank(found, HIGHLIGHTS_PER_DAY, repeats)
        rel = {self.root / f.rel: f.rel for f in main}
        return {rel[h.path] for h in picks}, {rel[p]: v for p, v in novelty.items()}

    def _stretch_ends(self, day: date, monitor: int, main: list[Kept]) -> set[str]:
        """The first and last of `main` (one monitor's day, in time order) in each active stretch."""
        ticks = [t for t in self._day_ticks(day) if t.monitor == monitor]
        known = {t.path for t in ticks if t.path}
        events = [(t.taken, t.path if t.path in known else None, self._quiet(t)) for t in ticks]
        events += [(f.taken, f.rel, False) for f in main if f.rel not in known]
        events.sort(key=lambda e: e[0])
        names = {f.rel for f in main}
        ends: set[str] = set()
        stretch: list[str] = []
        last: datetime | None = None
        for taken, path, quiet in events:
            if quiet or (last is not None and taken - last > self.stretches.gap):
                ends.update(stretch[:1] + stretch[-1:])
                stretch = []
            last = taken
            if not quiet and path in names:
                stretch.append(path)
        ends.update(stretch[:1] + stretch[-1:])
        return ends

    def _quiet(self, t: Capture) -> bool:
        """Whether nobody was at the screen at this tick (idle or locked)."""
        seen = t.activity or Activity()
        idle = seen.idle_s is not None and seen.idle_s >= self.stretches.idle_after.total_seconds()
        return t.decision in QUIET or bool(seen.locked) or idle

    def _day_ticks(self, day: date) -> list[Capture]:
        if day not in self._ticks:
            since = datetime.combine(day, datetime.min.time())
            period = Period(since, since + timedelta(days=1))
            self._ticks[day] = self.cat.captures(period) if self.cat is not None else []
        return self._ticks[day]


def to_json(p: Plan) -> dict:
    """The plan as `prune --json` prints it: totals, months, and every frame that goes."""
    r = p.retention
    return {
        "root": str(p.root),
        "today": p.today.isoformat(),
        "keep_all_days": r.keep_all_days,
        "thin": [str(t) for t in r.thin],
        "max_bytes": r.max_bytes,
        "size_before": p.size_before,
        "size_after": p.size_after,
        "warning": p.warning,
        "months": [dataclasses.asdict(m) for m in p.months],
        "gone": [
            {
                "path": d.frame.rel,
                "taken": d.frame.taken.isoformat(timespec="microseconds"),
                "monitor": d.frame.monitor,
                "bytes": d.frame.bytes,
                "similar": d.frame.similar,
                "reason": d.reason,
            }
            for d in p.gone
        ],
    }
