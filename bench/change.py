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
    got: dict[str, list[tuple[float, float, float]]] = {c: [] for c in cases}
    printed: dict[str, str] = {}
    for _ in range(a.rounds):
        for name, (tree, options) in cases.items():
            cpu, wall, rss, out = run(tree, a.corpus, *options)
            got[name].append((cpu, wall, rss))
            printed[name] = out
    last = list(cases)[-1]
    base_cpu = statistics.median(x[0] for x in got[last])
    base_wall = statistics.median(x[1] for x in got[last])
    print(f"dedup --json of {a.corpus}, {a.rounds} rounds, {os.cpu_count()} CPUs\n")
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


if __name__ == "__main__":
    main()
