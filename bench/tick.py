"""Per-tick cost of the capture daemon, and bytes per kept frame by storage format. Run by hand.

    .venv/bin/python bench/tick.py [--ticks 1000] [--corpus ../shared/corpus] [--tree TREE]

Starts a real X server with one and then two 1920x1080 monitors (tests/helpers/multihead-x),
paints real screenshots on them (ImageMagick `display -window root`), fills every monitor's ring
with 100 kept frames, and times Recorder.tick() in process:
- unchanged tick: the screen is what the ring's front entry holds (the common case);
- changed tick: every monitor shows a corpus frame the ring does not hold (the corpus's next
  frames: new screens and small changes alike), so the ring is searched and, where the frame
  is kept, it is encoded and written; these ticks are also split by whether they wrote a frame,
  so that two trees that keep different frames still compare like for like;
- of both, the time the pipeline took to decide (its records' compare_ms: the score, the
  regions), apart from the capture and the write around it;
- the mean CPU of N ticks with one changed tick in ten, and RSS after them, to show that memory
  stays flat.
`--tree TREE` times another checkout's screenrecord (e.g. a worktree of the commit before) with
this bench, so both trees are measured by the same code in the same run.
Then it encodes corpus frames with every PNG level and WebP lossless and prints ms and KiB.
Needs: xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils imagemagick.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]

MULTIHEAD_X = REPO / "tests" / "helpers" / "multihead-x"
W, H = 1920, 1080


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def corpus_frames(corpus: Path, n: int) -> list[Path]:
    """Paths of the first n 1920x1080 corpus frames (loaded one at a time, so RSS is the daemon's)."""
    out = []
    for p in sorted(corpus.rglob("*_1.png")):
        with Image.open(p) as im:
            if im.size == (W, H):
                out.append(p)
        if len(out) == n:
            return out
    sys.exit(f"fewer than {n} {W}x{H} frames under {corpus}")


def load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def show(display: str, tmp: Path, screens: list[Path]) -> None:
    """Paint the screens side by side on the root window, composed by ImageMagick in its own
    process, so that the benchmark's peak RSS is the daemon's, not its painter's."""
    path = tmp / "root.ppm"
    subprocess.run(["convert", *map(str, screens), "+append", str(path)], check=True)
    subprocess.run(
        ["display", "-window", "root", str(path)], env={**os.environ, "DISPLAY": display}
    )


def start_x(monitors: int) -> str:
    for n in range(400 + os.getpid() % 300, 800):
        if os.path.exists(f"/tmp/.X{n}-lock"):
            continue
        r = subprocess.run(
            [str(MULTIHEAD_X), f":{n}", *[f"{W}x{H}"] * monitors], capture_output=True
        )
        if r.returncode == 0:
            return f":{n}"
    sys.exit("multihead-x could not start a server")


def bench_ticks(monitors: int, frames: list[Path], ticks: int, tmp: Path) -> dict[str, str]:
    from screenrecord import config
    from screenrecord.daemon import Recorder
    from screenrecord.models import Frame, Kind

    display = start_x(monitors)
    try:
        env = {"DISPLAY": display}
        root = tmp / f"archive{monitors}"
        cfg_path = tmp / f"c{monitors}.toml"
        cfg_path.write_text(f'root = "{root}"\n[dedup]\ndevice = "cpu"\n')
        cfg = config.load(cfg_path)
        rec = Recorder(cfg, env)
        t = datetime(2026, 1, 1)
        ring, fresh = frames[:100], frames[100:]
        for m in range(1, monitors + 1):  # a full ring of 100 distinct kept frames per monitor
            for i, path in enumerate(ring):
                rec.pipeline.remember(Frame(m, load(path), t, f"ring{m}-{i}"))
        now = t

        def tick() -> tuple[float, float, bool, float]:
            nonlocal now
            now += timedelta(seconds=180)
            c, w = time.process_time(), time.perf_counter()
            records = rec.tick(now)
            cpu, wall = time.process_time() - c, time.perf_counter() - w
            wrote = any(r.decision in (Kind.NEW, Kind.NEAR) for r in records)
            decide = sum(r.compare_ms or 0.0 for r in records) / 1000  # the pipeline's decisions
            return cpu, wall, wrote, decide

        show(display, tmp, [ring[-1]] * monitors)  # the ring's front entry: unchanged screen
        unchanged = [tick() for _ in range(20)]
        changed = []
        for i in range(10):
            show(display, tmp, [fresh[(i * monitors + k) % len(fresh)] for k in range(monitors)])
            changed.append(tick())
        rss, run_cpu, run_kept = [], 0.0, 0
        for i in range(ticks):
            if i % 10 == 0:
                show(display, tmp, [fresh[(i // 10 + k) % len(fresh)] for k in range(monitors)])
            cpu, _, kept, _ = tick()
            run_cpu, run_kept = run_cpu + cpu, run_kept + kept
            if i + 1 in (100, ticks):
                rss.append(rss_mib())
        ring_mib = rec.pipeline.ring_bytes() / 2**20
        rec.close()
    finally:
        subprocess.run([str(MULTIHEAD_X), "--stop", display], capture_output=True)

    def ms(xs: list[tuple[float, float, bool, float]], k: int, digits: int = 0) -> str:
        return f"{statistics.median(x[k] for x in xs) * 1000:.{digits}f}" if xs else "-"

    writing = [c for c in changed if c[2]]
    quiet = [c for c in changed if not c[2]]

    return {
        "monitors": str(monitors),
        "unchanged CPU ms": ms(unchanged, 0),
        "unchanged wall ms": ms(unchanged, 1),
        "unchanged decide ms": ms(unchanged, 3, digits=1),
        "changed CPU ms": ms(changed, 0),
        "changed wall ms": ms(changed, 1),
        "changed decide ms": ms(changed, 3),
        "writing CPU ms (n)": f"{ms(writing, 0)} ({len(writing)})",
        "not writing CPU ms (n)": f"{ms(quiet, 0)} ({len(quiet)})",
        f"mean CPU ms of {ticks} (kept)": f"{run_cpu / ticks * 1000:.0f} ({run_kept})",
        "ring MiB": f"{ring_mib:.0f}",
        "RSS@100 MiB": f"{rss[0]:.0f}",
        f"RSS@{ticks} MiB": f"{rss[1]:.0f}",
        "growth": f"{(rss[1] / rss[0] - 1) * 100:+.1f}%",
    }


def bench_formats(paths: list[Path]) -> list[dict[str, str]]:
    frames = [load(p) for p in paths]
    rows = []
    cases = [(f"png level {lvl}", "PNG", {"compress_level": lvl}) for lvl in range(10)]
    cases += [
        (
            "webp lossless method 0 (format = webp)",
            "WEBP",
            {"lossless": True, "quality": 0, "method": 0},
        ),
        ("webp lossless method 4", "WEBP", {"lossless": True, "quality": 100, "method": 4}),
    ]
    for name, fmt, kw in cases:
        start, total = time.process_time(), 0
        for im in frames:
            buf = io.BytesIO()
            im.save(buf, fmt, **kw)
            total += buf.tell()
        cpu = (time.process_time() - start) / len(frames)
        rows.append(
            {
                "format": name,
                "CPU ms/frame": f"{cpu * 1000:.0f}",
                "KiB/frame": f"{total / len(frames) / 1024:.0f}",
            }
        )
    return rows


def table(rows: list[dict[str, str]]) -> str:
    keys = list(rows[0])
    widths = [max(len(k), *(len(r[k]) for r in rows)) for k in keys]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(keys), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line([r[k] for k in keys]) for r in rows]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=1000)
    p.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus")
    p.add_argument("--skip-ticks", action="store_true", help="only the storage formats table")
    p.add_argument(
        "--tree", type=Path, default=REPO, help="the checkout whose screenrecord to time"
    )
    args = p.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    frames = corpus_frames(args.corpus, 130)
    print(
        f"{len(frames)} corpus frames {W}x{H}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}, "
        f"tree {args.tree}\n"
    )
    if not args.skip_ticks:
        with tempfile.TemporaryDirectory() as tmp:
            print(table([bench_ticks(m, frames, args.ticks, Path(tmp)) for m in (1, 2)]))
        print()
    print(table(bench_formats(frames[::5])))


if __name__ == "__main__":
    main()
