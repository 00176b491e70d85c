"""Archives for the browse tests and bench: real PNG frames of two monitors and their catalog.

Each frame looks like a screen (a title bar, a window, lines of "text" and a clock) and differs
from the one before, so thumbnails, highlights and the player all have something real to show.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Kind, Record

SIZES = {1: (320, 200), 2: (256, 160)}
"""Monitor sizes: small, so that an archive of hundreds of frames is made in seconds."""


def screen(
    n: int, monitor: int, when: datetime, size: tuple[int, int] | None = None
) -> Image.Image:
    """A screen-like frame: frame `n` of `monitor`, its clock showing `when`."""
    w, h = size or SIZES[monitor]
    rnd = random.Random(n * 31 + monitor)
    hue = [(40, 90, 160), (30, 120, 80), (140, 60, 50), (90, 70, 140)][(n // 7) % 4]
    im = Image.new("RGB", (w, h), (235, 236, 240))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, w, 14), fill=(40, 42, 48))
    d.text((4, 2), f"{when:%H:%M:%S}  monitor {monitor}", fill=(230, 230, 230))
    x0, y0 = rnd.randrange(0, w // 3), rnd.randrange(18, h // 3)
    d.rectangle((x0, y0, x0 + w // 2, y0 + h // 2), fill=(255, 255, 255), outline=hue, width=3)
    for k in range(rnd.randrange(3, 9)):
        y = y0 + 8 + 8 * k
        d.line((x0 + 6, y, x0 + 6 + rnd.randrange(20, w // 2 - 10), y), fill=hue, width=3)
    d.text((8, h - 14), f"frame {n}", fill=(20, 20, 20))
    return im


def ticks(day: date, start: time, every: timedelta, n: int) -> list[datetime]:
    """`n` capture instants from `start` on `day`, `every` apart."""
    first = datetime.combine(day, start)
    return [first + k * every for k in range(n)]


def fill(
    root: Path,
    when: Sequence[datetime],
    monitors: Sequence[int] = (1, 2),
    duplicate_every: int = 3,
    near_every: int = 5,
    catalog: bool = True,
    sizes: dict[int, tuple[int, int]] | None = None,
) -> list[Record]:
    """Frames at each instant of `when` on each monitor, as the daemon leaves them: every
    `duplicate_every`-th tick only repeats (no file), every `near_every`-th is near (in
    `similar/`), the rest new; each decision recorded in ROOT's catalog when `catalog`."""
    records = []
    for k, taken in enumerate(when):
        for m in monitors:
            taken_m = taken + timedelta(microseconds=1000 * m)
            size = (sizes or SIZES).get(m, SIZES[1])
            if duplicate_every and k % duplicate_every == duplicate_every - 1:
                kind, path = Kind.DUPLICATE, None
            else:
                kind = Kind.NEAR if near_every and k % near_every == near_every - 1 else Kind.NEW
                folder = store.day_folder(root, taken_m)
                if kind is Kind.NEAR:
                    folder = folder / store.SIMILAR
                path = folder / store.frame_name(taken_m, m)
                store.write_atomic(path, store.encode(screen(k, m, taken_m, size)))
            rel = path.relative_to(root).as_posix() if path else None
            records.append(
                Record(
                    taken_m,
                    m,
                    *size,
                    kind,
                    score=None if kind is Kind.NEW else 0.97,
                    path=rel,
                    bytes=path.stat().st_size if path else None,
                )
            )
    if catalog:
        with Catalog.open(root) as cat:
            cat.record_many(records)
    return records


def kept(records: Sequence[Record], monitor: int) -> list[Record]:
    """The records of `monitor` that left a file, in time order."""
    return sorted((r for r in records if r.path and r.monitor == monitor), key=lambda r: r.taken)


def page_data(page: Path) -> dict:
    """A day page's data: the JSON its script plays (frames, lanes, highlights, links)."""
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page.read_text())
    assert found is not None, page
    return json.loads(found[1])
