"""Benchmark: `screenrecord dedup` memory does not grow with the number of frames.

    .venv/bin/python bench/stream.py [--sizes 1000 10000 40000]

Writes archives of N small frames (192x192, one folder per 500 frames, every frame different so
that the rings stay full) and runs a dry-run dedup over each in its own process, printing peak
RSS per N. Flat peaks mean a million frames fit as well as a thousand: only the rings (bounded)
hold pixels, files are walked folder by folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make(root: Path, n: int) -> None:
    rng = np.random.default_rng(n)
    t = datetime(2026, 1, 1)
    for i in range(n):
        taken = t + timedelta(minutes=3 * i)
        folder = root / f"{taken:%Y-%m}" / f"{taken:%Y-%m-%d}" / f"part{i // 500:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        a = np.repeat(np.repeat(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), 24, 0), 24, 1)
        Image.fromarray(a).save(folder / f"{taken:%Y-%m-%d_%H.%M.%S.%f}_1.png", compress_level=1)


def run(root: Path) -> tuple[float, float]:
    code = (
        "import resource,sys,time;from screenrecord.cli import main;t=time.perf_counter();"
        "main(['dedup',sys.argv[1]]);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    wall, peak = map(float, r.stdout.split()[-2:])
    return wall, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000])
    a = ap.parse_args()
    print(f"{'frames':>8} {'wall s':>8} {'us/frame':>9} {'peak RSS MB':>12}")
    for n in a.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            make(Path(tmp), n)
            wall, peak = run(Path(tmp))
            print(f"{n:>8} {wall:>8.1f} {wall / n * 1e6:>9.0f} {peak:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
