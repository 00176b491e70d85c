"""Highlights over 2,000 frames: time and peak memory (run by hand; prints a table).

Frames are corpus frames (monitor 1) repeated with small synthetic variations (a moving block and
a changing bar, and every 97th frame a big unique drawing), written as real PNG files to a temporary archive, so decoding is measured too.

    .venv/bin/python bench/highlights.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from screenrecord.archive import store
from screenrecord.review import highlights

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def build(root: Path, n: int) -> None:
    sources = sorted((CORPUS / "2026-03").rglob("*_1.png"))
    t0 = datetime(2026, 4, 1, 8)
    for k in range(n):
        with Image.open(sources[k % len(sources)]) as im:
            img = im.convert("RGB")
        d = ImageDraw.Draw(img)
        x = (k * 37) % (img.width - 200)
        d.rectangle((x, 40, x + 160, 120), fill=((k * 13) % 256, 80, 160))
        d.rectangle((0, img.height - 24, (k * 11) % img.width, img.height), fill=(30, 30, 30))
        if k % 97 == 0:  # now and then something unusual: a big unique drawing
            for j in range(6):
                c = ((k * 7 + j * 50) % 256, (k * 3 + j * 90) % 256, (j * 40) % 256)
                d.ellipse((200 * j + k % 150, 150 + 80 * j, 200 * j + 500, 500 + 60 * j), fill=c)
        store.write_atomic(
            store.frame_path(root, t0 + timedelta(minutes=3 * k), 1), store.encode(img)
        )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        build(root, n)
        print(f"built {n} frames in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        t = time.perf_counter()
        cpu = time.process_time()
        picks = highlights.find([root], n=20, progress=sys.stderr.isatty())
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        "| frames | picks | wall s | CPU s | ms/frame | peak Python heap MB | peak RSS MB (before) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {n} | {len(picks)} | {wall:.1f} | {cpu:.1f} | {1000 * wall / n:.1f} | "
        f"{peak / 2**20:.0f} | {rss / 1024:.0f} ({rss0 / 1024:.0f}) |"
    )


if __name__ == "__main__":
    main()
