"""Benchmark: memory of the rings, for 1080p, 4K and 5K streams, rings of 100 and 1,000, and the daemon.

    .venv/bin/python bench/memory.py [--tree PATH ...] [--cases ...] [--ticks 1000] [--keep DIR]

Cases, each in its own process so that its peak RSS and CPU time (user + sys) are its own
(os.wait4's ru_maxrss, ru_utime, ru_stime):
- `dedup-1080p`, `dedup-4k`, `dedup-5k`: a dry-run `python -m screenrecord dedup -v` of a
  generated stream of 120 distinct frames (1920x1080, 3840x2160, 5120x2880), so the ring of 100
  is full when the run ends; all 120 must come out new.
- `ring1000`: `dedup --ring-size 1000` over 1,000 distinct 1080p frames then 100 late repeats
  of the first 100 (byte-identical copies): 1,000 new and 100 duplicates expected.
- `warmup`: a daemon's start-up: `Recorder.warm_up` refilling one 1920x1080 monitor's ring from
  the 100 newest kept frames of a copy of the dedup-1080p archive (its time, its peak RSS).
- `content`: how compressible the generated frames are against real ones: 20 frames of the
  dedup-1080p stream and 20 1920x1080 corpus frames (every tenth), each kept alone in a tile
  store: compressed KB a frame and distinct blocks of 558 (trees with a tile store only).
- `daemon`: bench/tick.py's two-monitor run (a real X server from tests/helpers/multihead-x, rings of
  100 full per monitor, 20 unchanged and 10 changed ticks, then --ticks ticks, one changed in
  ten): RSS after 100 ticks and at the end, and the process's peak.

Frames are real screen content: a grid of 960x540 patches, each cut from a real screenshot
(tests/data/seq, and the 1920x1080 frames of the shared corpus), rolled by a random offset, so
no two frames are alike. Archives are written once per run (PNG level 1) into a temp folder and
reused by every --tree; `--keep DIR` keeps (and reuses) them there across runs.

`--tree PATH` (repeatable) runs every case with PYTHONPATH=PATH, so that two source trees are
measured in the same run; the table then has one column per tree and ratios against the first.
RSS is in MiB (2**20 bytes, as ru_maxrss and bench/tick.py count it); ring sizes are in MB and
KB (10**6, 10**3 bytes, as the `dedup -v` log line counts them). Ring bytes per frame: the `rings: N streams, X MB of frames` log line of `dedup -v` divided by
the frames the rings hold; for the daemon, Pipeline.ring_bytes() over the 200 ring entries.
Needs (daemon case): xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils imagemagick.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SEQ = ROOT / "tests" / "data" / "seq"
CORPUS = ROOT.parent / "shared" / "corpus"
PW, PH = 960, 540  # patch size: tests/data/seq's frames, a quarter of a corpus frame

# name -> (width, height, distinct frames, late repeats, ring size)
CASES: dict[str, tuple[int, int, int, int, int]] = {
    "dedup-1080p": (1920, 1080, 120, 0, 100),
    "dedup-4k": (3840, 2160, 120, 0, 100),
    "dedup-5k": (5120, 2880, 120, 0, 100),
    "ring1000": (1920, 1080, 1000, 100, 1000),
}
ALL = [*CASES, "warmup", "daemon", "content"]


# --- generated archives ---------------------------------------------------------------------


def patches(corpus: Path) -> list[np.ndarray]:
    """960x540 patches of real screenshots: tests/data/seq and quarters of corpus frames."""
    out = []
    for p in sorted(SEQ.glob("*.png")):
        with Image.open(p) as im:
            a = np.asarray(im.convert("RGB"))
        if a.shape[:2] == (PH, PW):
            out.append(a)
    frames = sorted(corpus.rglob("*_1.png")) if corpus.is_dir() else []
    for p in frames[::3]:  # every third: neighbours in capture order are often alike
        with Image.open(p) as im:
            if im.size != (2 * PW, 2 * PH):
                continue
            a = np.asarray(im.convert("RGB"))
        out += [a[y : y + PH, x : x + PW].copy() for y in (0, PH) for x in (0, PW)]
    if len(out) < 16:
        sys.exit(f"too few real screenshots to cut patches from ({SEQ}, {corpus})")
    return out


_POOL: list[np.ndarray] = []


def _init(corpus: Path) -> None:
    _POOL.extend(patches(corpus))


def name_of(i: int) -> str:
    taken = datetime(2026, 1, 1) + timedelta(seconds=150 * i)
    return f"{taken:%Y-%m}/{taken:%Y-%m-%d}/{taken:%Y-%m-%d_%H.%M.%S.%f}_1.png"


def _frame(job: tuple[Path, int, int, int, int]) -> None:
    root, w, h, seed, i = job
    rng = np.random.default_rng([seed, i])
    rows, cols = -(-h // PH), -(-w // PW)
    canvas = np.empty((rows * PH, cols * PW, 3), np.uint8)
    for r in range(rows):
        for c in range(cols):
            p = _POOL[rng.integers(len(_POOL))]
            p = np.roll(p, (int(rng.integers(PH)), int(rng.integers(PW))), (0, 1))
            canvas[r * PH : (r + 1) * PH, c * PW : (c + 1) * PW] = p
    path = root / name_of(i)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas[:h, :w]).save(path, compress_level=1)


def make(root: Path, case: str, corpus: Path) -> Path:
    """The archive of `case` under root (written unless a finished one is there)."""
    w, h, n, repeats, _ = CASES[case]
    arch = root / case
    done = arch / ".done"
    if done.exists():
        return arch
    shutil.rmtree(arch, ignore_errors=True)
    t = time.perf_counter()
    jobs = [(arch, w, h, w * h, i) for i in range(n)]
    with ProcessPoolExecutor(os.cpu_count() or 2, initializer=_init, initargs=(corpus,)) as pool:
        list(pool.map(_frame, jobs, chunksize=4))
    for k in range(repeats):  # late repeats: exact copies of the first frames, after the rest
        dst = arch / name_of(n + k)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(arch / name_of(k), dst)
    done.touch()
    print(f"  wrote {case}: {n + repeats} frames {w}x{h} in {time.perf_counter() - t:.0f} s")
    return arch


# --- measuring --------------------------------------------------------------------------------


CPU: dict[tuple[str, str], float] = {}
"""CPU seconds (user + sys) of the last child run per (case, tree): the machine's other load
changes wall time, much less the CPU a run takes."""


def child(cmd: list[str], tree: Path, cwd: Path) -> tuple[str, float, float, int]:
    """Run cmd with PYTHONPATH=tree; (stdout+stderr, wall s, peak RSS MiB, exit status); its
    CPU seconds go into CPU[("last", tree)]."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        CPU["last", str(tree)] = ru.ru_utime + ru.ru_stime
        out.seek(0)
        text = out.read()
    return text, wall, ru.ru_maxrss / 1024, p.returncode


SUMMARY = re.compile(r"(\d+) frames?: (\d+) duplicate, (\d+) near, (\d+) new, (\d+) errors?")
RINGS = re.compile(r"rings: (\d+) streams?, ([\d.]+) MB")


def run_dedup(case: str, arch: Path, tree: Path, cwd: Path) -> dict[str, str]:
    w, h, n, repeats, ring = CASES[case]
    cmd = [sys.executable, "-m", "screenrecord", "dedup", "-v", "--device", "cpu"]
    cmd += ["--ring-size", str(ring), str(arch)]
    text, wall, peak, rc = child(cmd, tree, cwd)
    m, r = SUMMARY.search(text), RINGS.search(text)
    if rc != 0 or m is None:
        sys.exit(f"{case} on {tree}: exit {rc}\n{text[-3000:]}")
    frames, dup, near, new, errors = map(int, m.groups())
    want = (n + repeats, repeats, 0, n, 0)
    if (frames, dup, near, new, errors) != want:
        print(f"  ! {case} on {tree}: {m.group(0)}, expected {want[3]} new, {repeats} duplicate")
    held = min(new, ring)
    per = f"{float(r.group(2)) * 1e6 / held / 1e3:,.0f} KB" if r and held else "?"
    ppx = f"{float(r.group(2)) * 1e6 / held / (w * h):.3f}" if r and held else "?"
    return {
        "peak RSS": f"{peak:,.0f} MiB",
        "wall": f"{wall:.1f} s",
        "CPU": f"{CPU['last', str(tree)]:.1f} s",
        "ring MB": f"{float(r.group(2)):,.0f} MB" if r else "?",
        "ring bytes/frame": per,
        "bytes/px/frame": ppx,
        "decisions": f"{new} new, {dup} dup, {near} near" + (f", {errors} err" if errors else ""),
    }


DAEMON = """
import json, resource, sys, tempfile
from pathlib import Path
import screenrecord
sys.path.insert(0, sys.argv[1])
import tick
frames = tick.corpus_frames(Path(sys.argv[2]), 130)
with tempfile.TemporaryDirectory() as tmp:
    row = tick.bench_ticks(2, frames, int(sys.argv[3]), Path(tmp))
row["where"] = screenrecord.__file__
print("ROW " + json.dumps(row))
"""


def child_row(case: str, cmd: list[str], tree: Path, cwd: Path) -> tuple[dict, float, float]:
    """Run a script that prints `ROW {json}` with PYTHONPATH=tree: (its row, wall s, peak MiB);
    it must have imported screenrecord from that tree."""
    text, wall, peak, rc = child(cmd, tree, cwd)
    line = [x for x in text.splitlines() if x.startswith("ROW ")]
    if rc != 0 or not line:
        sys.exit(f"{case} on {tree}: exit {rc}\n{text[-3000:]}")
    row = json.loads(line[-1][4:])
    if not row["where"].startswith(str(tree)):
        sys.exit(f"{case} on {tree} imported {row['where']}")
    return row, wall, peak


def run_daemon(tree: Path, cwd: Path, corpus: Path, ticks: int) -> dict[str, str]:
    cmd = [sys.executable, "-c", DAEMON, str(ROOT / "bench"), str(corpus), str(ticks)]
    row, wall, peak = child_row("daemon", cmd, tree, cwd)
    ring_mib = float(row["ring MiB"])
    return {
        "peak RSS": f"{peak:,.0f} MiB",
        "wall": f"{wall:.1f} s",
        "ring MB": f"{ring_mib * 2**20 / 1e6:,.0f} MB",
        "ring bytes/frame": f"{ring_mib * 2**20 / 200 / 1e3:,.0f} KB",
        "bytes/px/frame": f"{ring_mib * 2**20 / 200 / (1920 * 1080):.3f}",
        "tick CPU": f"unchanged {row['unchanged CPU ms']} ms, changed {row['changed CPU ms']} ms",
        "RSS@100 ticks": f"{float(row['RSS@100 MiB']):,.0f} MiB",
        f"RSS@{ticks} ticks": f"{float(row[f'RSS@{ticks} MiB']):,.0f} MiB",
        f"growth 100->{ticks}": row["growth"],
    }


WARMUP = """
import json, sys, time
from pathlib import Path
import screenrecord
from screenrecord import config
from screenrecord.capture import Monitor
from screenrecord.daemon import Recorder
cfg_path = Path(sys.argv[2])
cfg_path.write_text(f'root = "{sys.argv[1]}"\\n[dedup]\\ndevice = "cpu"\\n')
rec = Recorder(config.load(cfg_path), {})
t = time.perf_counter()
n = rec.warm_up([Monitor(1, 0, 0, 1920, 1080)])
row = {"frames": n, "s": time.perf_counter() - t, "ring": rec.pipeline.ring_bytes()}
row["where"] = screenrecord.__file__
print("ROW " + json.dumps(row))
"""


def run_warmup(arch: Path, tree: Path, cwd: Path) -> dict[str, str]:
    """Refill a ring from a copy of the archive's newest 100 frames (the copy takes the catalog
    and lock files a daemon writes)."""
    copy = cwd / "warmup"
    shutil.rmtree(copy, ignore_errors=True)
    for f in sorted(arch.rglob("*.png"))[-100:]:
        dst = copy / f.relative_to(arch)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dst)
    cmd = [sys.executable, "-c", WARMUP, str(copy), str(cwd / "warmup.toml")]
    row, wall, peak = child_row("warmup", cmd, tree, cwd)
    return {
        "peak RSS": f"{peak:,.0f} MiB",
        "wall": f"{wall:.1f} s",
        "CPU": f"{CPU['last', str(tree)]:.1f} s",
        "warm-up": f"{row['s']:.1f} s for {row['frames']} frames",
        "ring MB": f"{row['ring'] / 1e6:,.0f} MB",
        "ring bytes/frame": f"{row['ring'] / max(1, row['frames']) / 1e3:,.0f} KB",
    }


CONTENT = """
import csv, json, sys
from pathlib import Path
import numpy as np
import screenrecord
from screenrecord.archive import images
from screenrecord.engine import tiles
try:
    from screenrecord.engine.prepared import keep, prepare
except ImportError:  # a tree from before the engine's modules
    from screenrecord.engine.similarity import keep, prepare
def alone(paths):
    kb, blocks = [], []
    for p in paths:
        store = tiles.TileStore()
        kept = keep(prepare(images.load(p)), store)
        if hasattr(kept.pixels, "blobs"):  # packed tiles
            kb.append(sum(len(b.data) for b in kept.pixels.blobs) / 1e3)
        else:  # a Tile object each
            kb.append(sum(len(t.data) for t in {id(t): t for t in kept.pixels.tiles}.values()) / 1e3)
        blocks.append(len(store))
    return float(np.mean(kb)), float(np.mean(blocks))
corpus = Path(sys.argv[2])
rows = [r for r in csv.DictReader(open(corpus / "manifest.csv")) if r["width"] == "1920"]
row = {"generated": alone(sorted(Path(sys.argv[1]).rglob("*.png"))[:20]),
       "corpus": alone([corpus / r["path"] for r in rows][::10][:20])}
row["where"] = screenrecord.__file__
print("ROW " + json.dumps(row))
"""


def run_content(arch: Path, tree: Path, cwd: Path, corpus: Path) -> dict[str, str]:
    """Compressed size of a 1080p frame kept alone: generated stream against the corpus."""
    if not (tree / "screenrecord" / "engine" / "tiles.py").exists():
        return {"generated, a frame alone": "-", "corpus, a frame alone": "-"}
    cmd = [sys.executable, "-c", CONTENT, str(arch), str(corpus)]
    row, _, _ = child_row("content", cmd, tree, cwd)
    return {
        f"{name}, a frame alone": f"{kb:,.0f} KB, {n:.0f} distinct blocks"
        for name, (kb, n) in ((k, row[k]) for k in ("generated", "corpus"))
    }


def number(cell: str) -> float | None:
    m = re.match(r"[\d,.]+", cell)
    return float(m.group(0).replace(",", "")) if m else None


def show(results: dict[str, dict[str, dict[str, str]]], trees: list[Path]) -> None:
    """One table: case x measure, one column per tree, and ratios against the first tree."""
    head = ["case", "measure", *[str(t) for t in trees]]
    if len(trees) > 1:
        head += [f"ratio {i + 1}/1" for i in range(1, len(trees))]
    rows = []
    for case, by_tree in results.items():
        for key in by_tree[str(trees[0])]:
            cells = [by_tree[str(t)].get(key, "") for t in trees]
            ratios = []
            for c in cells[1:]:
                a, b = number(cells[0]), number(c)
                if key == "decisions":
                    ratios.append("same" if c == cells[0] else "DIFFER")
                else:
                    ratios.append(f"{b / a:.2f}x" if a and b is not None else "")
            rows.append([case, key, *cells, *ratios])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, action="append", help="source tree (repeatable)")
    ap.add_argument("--cases", nargs="+", choices=ALL, default=ALL)
    ap.add_argument(
        "--ticks", type=int, default=1000, help="daemon ticks after the warm-up (> 100)"
    )
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--keep", type=Path, help="write (and reuse) the archives here")
    a = ap.parse_args()
    if a.ticks <= 100:
        ap.error("--ticks must be more than 100 (RSS is read after 100 ticks and at the end)")
    trees = [t.resolve() for t in (a.tree or [ROOT])]
    for t in trees:
        if not (t / "screenrecord" / "__init__.py").exists():
            sys.exit(f"{t}: not a screenrecord source tree")
    start = time.perf_counter()
    for t in trees:  # PYTHONPATH must win over the venv's editable install
        code = "import screenrecord; print(screenrecord.__file__)"
        where, *_ = child([sys.executable, "-c", code], t, Path(tempfile.gettempdir()))
        if not where.strip().startswith(str(t)):
            sys.exit(f"PYTHONPATH={t} imports {where.strip()}")
    print(f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}, trees: {trees}")
    with tempfile.TemporaryDirectory(prefix="membench-") as tmp:
        root = a.keep or Path(tmp)
        cwd = Path(tmp)  # not a source tree: `python -m` puts the working directory first
        results: dict[str, dict[str, dict[str, str]]] = {}
        for case in a.cases:
            source = "dedup-1080p" if case in ("warmup", "content") else case
            arch = None if case == "daemon" else make(root, source, a.corpus)
            for t in trees:
                if arch is None:
                    row = run_daemon(t, cwd, a.corpus, a.ticks)
                elif case == "content":
                    row = run_content(arch, t, cwd, a.corpus)
                elif case == "warmup":
                    row = run_warmup(arch, t, cwd)
                else:
                    row = run_dedup(case, arch, t, cwd)
                results.setdefault(case, {})[str(t)] = row
                print(f"  {case} on {t}: {', '.join(list(row.values())[:2])}", flush=True)
    print(f"\nwhole run {time.perf_counter() - start:.0f} s\n")
    show(results, trees)


if __name__ == "__main__":
    main()
