"""The labelled noise set: build it on Xvfb, then tell what `dedup` keeps of it. Run by hand.

    .venv/bin/python bench/noiseset.py OUT [--warmup 4] [--rounds 8] [--tick 0.5] [--second 0]
                                           [--scenes analog-clock,top] [--reuse]

Builds the set (tests/helpers/noiseset.py says what it holds and how its frames are labelled) in
OUT, e.g. ../shared/noiseset beside the corpus, and checks its labels against its pixels;
`--reuse` takes a set already in OUT. Then runs `screenrecord dedup --json` over it (a dry run,
as a subprocess, the built-in defaults) with the change signal (the default) and without it
(`--no-local-changes`, the global score alone), and prints per label how many frames were
kept (new or near) and not kept (duplicate). Noise frames are counted apart for the first
`--warmup` ticks of each scene, while its noise programs' windows are new. Needs: xvfb openbox
xterm xdotool x11-apps x11-utils less procps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from helpers import noiseset  # noqa: E402
from tick import table  # noqa: E402

MODES = {"defaults": (), "--no-local-changes": ("--no-local-changes",)}
"""Each mode's `dedup` options."""


def decide(root: Path, options: tuple[str, ...]) -> dict[str, str]:
    """Each frame's decision by its path in the set, from `screenrecord dedup --json`."""
    with tempfile.TemporaryDirectory() as home:
        r = subprocess.run(
            [sys.executable, "-m", "screenrecord", "dedup", "--json", *options, str(root)],
            env={"HOME": home, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    return {
        Path(j["path"]).relative_to(root).as_posix(): j["decision"]
        for j in map(json.loads, r.stdout.splitlines())
    }


def group(row: noiseset.Row, warmup: int) -> str:
    if row.label == "noise":
        return "noise, warm-up" if row.tick <= warmup else "noise"
    return row.label


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--tick", type=float, default=0.5)
    p.add_argument("--second", type=float, default=0, help="second of the minute scenes begin")
    p.add_argument("--scenes", default=",".join(noiseset.NOISE), help="comma-separated")
    p.add_argument("--reuse", action="store_true")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.reuse:
        rows = noiseset.read_manifest(a.out)
    else:
        scenes = a.scenes.split(",")
        rows = noiseset.generate(
            a.out, scenes, warmup=a.warmup, rounds=a.rounds, tick=a.tick, second=a.second
        )
    wrong = noiseset.check(a.out, rows)
    if wrong:
        sys.exit("labels the pixels contradict:\n" + "\n".join(wrong))
    print(f"{len(rows)} frames in {a.out}, {a.tick} s apart, warm-up {a.warmup} ticks per scene")
    lines = []
    for mode, options in MODES.items():
        decided = decide(a.out, options)
        kept = Counter(group(r, a.warmup) for r in rows if decided[r.path] in ("new", "near"))
        every = Counter(group(r, a.warmup) for r in rows)
        for g in ("change", "noise", "noise, warm-up", "repeat"):
            lines.append(
                {
                    "mode": mode,
                    "frames": g,
                    "count": str(every[g]),
                    "kept": str(kept[g]),
                    "not kept": str(every[g] - kept[g]),
                    "kept %": f"{100 * kept[g] / max(every[g], 1):.0f}",
                }
            )
    print(table(lines))


if __name__ == "__main__":
    main()
