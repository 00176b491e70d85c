"""The browse site for one heavy day: generation cost per frame, and the page in headless Chromium
(run by hand; prints a table).

The day has 5,000 kept frames on two monitors (a tick every 30 s for 20.8 hours, every frame
changed, every 10th near), screen-like PNGs drawn by tests/helpers/sitearchive.py, with a catalog.
Measured: the first run (thumbnails, highlights, page), a run with nothing changed, a run after
one more tick; then time to the first frame decoded in the page, and to step 100 frames with
the arrow key (each step waits for its frame, as a held key does).

    .venv/bin/python bench/site.py [FRAMES] [WIDTHxHEIGHT]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import sitearchive  # noqa: E402
from helpers.pages import chromium  # noqa: E402

from screenrecord.review import site  # noqa: E402
from screenrecord.review.site import generate  # noqa: E402

DAY = date(2026, 4, 1)

STEP_100 = """async () => {
    const frame = document.getElementById('frame');
    const loaded = () => new Promise(done => {
        const check = () => frame.dataset.ready === '1' ? done() : setTimeout(check, 1);
        check();
    });
    await loaded();
    const t = performance.now();
    for (let i = 0; i < 100; i++) {
        document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
        await loaded();
    }
    return performance.now() - t;
}"""

FIRST_FRAME = """async () => {
    const frame = document.getElementById('frame');
    while (frame.dataset.ready !== '1') await new Promise(done => setTimeout(done, 1));
    return performance.now();
}"""


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    w, h = (int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "1280x800").split("x"))
    ticks = frames // 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archive"
        when = sitearchive.ticks(DAY, clock(1), timedelta(seconds=30), ticks)
        _, made = timed(
            lambda: sitearchive.fill(
                root, when, duplicate_every=0, near_every=10, sizes={1: (w, h), 2: (w, h)}
            )
        )
        print(f"made {2 * ticks} frames of {w}x{h} in {made:.0f} s", file=sys.stderr)
        out = root / "site"
        workers = min(2, os.cpu_count() or 1)
        cpu = time.process_time()
        built, first = timed(lambda: site.build(site.Archive.read(root), out, workers))
        cpu = time.process_time() - cpu
        n = 2 * ticks
        rows.append(("first run, whole site", f"{first:.1f} s", f"{1000 * first / n:.1f} ms"))
        rows.append(("  CPU (both cores)", f"{cpu:.1f} s", f"{1000 * cpu / n:.1f} ms"))
        tdir = out / generate.THUMBS / str(DAY)
        shots = site.Archive.read(root).found[DAY]
        _, hl = timed(lambda: generate._highlights(root, DAY, tdir, shots, workers))
        rows.append(
            ("  of which highlights (on thumbnails)", f"{hl:.1f} s", f"{1000 * hl / n:.2f} ms")
        )
        again, rerun = timed(lambda: site.build(site.Archive.read(root), out, workers))
        assert again.written == []
        rows.append(("second run, nothing changed", f"{rerun:.2f} s", "-"))
        sitearchive.fill(
            root, [when[-1] + timedelta(seconds=30)], duplicate_every=0, near_every=0,
            sizes={1: (w, h), 2: (w, h)},
        )  # fmt: skip
        _, one = timed(lambda: site.build(site.Archive.read(root), out, workers))
        rows.append(("after one more tick (2 frames)", f"{one:.2f} s", "-"))
        page = built.pages[DAY]
        thumbs = sum(p.stat().st_size for p in tdir.rglob("*.jpg"))
        rows.append(("page size (frame index inline)", f"{page.stat().st_size / 1e6:.2f} MB", "-"))
        rows.append(("thumbnails", f"{thumbs / 1e6:.1f} MB", f"{thumbs / n / 1e3:.1f} kB"))

        with chromium() as browser:
            tab = browser.new_page(viewport={"width": 1600, "height": 1000})
            start = time.perf_counter()
            tab.goto(page.as_uri())
            first_frame = tab.evaluate(FIRST_FRAME)
            wall = time.perf_counter() - start
            rows.append(
                ("Chromium: first frame shown", f"{first_frame:.0f} ms", f"{wall:.2f} s wall")
            )
            step = tab.evaluate(STEP_100)
            rows.append(
                ("Chromium: 100 steps with →", f"{step:.0f} ms", f"{step / 100:.1f} ms/step")
            )
            dom = tab.evaluate("document.images.length")
            rows.append(("Chromium: images in the DOM", str(dom), "-"))

    print(f"\nsite of one day: {n} kept frames of {w}x{h}, two monitors, {workers} workers\n")
    print("| measure | value | per frame |\n|---|---|---|")
    for name, value, per in rows:
        print(f"| {name} | {value} | {per} |")


if __name__ == "__main__":
    main()
