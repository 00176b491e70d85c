"""How long `screenrecord status` takes on catalogs of months and years. Run by hand.

    .venv/bin/python bench/status.py [--rows 10000 100000 350000 1000000]

Fills a real SQLite catalog (Catalog.record in one transaction) with two monitors captured every
3 minutes, 1 in 10 decisions kept (350,000 rows is a year), then times status.gather() (what the
command reads: newest decision per monitor, today's tally, the all-time tally, the last error)
and the whole `screenrecord status` command as a subprocess (interpreter start included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from screenrecord.archive.catalog import Catalog
from screenrecord.models import Kind, Record
from screenrecord.review import status


def fill(root: Path, rows: int, end: datetime) -> None:
    start = end - timedelta(minutes=3 * rows // 2)
    with Catalog.open(root) as cat:
        cat.conn.execute("BEGIN")
        for i in range(rows):
            taken = start + timedelta(minutes=3 * (i // 2))
            monitor = i % 2 + 1
            if i % 10 == 0:
                name = f"{taken:%Y-%m}/{taken:%Y-%m-%d}/{taken:%Y-%m-%d_%H.%M.%S.%f}_{monitor}.png"
                cat.record(Record(taken, monitor, 1920, 1080, Kind.NEW, 0.5, None, name, 400_000))
            else:
                cat.record(Record(taken, monitor, 1920, 1080, Kind.DUPLICATE, 0.999, "x.png"))
        cat.conn.execute("COMMIT")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 350_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    now = datetime.now()
    print(f"{'rows':>10} {'catalog MB':>11} {'gather ms (median)':>19} {'command ms (median)':>20}")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "archive"
            fill(root, rows, now)
            size = sum(p.stat().st_size for p in root.iterdir()) / 1e6
            gather = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                status.gather(now, [], None, root, 180)
                gather.append((time.perf_counter() - t) * 1000)
            config = Path(tmp) / "config.toml"
            config.write_text(f'root = "{root}"\n')
            env = {**os.environ, "HOME": tmp}
            command = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "screenrecord", "status", "--config", str(config)],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                command.append((time.perf_counter() - t) * 1000)
            print(
                f"{rows:>10,} {size:>11.1f} {statistics.median(gather):>19.1f}"
                f" {statistics.median(command):>20.0f}"
            )


if __name__ == "__main__":
    main()
