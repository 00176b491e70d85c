"""Writing and updating the site: every day's page and thumbnails, and the index.

Incremental: each day keeps a small state file (`state/YYYY-MM-DD.json`) with the fingerprint
of what its page was made from (its frame names, the catalog's digest of its rows, its links),
its totals and its highlights. A day whose fingerprint is unchanged is not touched at all; a
page is rewritten only when its bytes differ; thumbnails are made once per frame. The archive
itself is only read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import urllib.parse
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from screenrecord.archive import store
from screenrecord.archive.catalog import FILE_NAME, Catalog
from screenrecord.errors import UsageError
from screenrecord.models import Progress
from screenrecord.review import highlights, report
from screenrecord.review.site import render, thumbs
from screenrecord.review.site.day import Shot, Totals, collect, fingerprint

log = logging.getLogger(__name__)

VERSION = "4"
"""The pages' shape: bumping it redoes every page (not the thumbnails) at the next run."""
HIGHLIGHTS = 8
"""Highlights marked per day."""
DAYS, THUMBS, STATE = "days", "thumbs", "state"
"""The site's folders: day pages, thumbnails (a folder per day), state files."""
INDEX = "index.html"


@dataclass
class Site:
    """What a run of `build` left: where each page is, and what it wrote."""

    out: Path
    index: Path
    pages: dict[date, Path] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    """Pages written by this run (the index too, when it changed)."""
    thumbnails: int = 0
    """Thumbnails made by this run."""


def default_out(root: Path) -> Path:
    return root / "site"


def discover(root: Path) -> dict[date, list[Shot]]:
    """Every day of the archive with kept frames (day folders and their `similar/`), by name."""
    found: dict[date, list[Shot]] = {}
    for folder in store.folders([root], dated_only=True):
        rel = folder.path.relative_to(root).parts
        if len(rel) != 2:
            continue  # the root, or a month
        try:
            day = date.fromisoformat(rel[1])
        except ValueError:  # named like a day, but no date (2026-02-30)
            log.warning("%s: not a date, left out of the site", folder.path)
            continue
        shots = [Shot(f.taken, f.monitor, f.path.name) for f in folder.files]
        shots += [
            Shot(f.taken, f.monitor, f"{store.SIMILAR}/{f.path.name}") for f in folder.similar
        ]
        if shots:
            found[day] = sorted(shots, key=lambda s: (s.taken, s.monitor, s.rel))
    return found


def _digests(root: Path) -> dict[str, str]:
    if not (root / FILE_NAME).exists():
        return {}
    with Catalog.open(root, create=False) as cat:
        return cat.day_digests()


def prepare(out: Path, option: str = "--out") -> None:
    """Make `out` the site's folder (0700), refusing a folder of anything else; `option` is the
    command line's name for it, in the error."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out}: is a file; give a folder for the site")
    if out.is_dir() and not store.is_site(out) and any(out.iterdir()):
        raise UsageError(
            f"{option} {out}: not empty and not a screenrecord site; give a new or empty folder"
        )
    store.make_dirs(out)
    if not store.is_site(out):
        store.replace_atomic(
            out / store.SITE_MARK,
            b"A site written by `screenrecord browse`; archive walks skip this folder.\n",
        )


@dataclass(frozen=True, slots=True)
class Archive:
    """What the site is made from, read once per run: frames by day, the catalog's day digests."""

    root: Path
    found: dict[date, list[Shot]]
    digests: dict[str, str]

    @classmethod
    def read(cls, root: Path) -> Archive:
        return cls(root, discover(root), _digests(root))

    @property
    def days(self) -> list[date]:
        """Days with kept frames or catalog rows (a day of repeats only has no frame)."""
        return sorted(set(self.found) | {date.fromisoformat(d) for d in self.digests})

    def only(self, days: Iterable[date]) -> Archive:
        """The same archive, less every day not in `days`."""
        wanted = {str(d) for d in days}
        return Archive(
            self.root,
            {d: shots for d, shots in self.found.items() if str(d) in wanted},
            {d: digest for d, digest in self.digests.items() if d in wanted},
        )


WORKERS = min(2, os.cpu_count() or 1)
"""Threads that make thumbnails and highlights: two where there are two cores."""


def build(
    archive: Archive,
    out: Path,
    workers: int = WORKERS,
    idle_after: float = report.IDLE_AFTER,
    on_progress: Progress | None = None,
) -> Site:
    """Write or update the site of `archive` in `out`; returns what is where. `idle_after`:
    seconds without input that count as idle (`activity.idle_after`); `on_progress` follows
    the highlights of each day redone (a stage per day)."""
    days = archive.days
    if not days:
        raise UsageError(
            f"{archive.root}: no frames here"
            " (YYYY-MM/YYYY-MM-DD/ folders of YYYY-MM-DD_HH.MM.SS.ffffff_N.png files)"
        )
    prepare(out)
    site = Site(out, out / INDEX)
    listed = []
    for i, day in enumerate(days):
        prev = days[i - 1] if i else None
        nxt = days[i + 1] if i + 1 < len(days) else None
        shots, digest = archive.found.get(day, []), archive.digests.get(str(day))
        totals = _day(
            archive.root, site, day, shots, digest, (prev, nxt), workers, idle_after, on_progress
        )
        listed.append((day, totals, f"{DAYS}/{day}.html"))
    _publish(site, site.index, render.index_page(listed))
    _prune(out, set(days))
    return site


def _href(target: Path, start: Path) -> str:
    """A relative URL from the folder `start` to the folder `target`, ending in `/`."""
    try:
        rel = os.path.relpath(target.absolute(), start.absolute())
    except ValueError:  # another drive (Windows): only an absolute URL leads there
        return target.absolute().as_uri() + "/"
    return urllib.parse.quote(Path(rel).as_posix()) + "/"


def _day(
    root: Path,
    site: Site,
    day: date,
    shots: list[Shot],
    digest: str | None,
    around: tuple[date | None, date | None],
    workers: int,
    idle_after: float,
    on_progress: Progress | None,
) -> Totals:
    """Bring one day's page, thumbnails and state up to date; returns the day's totals.
    `around`: the previous and the next day with captures."""
    prev, nxt = around
    pages = site.out / DAYS
    page = pages / f"{day}.html"
    site.pages[day] = page
    folder = store.day_folder(root, datetime.combine(day, time()))
    tdir = site.out / THUMBS / str(day)
    links = render.Links(
        frames=_href(folder, pages),
        thumbs=_href(tdir, pages),
        index=f"../{INDEX}",
        prev=f"{prev}.html" if prev else None,
        next=f"{nxt}.html" if nxt else None,
    )
    fp = fingerprint(VERSION, day, shots, digest)
    page_fp = hashlib.sha256(f"{fp}\n{asdict(links)}\n{idle_after}".encode()).hexdigest()[:32]
    state_path = site.out / STATE / f"{day}.json"
    old = _read_state(state_path)
    if old and old.get("page") == page_fp and page.is_file():
        return Totals(**{**old["totals"], "apps": tuple(old["totals"]["apps"])})
    site.thumbnails += thumbs.update(folder, tdir, [s.rel for s in shots], workers)
    d = collect(root, day, shots, fp, idle_after)
    assert d.totals is not None
    if old and old.get("fingerprint") == fp:
        picks = [tuple(h) for h in old["highlights"]]
    else:
        picks = _highlights(root, day, tdir, shots, workers, on_progress)
    unreadable = thumbs.missing(tdir, [s.rel for s in shots])
    _publish(site, page, render.day_page(d, links, picks, unreadable))
    state = {"fingerprint": fp, "page": page_fp, "totals": asdict(d.totals), "highlights": picks}
    store.replace_atomic(state_path, json.dumps(state).encode())
    return d.totals


def _read_state(path: Path) -> dict | None:
    """A day's state file, None when missing or unreadable (the day is then redone)."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _highlights(
    root: Path,
    day: date,
    tdir: Path,
    shots: list[Shot],
    workers: int,
    on_progress: Progress | None,
) -> list[tuple[float, int, str, float]]:
    """The day's most unusual frames, found on their thumbnails (see thumbs.py)."""
    since = datetime.combine(day, time())
    until = since + timedelta(days=1)
    folder = store.day_folder(root, since)
    floor = {
        tdir / thumbs.name(p.name): score
        for p, score in highlights.repeats(root, since, until).items()
        if p.parent == folder
    }
    rel_of = {thumbs.name(s.rel): s.rel for s in shots}
    picks = highlights.find(
        [tdir],
        since,
        until,
        n=HIGHLIGHTS,
        catalog_scores=floor,
        on_progress=on_progress,
        workers=workers,
    )
    out = []
    for h in picks:
        rel = rel_of.get(h.path.relative_to(tdir).as_posix())
        if rel is not None:
            out.append((round((h.taken - since).total_seconds(), 3), h.monitor, rel, h.novelty))
    return sorted(out)


def _publish(site: Site, path: Path, data: bytes) -> None:
    """Write a page unless it already holds exactly these bytes (its mtime then stays)."""
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    store.replace_atomic(path, data)
    site.written.append(path)


def _prune(out: Path, days: set[date]) -> None:
    """Remove the pages, thumbnails and state of days no longer in the archive."""
    with contextlib.suppress(OSError):
        for e in os.scandir(out / STATE):
            name = e.name.removesuffix(".json")
            try:
                gone = date.fromisoformat(name) not in days
            except ValueError:
                continue
            if gone:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(out / DAYS / f"{name}.html")
                shutil.rmtree(out / THUMBS / name, ignore_errors=True)
                os.unlink(e.path)


def browse(
    root: Path,
    out: Path | None,
    day: date | None,
    today: date,
    workers: int = WORKERS,
    idle_after: float = report.IDLE_AFTER,
) -> Path:
    """Update the site of `root` (in `out`, else ROOT/site) and return the page to open: `day`'s,
    else today's, else the last day with captures."""
    archive = Archive.read(root)
    days = archive.days
    if day is not None and days and day not in days:
        raise UsageError(
            f"--day {day}: no captures that day in {root} (captures from {days[0]} to {days[-1]})"
        )
    site = build(archive, out if out is not None else default_out(root), workers, idle_after)
    if day is None:
        day = today if today in site.pages else days[-1]
    return site.pages[day]


def of_report(
    rep: report.Report, out: Path, workers: int = WORKERS, on_progress: Progress | None = None
) -> list[Path]:
    """Write the site of the report's days in `out` (`report --html`): the very pages `browse`
    writes of those days, linked to each other and to an index of them; days of an earlier
    period leave `out`. Returns the day pages and the index; a period without captures writes
    nothing. `on_progress` follows each day's highlights."""
    archive = Archive.read(rep.root).only(d.day for d in rep.days)
    if not archive.days:
        return []
    prepare(out, "--html")
    site = build(archive, out, workers, rep.idle_after_seconds, on_progress)
    return [*site.pages.values(), site.index]
