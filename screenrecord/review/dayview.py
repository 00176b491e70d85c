"""One self-contained HTML page per day: summary, hour timeline per monitor, the day's highlights.

Thumbnails are embedded (base64 JPEG) so the page opens from disk with no server and no network,
and still shows everything if it is moved; each thumbnail links to its full frame by a relative
path, which works as long as the page stays next to the archive.
"""

from __future__ import annotations

import base64
import html
import logging
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from screenrecord.archive import images, store
from screenrecord.config.units import count, duration, size
from screenrecord.errors import ImageError
from screenrecord.models import Progress
from screenrecord.review.highlights import Highlight
from screenrecord.review.report import Capture, Day, Report

log = logging.getLogger(__name__)

HOUR_THUMB_W = 160
HIGHLIGHT_THUMB_W = 400

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin: 28px 0 8px; font-size: 17px; }
.summary span { margin-right: 18px; white-space: nowrap; }
.summary b { font-weight: 600; }
table.timeline { border-collapse: collapse; }
.timeline th { font-weight: 500; color: #666; padding: 2px 6px; text-align: left; }
.timeline td { vertical-align: bottom; padding: 2px; width: 84px; }
.timeline .bar { background: #e5e5e5; height: 40px; position: relative; border-radius: 3px; }
.timeline .fill { background: #3b82f6; position: absolute; bottom: 0; left: 0; right: 0; border-radius: 3px; }
.timeline img { display: block; width: 80px; margin-top: 3px; border: 1px solid #ccc; }
.timeline .n { font-size: 11px; color: #666; }
.grid { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; width: 400px; background: #fff; border: 1px solid #ddd; border-radius: 4px; }
figure img { display: block; width: 100%; border-bottom: 1px solid #ddd; }
figcaption { padding: 6px 8px; font-size: 13px; color: #444; }
.empty { color: #888; }
table.apps { border-collapse: collapse; }
.apps td, .apps th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
.apps th { font-weight: 500; color: #666; }
.apps .t { color: #555; font-size: 13px; }
.timeline .app { font-size: 11px; color: #333; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 84px; }
"""


def thumbnail_uri(path: Path, width: int) -> str | None:
    """A `data:` URI of a JPEG thumbnail of `path`, or None if it cannot be read."""
    try:
        jpeg = images.jpeg_thumbnail(path, width, quality=80)
    except ImageError as e:
        log.warning("%s, no thumbnail", e)
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _link(target: Path, out: Path) -> str:
    return html.escape(Path(os.path.relpath(target, out.parent)).as_posix(), quote=True)


def render(
    day: Day, caps: Sequence[Capture], picks: Sequence[Highlight], root: Path, out: Path
) -> Path:
    """Write the day's page to `out` (atomically; an existing page is replaced) and return it."""
    e = html.escape
    summary = [
        ("first", f"{day.first:%H:%M}"),
        ("last", f"{day.last:%H:%M}"),
        ("active", duration(day.active_seconds)),
        ("unchanged", duration(day.unchanged_seconds)),
        ("kept", f"{count(day.kept, 'frame')}, {size(day.kept_bytes)}"),
        ("skipped", "unknown" if day.skipped is None else count(day.skipped, "frame")),
    ]
    u = day.usage
    if u is not None:
        summary += [("idle", duration(u.idle_seconds)), ("locked", duration(u.locked_seconds))]
        if u.excluded_seconds:
            summary.append(("excluded", duration(u.excluded_seconds)))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>screenrecord {day.day}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{day.day:%A %d %B %Y}</h1>",
        '<p class="summary">'
        + "".join(f"<span>{e(k)} <b>{e(v)}</b></span>" for k, v in summary)
        + "</p>",
        "<h2>Applications</h2>",
        _apps(day),
        "<h2>Hour by hour</h2>",
        _timeline(day, caps, root, out),
        "<h2>Highlights</h2>",
    ]
    if picks:
        parts.append('<div class="grid">')
        for h in picks:
            uri = thumbnail_uri(h.path, HIGHLIGHT_THUMB_W)
            img = f'<img src="{uri}" alt="{e(h.path.name)}">' if uri else ""
            parts.append(
                f'<figure><a href="{_link(h.path, out)}">{img}</a>'
                f"<figcaption>{h.taken:%H:%M} &middot; monitor {h.monitor} &middot; "
                f"novelty {h.novelty:.2f}</figcaption></figure>"
            )
        parts.append("</div>")
    else:
        parts.append('<p class="empty">nothing unusual this day</p>')
    parts.append("</body></html>\n")
    # owner-only like the archive: the page embeds thumbnails of the screens
    store.replace_atomic(out, "\n".join(parts).encode("utf-8"))
    return out


def _timeline(day: Day, caps: Sequence[Capture], root: Path, out: Path) -> str:
    hours = [
        h
        for h in range(24)
        if any(x[h].kept or x[h].duplicate or x[h].error for x in day.monitors.values())
    ]
    if not hours:
        return '<p class="empty">no captures</p>'
    span = range(min(hours), max(hours) + 1)
    last_kept: dict[tuple[int, int], str] = {}
    for c in caps:
        if c.path is not None and c.taken.date() == day.day:
            last_kept[(c.monitor, c.taken.hour)] = c.path
    rows = [
        '<table class="timeline"><tr><th></th>'
        + "".join(f"<th>{h:02d}</th>" for h in span)
        + "</tr>"
    ]
    for m in sorted(day.monitors):
        cells = []
        for h in span:
            x = day.monitors[m][h]
            pct = min(100, round(100 * x.active_seconds / 3600))
            title = f"{h:02d}:00 monitor {m}: active {duration(x.active_seconds)}, {x.kept} kept, {x.duplicate} repeats"
            cell = f'<div class="bar" title="{html.escape(title)}"><div class="fill" style="height:{pct}%"></div></div>'
            rel = last_kept.get((m, h))
            if rel:
                uri = thumbnail_uri(root / rel, HOUR_THUMB_W)
                if uri:
                    cell += f'<a href="{_link(root / rel, out)}"><img src="{uri}" alt="{html.escape(rel)}"></a>'
            cell += f'<div class="n">{x.kept} kept</div>'
            cells.append(f"<td>{cell}</td>")
        rows.append(f"<tr><th>monitor {m}</th>" + "".join(cells) + "</tr>")
    if day.usage is not None and day.usage.apps:
        leading = [html.escape(day.usage.hour_apps[h] or "") for h in span]
        rows.append(
            "<tr><th>leading app</th>"
            + "".join(f'<td><div class="app" title="{a}">{a}</div></td>' for a in leading)
            + "</tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _apps(day: Day) -> str:
    """Time per application (in front, neither idle nor locked) and its most seen titles."""
    u = day.usage
    if u is None:
        return '<p class="empty">unknown: no catalog, only the kept files</p>'
    if not u.apps:
        return '<p class="empty">no focused window recorded</p>'
    e = html.escape
    rows = ['<table class="apps"><tr><th>application</th><th>time</th><th>top titles</th></tr>']
    for a in u.apps:
        titles = "<br>".join(f"{e(t.title)} &middot; {e(duration(t.seconds))}" for t in a.titles)
        rows.append(
            f"<tr><td>{e(a.app)}</td><td>{e(duration(a.seconds))}</td>"
            f'<td class="t">{titles}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


DAY_PICKS = 8
"""Highlights shown per day."""


def pages(report: Report, out: Path, on_progress: Progress | None = None) -> list[Path]:
    """Write `out/YYYY-MM-DD.html` for every day of the report.

    `on_progress` follows each day's highlights (a stage per day).
    """
    from screenrecord.review import highlights
    from screenrecord.review.report import captures

    written = []
    for day in report.days:
        since = datetime.combine(day.day, datetime.min.time())
        until = since + timedelta(days=1)
        _, caps = captures(report.root, since, until)
        picks = highlights.find(
            [report.root],
            since,
            until,
            n=DAY_PICKS,
            catalog_scores=highlights.repeats(report.root, since, until),
            on_progress=on_progress,
        )
        written.append(render(day, caps, picks, report.root, out / f"{day.day}.html"))
    return written
