"""Retention over a synthetic year of ~100,000 frames: planning time and peak RSS, and the bytes
the example schedule saves (run by hand; prints two tables).

The archive is real files and a real catalog: a busy user with two monitors, 3-minute ticks,
weekdays 8:00-20:00 keeping 85% of ticks (~190 frames per monitor and day; a lunch hour idle,
in the catalog as idle ticks), weekends an hour or two at 40%. Each frame is a distinct 160x90 PNG (so ranking decodes real images,
cheaply) extended to a realistic size, 100-400 kB (mean ~200 kB as the README's figures), as a
sparse file: `prune` reads sizes with stat, so the year's ~20 GB take a few hundred MB of disk.

Cases, each in a process of its own so that its peak RSS is its own (os.wait4's ru_maxrss, MiB):
  walk       listing the day folders and stat-ing every frame, the floor any plan pays;
  first      the first plan of the example schedule: every day over its caps is ranked
             (catalog ticks for the stretches, thumbnails and novelty for the rest);
  daily      the plan the daemon makes the next day, once the first plan was applied;
  budget     that plan with max_bytes = "3GB" (ranks the oldest days again, to halve them).
On real 1080p frames the ranking costs the thumbnail decoding of highlights (bench/highlights.py
measures it per frame); the `real` column gives that cost on the corpus, when it is there.

    .venv/bin/python bench/prune.py [FRAMES]
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.config import units
from screenrecord.models import Activity, Kind, Record, Retention, Tier
from screenrecord.retention import plan as retention

SCHEDULE = Retention(14, (Tier(14, 6, "h"), Tier(180, 12, "d")))
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
TODAY = date(2027, 1, 1)
BUDGET = 3 * 10**9


def picture(rnd: random.Random) -> bytes:
    im = Image.new("RGB", (160, 90), tuple(rnd.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rnd.randrange(140), rnd.randrange(80)
        d.rectangle(
            (x, y, x + rnd.randrange(10, 80), y + rnd.randrange(5, 40)),
            fill=tuple(rnd.randrange(256) for _ in range(3)),
        )
    return store.encode(im, "png", 1)


def build(root: Path, frames: int) -> int:
    """A year before TODAY, busy on weekdays, quiet at weekends, until `frames` are kept."""
    rnd = random.Random(1)
    records: list[Record] = []
    n = 0
    for back in range(365, 0, -1):
        day = datetime.combine(TODAY - timedelta(days=back), datetime.min.time())
        weekday = day.weekday() < 5
        start, end = (8, 20) if weekday else (14, 15 + rnd.randrange(2))
        keep_rate = 0.85 if weekday else 0.4
        t = day.replace(hour=start)
        while t < day.replace(hour=end) and n < frames:
            lunch = weekday and t.hour == 12
            for monitor in (1, 2):
                if lunch:
                    seen = Activity(app="-", idle_s=900.0, locked=False)
                    records.append(Record(t, monitor, 160, 90, Kind.IDLE, activity=seen))
                elif rnd.random() < keep_rate:
                    path = store.frame_path(root, t, monitor)
                    store.make_dirs(path.parent)
                    path.write_bytes(picture(rnd))
                    size = rnd.randrange(100_000, 400_000)
                    os.truncate(path, size)  # sparse: a realistic size, little disk
                    rel = path.relative_to(root).as_posix()
                    seen = Activity(app="Editor", idle_s=3.0, locked=False)
                    records.append(
                        Record(
                            t, monitor, 160, 90, Kind.NEW, 0.5, path=rel, bytes=size, activity=seen
                        )
                    )
                    n += 1
                else:
                    seen = Activity(app="Editor", idle_s=30.0, locked=False)
                    records.append(
                        Record(t, monitor, 160, 90, Kind.DUPLICATE, 0.995, activity=seen)
                    )
            t += timedelta(minutes=3)
    with Catalog.open(root) as cat:
        cat.record_many(records)
    return n


def case(name: str, root: Path) -> None:
    """One measured case, in this (child) process: prints its figures as JSON."""
    t = time.perf_counter()
    if name == "walk":
        n = sum(
            1
            for f in store.folders([root], dated_only=True)
            for a in f.files + f.similar
            if os.lstat(a.path).st_size
        )
        out: dict = {"frames": n}
    elif name == "real":
        found = sorted((CORPUS / "2026-03").rglob("*_1.png"))[:200]
        from screenrecord.review import highlights

        src = [highlights.Source(p, *_parsed(p)) for p in found]
        t = time.perf_counter()
        highlights.rank(src, retention.HIGHLIGHTS_PER_DAY)
        out = {"frames": len(src)}
    else:
        from screenrecord.retention import prune

        now = datetime.combine(TODAY, datetime.min.time()).replace(hour=4)
        settings = Retention(14, SCHEDULE.thin, BUDGET) if name == "budget" else SCHEDULE
        done = prune.run(root, settings, now, apply=name == "first")
        p = done.plan
        out = {
            "frames": sum(m.gone + m.kept for m in p.months),
            "gone": len(p.gone),
            "before": p.size_before,
            "after": p.size_after,
        }
    out["wall"] = time.perf_counter() - t
    print(json.dumps(out))


def _parsed(path: Path) -> tuple[datetime, int]:
    found = store.parse_name(path.name)
    assert found is not None, path
    return found


def child(name: str, root: Path) -> tuple[dict, float]:
    p = subprocess.Popen(
        [sys.executable, __file__, "--case", name, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    text = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    assert status == 0, text
    return json.loads(text), ru.ru_maxrss / 1024


def main() -> None:
    if sys.argv[1:2] == ["--case"]:
        case(sys.argv[2], Path(sys.argv[3]))
        return
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archive"
        t = time.perf_counter()
        n = build(root, frames)
        print(f"built {n} frames in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        child("walk", root)  # warm the cache, so that every case finds it as the daemon does
        rows = []
        for name in ("walk", "first", "daily", "budget") + (("real",) if CORPUS.is_dir() else ()):
            rows.append((name, *child(name, root)))
    walk = rows[0][1]["wall"]
    print(f"\nPlanning a prune of {n:,} frames (real files, sparse, and a real catalog)\n")
    print("| case | frames | to remove | wall s | µs per frame | x walk | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, r, rss in rows:
        gone = r.get("gone", "-")
        print(
            f"| {name} | {r['frames']:,} | {gone if isinstance(gone, str) else f'{gone:,}'} | {r['wall']:.1f} | "
            f"{1e6 * r['wall'] / max(r['frames'], 1):.0f} | {r['wall'] / walk:.1f} | {rss:.0f} |"
        )
    first, budget = rows[1][1], rows[3][1]
    print(
        f"\nBytes the example schedule saves on the synthetic year ({n:,} frames, today {TODAY})\n"
    )
    print("| settings | frames kept | kept | saved | saved % |")
    print("|---|---|---|---|---|")
    for label, kept, size in [
        ("nothing set (keep everything)", first["frames"], first["before"]),
        ('thin ["14d: 6/h", "180d: 12/d"]', first["frames"] - first["gone"], first["after"]),
        (
            f'the same, max_bytes "{units.size(BUDGET)}"',
            first["frames"] - first["gone"] - budget["gone"],
            budget["after"],
        ),
    ]:
        saved = first["before"] - size
        print(
            f"| {label} | {kept:,} | {units.size(size)} | {units.size(saved)} | "
            f"{100 * saved / first['before']:.0f}% |"
        )


if __name__ == "__main__":
    main()
