"""Benchmark: screenrecord's engine against the original script's loop, on the same frames.

    .venv/bin/python bench/engine.py [--corpus ../shared/corpus] [--sample 8] [--device cpu]

Both run on the 1920x1080 frames of the shared corpus in capture order. The ring is prefilled with
the first 100 frames (so it is full), then every later frame is decided. The original loop (PIL
half-size resize, float32 tensors, one pytorch_msssim.ssim call and .item() per ring entry, stop at
the first score over 0.99) costs seconds per frame on a CPU, so it is timed on a sample of those
frames, each against the very ring the engine had at that point. Both are timed from a decoded frame
(PNG decoding is timed on its own). Each part runs in its own process, decoding one frame at a time,
so that its peak memory is its own. Prints a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RING = 100


def frames_of(corpus: Path) -> list[str]:
    with open(corpus / "manifest.csv", newline="") as f:
        return [r["path"] for r in csv.DictReader(f) if r["width"] == "1920"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_engine(corpus: Path, sample: list[int], device: str, out: Path) -> None:
    from screenrecord.archive import images
    from screenrecord.models import DedupSettings, Frame
    from screenrecord.pipeline import Pipeline

    names = frames_of(corpus)
    d = Pipeline(DedupSettings(device=device))
    for i in range(RING):
        d.remember(Frame(1, images.load(corpus / names[i]), datetime.now(), names[i]))
    times, cpu_times, ring_times, kinds, rings, compared = [], [], [], [], {}, []
    for i in range(RING, len(names)):
        if i in sample:
            (stream,) = d.streams.values()
            rings[i] = [e.name for e in stream.ring]
        frame = Frame(1, images.load(corpus / names[i]), datetime.now(), names[i])
        t, c = time.perf_counter(), time.process_time()
        prepared = d.prepare(frame)  # half size (exact LANCZOS), hashes, thumbnail
        t1 = time.perf_counter()
        dec = d.process(frame, prepared=prepared)  # against the ring
        times.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)
        ring_times.append(time.perf_counter() - t1)
        kinds.append(dec.decision.value)
        compared.append(dec.compared)
    ring_bytes = d.ring_bytes() / RING
    out.write_text(
        json.dumps(
            {
                "times": times,
                "cpu_times": cpu_times,
                "ring_times": ring_times,
                "kinds": kinds,
                "rings": rings,
                "compared": compared,
                "ring_bytes": ring_bytes,
                "peak_mb": peak_mb(),
                "device": d.engine.device,
            }
        )
    )


def part_baseline(corpus: Path, rings: dict, device: str, out: Path) -> None:
    """The original script's loop, faithfully: tensors kept in the ring, one .item() per pair."""
    import torch
    from PIL import Image
    from pytorch_msssim import ssim

    torch.set_num_threads(1)

    def decoded(path: Path) -> Image.Image:
        im = Image.open(path)
        im.load()
        return im

    def tensor(im: Image.Image):
        im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS).convert("RGB")
        return torch.from_numpy(np.asarray(im).astype(np.float32)).permute(2, 0, 1)[None]

    from screenrecord.archive import images
    from screenrecord.models import DedupSettings, Frame
    from screenrecord.pipeline import Pipeline

    # The engine is replayed here too and timed on each sampled frame just before the original
    # loop, so that both are measured at the same moment (this machine's speed drifts by tens of
    # percent over minutes); its rings must be those of the engine part.
    names = frames_of(corpus)
    d = Pipeline(DedupSettings(device=device))
    for i in range(RING):
        d.remember(Frame(1, images.load(corpus / names[i]), datetime.now(), names[i]))
    cache = {}
    res = {}
    for i in range(RING, max(int(k) for k in rings) + 1):
        frame = Frame(1, images.load(corpus / names[i]), datetime.now(), names[i])
        (stream,) = d.streams.values()
        ring = [e.name for e in stream.ring]
        t = time.perf_counter()
        d.process(frame, prepared=d.prepare(frame))
        engine_time = time.perf_counter() - t
        if str(i) not in rings:
            continue
        assert ring == rings[str(i)], f"the replayed engine's ring differs at frame {i}"
        ring_t = [cache.setdefault(n, tensor(decoded(corpus / n))) for n in ring]
        im = decoded(corpus / names[i])  # the decision step starts from a decoded frame
        t = time.perf_counter()
        x = tensor(im)
        kind, best = "new", -1.0
        for y in ring_t:
            s = ssim(x, y, data_range=255, size_average=True).item()
            if s > 0.99:
                kind = "duplicate"
                break
            best = max(best, s)
        if kind != "duplicate":
            kind = "near" if best >= 0.95 else "new"
        res[str(i)] = {"time": time.perf_counter() - t, "kind": kind, "engine": engine_time}
    out.write_text(json.dumps({"res": res, "peak_mb": peak_mb()}))


def decode_floor(corpus: Path) -> dict[str, float]:
    """PNG decode time per frame (one thread) with each decoder available."""
    from PIL import Image

    paths = [corpus / n for n in frames_of(corpus)][:60]
    blobs = [p.read_bytes() for p in paths]
    out = {}

    def timeit(fn) -> float:
        fn(blobs[0])
        t = time.perf_counter()
        for b in blobs:
            fn(b)
        return (time.perf_counter() - t) / len(blobs)

    import io

    out["PIL"] = timeit(lambda b: np.asarray(Image.open(io.BytesIO(b)).convert("RGB")))
    import cv2

    out["OpenCV"] = timeit(lambda b: cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR))
    try:
        import pyspng

        out["pyspng"] = timeit(pyspng.load)
    except ImportError:
        pass
    return out


def dedup_throughput(corpus: Path) -> tuple[float, int]:
    """Wall seconds of `screenrecord dedup` (dry run) over a copy of the corpus, and frame count."""
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        shutil.copytree(corpus, root)
        n = sum(1 for _ in root.rglob("*.png"))
        cmd = [
            sys.executable,
            "-c",
            "import time,sys;from screenrecord.cli import main;t=time.perf_counter();c=main(['dedup',sys.argv[1]]);print('WALL',time.perf_counter()-t,file=sys.stderr)",
            str(root),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
        wall = float(r.stderr.split("WALL")[1])
    return wall, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--sample", type=int, default=8, help="frames to time the original loop on")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--part", choices=["engine", "baseline"])
    ap.add_argument("--arg", type=Path)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.part == "engine":
        return part_engine(a.corpus, json.loads(a.arg.read_text()), a.device, a.out)
    if a.part == "baseline":
        return part_baseline(a.corpus, json.loads(a.arg.read_text()), a.device, a.out)
    if not (a.corpus / "manifest.csv").exists():
        sys.exit(f"bench: no corpus at {a.corpus} (give --corpus)")
    n = len(frames_of(a.corpus))
    sample = [int(x) for x in np.linspace(RING, n - 1, a.sample).round()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def part(name: str, arg) -> dict:
            (tmp / f"{name}.arg").write_text(json.dumps(arg))
            cmd = [
                sys.executable,
                __file__,
                "--corpus",
                str(a.corpus),
                "--device",
                a.device,
                "--part",
                name,
                "--arg",
                str(tmp / f"{name}.arg"),
                "--out",
                str(tmp / f"{name}.json"),
            ]
            subprocess.run(cmd, check=True)
            return json.loads((tmp / f"{name}.json").read_text())

        eng = part("engine", sample)
        base = part("baseline", eng["rings"])
    times = np.array(eng["times"])
    idx = {i: k for k, i in enumerate(range(RING, n))}
    ours_s = np.array([times[idx[i]] for i in sample])
    base_s = np.array([base["res"][str(i)]["time"] for i in sample])
    paired_s = np.array([base["res"][str(i)]["engine"] for i in sample])
    agree = sum(base["res"][str(i)]["kind"] == eng["kinds"][idx[i]] for i in sample)
    floor = decode_floor(a.corpus)
    wall, frames = dedup_throughput(a.corpus)
    kinds = {k: eng["kinds"].count(k) for k in ("duplicate", "near", "new")}
    print(
        f"\nscreenrecord engine benchmark: {os.cpu_count()} CPUs, device {eng['device']}, 1920x1080 frames, ring of {RING} full"
    )
    print(f"decided frames: {len(times)} ({kinds}); original loop timed on {len(sample)} of them\n")
    rows = [
        ("original loop, ms/decision (sample)", f"{base_s.mean() * 1e3:10.1f}"),
        ("engine, ms/decision (same sample, timed alongside)", f"{paired_s.mean() * 1e3:10.2f}"),
        ("speed-up on the sample (ratio of means)", f"{base_s.mean() / paired_s.mean():10.0f}x"),
        ("engine, ms/decision (same sample, engine-only run)", f"{ours_s.mean() * 1e3:10.2f}"),
        ("engine, ms/decision (all decided frames)", f"{times.mean() * 1e3:10.2f}"),
        (
            "engine, CPU ms/decision (all decided frames)",
            f"{np.mean(eng['cpu_times']) * 1e3:10.2f}",
        ),
        (
            "engine, ms/decision median / max",
            f"{np.median(times) * 1e3:6.2f} / {times.max() * 1e3:.1f}",
        ),
        (
            "  of which against the ring (prepared frame in)",
            f"{np.mean(eng['ring_times']) * 1e3:10.2f}",
        ),
        (
            "  of which preparing (half size, hashes)",
            f"{(times.mean() - np.mean(eng['ring_times'])) * 1e3:10.2f}",
        ),
        ("engine, exact comparisons per decision", f"{np.mean(eng['compared']):10.2f}"),
        ("decision agreement on the sample", f"{agree}/{len(sample)}"),
        (
            "ring memory per 1080p frame (all the engine keeps), MB",
            f"{eng['ring_bytes'] / 1e6:10.2f}",
        ),
        ("peak RSS engine process, MB", f"{eng['peak_mb']:10.0f}"),
        ("peak RSS original loop process, MB", f"{base['peak_mb']:10.0f}"),
    ]
    rows += [(f"PNG decode only ({k}), ms/frame", f"{v * 1e3:10.2f}") for k, v in floor.items()]
    rows += [
        (f"whole `dedup` dry run, ms/frame ({frames} frames)", f"{wall / frames * 1e3:10.2f}"),
    ]
    rows += [
        (f"dedup throughput / {k} decode-only floor", f"{v / (wall / frames):10.2f}")
        for k, v in sorted(floor.items(), key=lambda kv: kv[1])
    ]
    w = max(len(r[0]) for r in rows)
    for name, val in rows:
        print(f"  {name:<{w}}  {val}")


if __name__ == "__main__":
    main()
