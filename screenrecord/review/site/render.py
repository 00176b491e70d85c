"""The site's two kinds of page as HTML: a day that plays, and the index calendar.

Each page is one file that works from `file://` with no network: its script, its style and its
data (the day's frame index, as JSON: a `file://` page cannot fetch any) are inline, images are
referenced by relative path, and a Content-Security-Policy allows the inline script and style
by their hashes and images from files only, so the page cannot make a network request at all.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import html
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib import resources
from typing import Any

from screenrecord.config.units import count, duration
from screenrecord.review.site.day import STATES, Day, Totals

SHORTCUTS = (
    ("← / →", "previous / next kept frame"),
    ("Shift+← / Shift+→", "10 minutes back / forward"),
    ("PageUp / PageDown", "an hour back / forward"),
    ("Home / End", "first / last frame of the day"),
    ("Space", "play / pause"),
    ("+ / -", "faster / slower (1 to 30 frames per second)"),
    ("h / Shift+h", "next / previous highlight"),
    ("m", "next monitor"),
    ("o", "outline what changed in the frame / hide the outlines"),
    ("[ / ]", "previous / next day"),
    ("click or drag the timeline", "go to that time (on that monitor's lane)"),
    ("?", "show / hide this list"),
)
"""The day page's keys, in its visible shortcut list."""


def _asset(name: str) -> str:
    return resources.files("screenrecord.review.site").joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def _page(title: str, body: str, css: str, script: str = "") -> bytes:
    """A complete page whose CSP allows exactly its own inline style and script."""
    scripts = _hash(script) if script else "'none'"
    policy = (
        "default-src 'none'; img-src file: data:; "
        f"style-src {_hash(css)}; script-src {scripts}; base-uri 'none'; form-action 'none'"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{css}</style></head><body>",
        body,
    ]
    if script:
        parts.append(f"<script>{script}</script>")
    parts.append("</body></html>\n")
    return "\n".join(parts).encode("utf-8")


def _json(value: Any) -> str:
    """JSON safe inside a <script> element (no `</` can end it early)."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


@dataclass(frozen=True, slots=True)
class Links:
    """Where a day page's links and images lead, relative to the page."""

    frames: str
    """The day folder of the archive, ending in `/`."""
    thumbs: str
    """The day's thumbnail folder, ending in `/`."""
    index: str
    prev: str | None
    next: str | None


def summary(t: Totals) -> str:
    """The day's totals in one line."""
    parts = [f"active {duration(t.active_seconds)}"]
    if t.unchanged_seconds is not None:
        parts.append(f"unchanged {duration(t.unchanged_seconds)}")
    parts.append(count(t.kept, "kept frame"))
    if t.first:
        parts.append(f"{t.first}-{t.last}")
    if t.apps:
        parts.append(", ".join(t.apps))
    return " · ".join(parts)


def day_page(
    day: Day,
    links: Links,
    highlights: Sequence[tuple[float, int, str, float]],
    unreadable: Collection[str] = (),
) -> bytes:
    """The day's playable page; `unreadable`: the frames (`Shot.rel`) that cannot be decoded,
    shown as such, with no request for their thumbnail."""
    midnight = datetime.combine(day.day, time())
    e = html.escape
    data = {
        "day": day.day.isoformat(),
        "frames": links.frames,
        "thumbs": links.thumbs,
        "prev": links.prev,
        "next": links.next,
        "monitors": sorted({s.monitor for s in day.shots} | set(day.lanes)),
        "shots": [
            [
                round((s.taken - midnight).total_seconds(), 3),
                s.monitor,
                s.rel,
                day.seen.get(s.rel),
                s.rel in unreadable,
                [[b.x, b.y, b.w, b.h] for b in day.regions.get(s.rel, ())],
            ]
            for s in day.shots
        ],
        "lanes": {str(m): runs for m, runs in day.lanes.items()},
        "highlights": [list(h) for h in highlights],
        "states": list(STATES),
    }
    nav = [f'<a id="prev" href="{e(links.prev)}">◀ previous day</a>' if links.prev else ""]
    nav.append(f'<a href="{e(links.index)}">all days</a>')
    nav.append(f'<a id="next" href="{e(links.next)}">next day ▶</a>' if links.next else "")
    keys = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in SHORTCUTS)
    totals = summary(day.totals) if day.totals else ""
    body = f"""<header>
<nav>{" ".join(nav)}</nav>
<h1>{day.day:%A %d %B %Y}</h1>
<p id="totals">{e(totals)}</p>
<button id="help-button" type="button" aria-controls="help" aria-expanded="false" title="keyboard shortcuts">? shortcuts</button>
</header>
<aside id="help" hidden><h2>Keyboard shortcuts</h2><dl>{keys}</dl></aside>
<main>
<div id="view"><img id="frame" alt="the current frame"><div id="regions" aria-hidden="true"></div><p id="empty" hidden>no kept frame on this monitor</p><p id="unreadable" hidden></p></div>
<div id="controls">
<button id="play" type="button">▶ play</button>
<span id="speed"></span>
<span id="where"></span>
<span id="seen"></span>
<a id="open" href="#">open the frame</a>
</div>
<section id="axis" aria-label="the day from 00:00 to 24:00, one lane per monitor">
<div id="hours"></div>
<div id="track"><canvas id="lanes"></canvas><div id="marks"></div><div id="cursor"></div></div>
</section>
<ul id="legend"></ul>
<div id="strip" aria-label="frames near the current one"></div>
</main>
<script type="application/json" id="data">{_json(data)}</script>"""
    return _page(
        f"screenrecord {day.day}", body, _asset("site.css") + _asset("day.css"), _asset("day.js")
    )


LEVELS = (15 * 60, 3600, 2 * 3600, 4 * 3600, 6 * 3600)
"""Active time at which a calendar day gets one shade darker: 15 min, 1, 2, 4 and 6 hours."""


def level(active_seconds: float) -> int:
    """The calendar shade of a day, 0 (a few captures) to 5 (six hours or more)."""
    return sum(active_seconds >= x for x in LEVELS)


def index_page(days: Sequence[tuple[date, Totals, str]]) -> bytes:
    """The calendar of every month with captures, newest first; `days` gives each day's totals
    and the link to its page."""
    e = html.escape
    by_month: dict[tuple[int, int], dict[int, tuple[Totals, str]]] = {}
    for d, t, href in days:
        by_month.setdefault((d.year, d.month), {})[d.day] = (t, href)
    kept = sum(t.kept for _, t, _ in days)
    active = sum(t.active_seconds for _, t, _ in days)
    parts = [
        "<header><h1>screenrecord</h1>",
        f'<p id="totals">{e(count(len(days), "day"))} with captures · active {e(duration(active))}'
        f" · {e(count(kept, 'kept frame'))}</p></header><main>",
    ]
    week = "".join(f"<th>{n}</th>" for n in calendar.day_abbr)
    for (year, month), found in sorted(by_month.items(), reverse=True):
        m_active = sum(t.active_seconds for t, _ in found.values())
        m_kept = sum(t.kept for t, _ in found.values())
        parts.append(
            f'<section class="month"><h2>{calendar.month_name[month]} {year}'
            f" <small>active {e(duration(m_active))} · {e(count(m_kept, 'frame'))}</small></h2>"
            f'<table class="cal"><thead><tr>{week}</tr></thead><tbody>'
        )
        for row in calendar.Calendar().monthdayscalendar(year, month):
            cells = []
            for n in row:
                if n == 0:
                    cells.append("<td></td>")
                elif n in found:
                    t, href = found[n]
                    tip = f"{date(year, month, n):%A %d %B}: {summary(t)}"
                    apps = f'<span class="apps">{e(", ".join(t.apps))}</span>' if t.apps else ""
                    cells.append(
                        f'<td><a class="day l{level(t.active_seconds)}" href="{e(href)}" title="{e(tip)}">'
                        f'<b>{n}</b><span class="active">{e(duration(t.active_seconds))}</span>'
                        f'<span class="kept">{e(count(t.kept, "frame"))}</span>{apps}</a></td>'
                    )
                else:
                    cells.append(f'<td><span class="none">{n}</span></td>')
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table></section>")
    parts.append("</main>")
    return _page(
        "screenrecord: every day", "\n".join(parts), _asset("site.css") + _asset("index.css")
    )
