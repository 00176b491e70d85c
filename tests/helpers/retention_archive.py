"""A real archive of ~200 days for the retention tests: generated frames, a catalog written by
the project's own Catalog, busy days with idle breaks and near-duplicates, quiet days between.

Busy days (BUSY, days back from today): monitors 1 and 2 keep a frame every 3 minutes from 9:00
to 12:00, except an idle break 10:30-10:45 (idle ticks in the catalog, no frame), so each has
two active stretches: 9:00-10:27 and 10:48-11:57. Three near-duplicates per monitor sit in the
day's similar/. Quiet days (every other day) keep 4 frames per monitor at 9, 11, 14 and 16 h and
one near-duplicate at 15 h: under every cap. Frames are 160x90 PNGs of random rectangles, each
different, a few kB each.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Activity, Kind, Record

BUSY = (3, 14, 15, 40, 90, 150, 180, 181, 199)
"""Days back from today with a busy morning (14: the last day of keep_all; 180: the last of
the 6/h tier; 181 and 199: in the 12/d tier)."""
QUIET = tuple(d for d in range(1, 200, 2) if d not in BUSY)
SIZE = (160, 90)
IDLE_FROM, IDLE_TO = (10, 30), (10, 45)
STRETCH_ENDS = ((9, 0), (10, 27), (10, 48), (11, 57))
"""The first and last frame of each active stretch of a busy day, (hour, minute)."""


@dataclass(frozen=True)
class Built:
    root: Path
    today: date


def picture(seed: int) -> bytes:
    """A frame no other frame looks like: random rectangles on a random background."""
    rnd = random.Random(seed)
    im = Image.new("RGB", SIZE, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rnd.randrange(SIZE[0] - 20), rnd.randrange(SIZE[1] - 10)
        w, h = rnd.randrange(10, 80), rnd.randrange(5, 40)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(rnd.randrange(256) for _ in range(3)))
    return store.encode(im, "png", 1)


def build(root: Path, today: date) -> Built:
    """Write the archive and its catalog under `root`."""
    records: list[Record] = []
    seed = 0

    def keep(taken: datetime, monitor: int, similar: bool = False) -> None:
        nonlocal seed
        seed += 1
        data = picture(seed)
        folder = store.day_folder(root, taken) / ("similar" if similar else "")
        path = folder / store.frame_name(taken, monitor)
        store.make_dirs(path.parent)
        path.write_bytes(data)  # test data: no fsync, the archive's own writes are not tested here
        seen = Activity(app="Editor", idle_s=5.0, locked=False)
        records.append(
            Record(
                taken,
                monitor,
                *SIZE,
                Kind.NEAR if similar else Kind.NEW,
                score=0.97 if similar else 0.5,
                path=path.relative_to(root).as_posix(),
                bytes=len(data),
                activity=seen,
            )
        )

    def idle(taken: datetime, monitor: int) -> None:
        seen = Activity(app="Editor", idle_s=600.0, locked=False)
        records.append(Record(taken, monitor, *SIZE, Kind.IDLE, activity=seen))

    for back in sorted({*BUSY, *QUIET}, reverse=True):
        day = datetime.combine(today - timedelta(days=back), datetime.min.time())
        for monitor in (1, 2):
            if back in BUSY:
                t = day.replace(hour=9)
                while t < day.replace(hour=12):
                    if (
                        day.replace(hour=IDLE_FROM[0], minute=IDLE_FROM[1])
                        <= t
                        <= day.replace(hour=IDLE_TO[0], minute=IDLE_TO[1])
                    ):
                        idle(t, monitor)
                    else:
                        keep(t, monitor)
                    t += timedelta(minutes=3)
                for minute in (5, 25, 50):
                    keep(day.replace(hour=9, minute=minute, second=30), monitor, similar=True)
            else:
                for hour in (9, 11, 14, 16):
                    keep(day.replace(hour=hour), monitor)
                keep(day.replace(hour=15), monitor, similar=True)
    with Catalog.open(root) as cat:
        cat.record_many(sorted(records, key=lambda r: (r.taken, r.monitor)))
    return Built(root, today)


def copy(template: Built, dest: Path) -> Built:
    shutil.copytree(template.root, dest, symlinks=True)
    return Built(dest, template.today)


def frames_on_disk(root: Path) -> dict[str, str]:
    """Every frame file of the archive (day folders and similar/) -> sha256."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("????-??/????-??-??/**/*.png"))
        if p.is_file() and not p.is_symlink()
    }


def parsed(rel: str) -> tuple[datetime, int]:
    """Capture time and monitor of a frame's archive-relative path."""
    found = store.parse_name(rel.rsplit("/", 1)[1])
    assert found is not None, rel
    return found


def day_of(rel: str) -> date:
    return date.fromisoformat(rel.split("/")[1])
