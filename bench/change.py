"""What keeping local changes costs `dedup`: whole-process dry runs of the corpus, in turn.

    .venv/bin/python bench/change.py [--corpus ../shared/corpus] [--rounds 5] [--baseline TREE]

Each round runs `screenrecord dedup --json` on the corpus (a dry run: nothing moves) as a
separate process, once per case, the cases in turn so that a busy machine weighs on all of them
alike:
- `keep_local_changes`: this tree with the defaults;
- `score alone`: this tree with `--no-local-changes`;
- `baseline`, with `--baseline TREE`: another checkout (e.g. a worktree of the commit before),
  with its own defaults.
Prints the median CPU (user + system) and wall seconds of each case and their ratio to the last
case, peak RSS, and the decisions; checks that `score alone` and the baseline print the same
records, line for line.

Then, in process, the CPU cost of the daemon's decisions both ways, from the same rings
(`decisions`): deciding and keeping in the ring, without encoding the frames the rule keeps more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(tree: Path, corpus: Path, *options: str) -> tuple[float, float, float, str]:
    """CPU s, wall s, peak RSS MiB of one dedup process, and what it printed on stdout."""
    start = time.perf_counter()
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen(
            [sys.executable, "-m", "screenrecord", "dedup", "--json", *options, str(corpus)],
            cwd=tree,  # `python -m` puts the working folder first: this tree's package
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdout=subprocess.PIPE,
            stderr=null,
            text=True,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"dedup in {tree} exited with {proc.returncode}")
    wall = time.perf_counter() - start
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--baseline", type=Path, help="another checkout to compare with")
    a = p.parse_args()
    cases = {"keep_local_changes": (ROOT, ()), "score alone": (ROOT, ("--no-local-changes",))}
    if a.baseline:
        cases["baseline"] = (a.baseline.resolve(), ())
    if a.rounds:
        whole_runs(a.corpus, a.rounds, cases)
        print()
    decisions(a.corpus)


def whole_runs(corpus: Path, rounds: int, cases: dict[str, tuple[Path, tuple[str, ...]]]) -> None:
    """The dedup runs, the cases in turn, and their table."""
    got: dict[str, list[tuple[float, float, float]]] = {c: [] for c in cases}
    printed: dict[str, str] = {}
    for _ in range(rounds):
        for name, (tree, options) in cases.items():
            cpu, wall, rss, out = run(tree, corpus, *options)
            got[name].append((cpu, wall, rss))
            printed[name] = out
    last = list(cases)[-1]
    base_cpu = statistics.median(x[0] for x in got[last])
    base_wall = statistics.median(x[1] for x in got[last])
    print(f"dedup --json of {corpus}, {rounds} rounds, {os.cpu_count()} CPUs\n")
    print("| case | CPU s (median) | x | wall s (median) | x | peak RSS MiB | decisions |")
    print("|---|---|---|---|---|---|---|")
    for name, xs in got.items():
        cpu, wall = statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs)
        kinds = Counter(json.loads(line)["decision"] for line in printed[name].splitlines())
        told = ", ".join(f"{kinds[k]} {k}" for k in ("duplicate", "near", "new"))
        print(
            f"| {name} | {cpu:.2f} | {cpu / base_cpu:.2f} | {wall:.2f} | {wall / base_wall:.2f} "
            f"| {max(x[2] for x in xs):.0f} | {told} |"
        )
    if "baseline" in printed:
        same = printed["baseline"] == printed["score alone"]
        print(f"\nscore alone and baseline print the same records: {same}")


def decisions(corpus: Path) -> None:
    """CPU ms of the daemon's decisions with and without the change signal, the two pipelines
    deciding each frame in turn, from rings of the same 100 distinct 1080p corpus frames: 20
    ticks of the ring's front frame (an unchanged screen, the common tick), the next 30 corpus
    frames as ticks (most of them small changes of the screen before: typed
    lines, a scrolled page), then 10 ticks in which a line more was typed into the ring's front
    frame. Frames are kept as the daemon keeps them (near ones into the ring), not written: the
    cost of deciding, and of holding the frames the rule keeps more, not of encoding them."""
    sys.path.insert(0, str(ROOT))
    from datetime import datetime

    import numpy as np
    from PIL import Image, ImageDraw

    from screenrecord.archive import images
    from screenrecord.models import DedupSettings, Frame
    from screenrecord.pipeline import Pipeline

    paths = [p for p in sorted(corpus.rglob("*_1.png")) if images.size(p) == (1920, 1080)]
    ring, ticks = paths[:100], paths[100:130]
    pipelines = {}
    for on in (True, False):
        pipeline = Pipeline(DedupSettings(device="cpu", keep_local_changes=on))
        for i, path in enumerate(ring):
            pipeline.remember(Frame(1, images.load(path), datetime.now(), f"ring-{i}"))
        pipelines[on] = pipeline
    front = Image.fromarray(images.load(ring[-1]))
    typing = []
    for n in range(10):
        text = f"$ echo line {n}; ls -la /tmp/{n}; date"
        ImageDraw.Draw(front).text((400, 600 + 14 * n), text, fill=(0, 0, 0))
        typing.append(np.asarray(front).copy())
    cases = {
        "20 unchanged ticks": [images.load(ring[-1])] * 20,
        "30 corpus ticks": [images.load(p) for p in ticks],
        "10 lines typed": typing,
    }
    print("| ticks, 1080p, ring of 100 | case | CPU ms per decision (median) | x | decided |")
    print("|---|---|---|---|---|")
    for name, arrays in cases.items():
        ms: dict[bool, list[float]] = {True: [], False: []}
        kinds: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
        for n, a in enumerate(arrays):
            for on, pipeline in pipelines.items():
                frame = Frame(1, a, datetime.now(), f"{name}-{n}")
                prepared = pipeline.prepare(frame)
                start = time.process_time()
                kinds[on][pipeline.process(frame, prepared).decision.value] += 1
                ms[on].append((time.process_time() - start) * 1000)
        base = statistics.median(ms[False])
        for on, label in ((True, "keep_local_changes"), (False, "score alone")):
            m = statistics.median(ms[on])
            told = ", ".join(f"{n} {k}" for k, n in sorted(kinds[on].items()))
            print(f"| {name} | {label} | {m:.1f} | {m / base:.2f} | {told} |")


if __name__ == "__main__":
    main()
