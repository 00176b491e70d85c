"""What reading the activity costs per tick, beside the tick itself. Run by hand.

    .venv/bin/python bench/activity.py [--reads 200]

Starts Xvfb (one 1920x1080 monitor) with openbox and 2, 10 and 30 xterm windows, one of them
excluded by `privacy.exclude_apps`, and times in process:
- read: the X11 reader's `read()` (focused window, every visible window with its frame,
  idle; the lock through logind where a system bus answers, else the failed connect);
- focused only: `read(windows=False)`, what a tick reads when no exclusion rule is set;
- lock: `logind.locked` alone;
- mask: `privacy.judge` and `privacy.mask` of the monitor's frame (one excluded window painted);
- tick: a whole `Recorder.tick` on an unchanged screen (the common tick: grab, paint, compare
  with the ring, record a duplicate), the read included.
Medians of CPU time (process_time) and wall time. Needs: xvfb openbox xterm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tick import table  # noqa: E402

from screenrecord import capture, config  # noqa: E402
from screenrecord.capture.activity import logind, open_reader, privacy  # noqa: E402
from screenrecord.daemon import Recorder  # noqa: E402

W, H = 1920, 1080


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median CPU ms and wall ms of `n` calls."""
    cpu, wall = [], []
    for _ in range(n):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(cpu) * 1000, statistics.median(wall) * 1000


def start(cmd: list[str], display: str) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def bench(windows: int, reads: int, tmp: Path) -> dict[str, str]:
    display = f":{500 + os.getpid() % 300}"
    procs = [
        subprocess.Popen(
            ["Xvfb", display, "-screen", "0", f"{W}x{H}x24", "-nolisten", "tcp", "-noreset"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        time.sleep(1)
        procs.append(start(["openbox", "--sm-disable"], display))
        time.sleep(1)
        for i in range(windows):
            klass = "Vault" if i == 0 else f"Work{i}"
            x, y = 40 + (i * 53) % (W - 600), 40 + (i * 37) % (H - 400)
            geometry = f"80x24+{x}+{y}"
            procs.append(start(["xterm", "-class", klass, "-geometry", geometry], display))
        deadline = time.monotonic() + 30
        env = {"DISPLAY": display}
        reader = open_reader(env)
        while len(reader.read().windows) < windows and time.monotonic() < deadline:
            time.sleep(0.2)
        listed = len(reader.read().windows)
        cfg_path = tmp / f"c{windows}.toml"
        cfg_path.write_text(
            f'root = "{tmp / f"a{windows}"}"\n[dedup]\ndevice = "cpu"\n'
            '[privacy]\nexclude_apps = ["Vault"]\n'
        )
        cfg = config.load(cfg_path)
        rules = privacy.Rules.of(cfg.privacy.exclude_apps, cfg.privacy.exclude_titles)
        read_cpu, read_wall = timed(reader.read, reads)
        alone_cpu, _ = timed(lambda: reader.read(windows=False), reads)
        lock_cpu, lock_wall = timed(lambda: logind.locked(env), reads)
        shots, _ = capture.grab(env, datetime.now())
        shot = shots[0]
        m = shot.monitor
        seen = reader.read()

        def mask() -> None:
            judged = privacy.judge(seen, rules, True)
            privacy.mask(shot.frame, m.left, m.top, m.width, m.height, judged, rules)

        mask_cpu, mask_wall = timed(mask, reads)
        reader.close()
        rec = Recorder(cfg, env)
        now = datetime(2026, 1, 1)
        rec.tick(now)  # the ring now holds this screen: every later tick is a duplicate

        def tick() -> None:
            nonlocal now
            now += timedelta(seconds=180)
            rec.tick(now)

        tick_cpu, tick_wall = timed(tick, 30)
        rec.close()
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
    return {
        "windows": f"{listed}",
        "read CPU ms": f"{read_cpu:.2f}",
        "read wall ms": f"{read_wall:.2f}",
        "focused only CPU ms": f"{alone_cpu:.2f}",
        "lock wall ms": f"{lock_wall:.2f}",
        "mask CPU ms": f"{mask_cpu:.2f}",
        "tick CPU ms": f"{tick_cpu:.1f}",
        "tick wall ms": f"{tick_wall:.1f}",
        "read / tick CPU": f"{read_cpu / tick_cpu * 100:.0f}%",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reads", type=int, default=200)
    args = p.parse_args()
    bus = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or logind.SYSTEM_BUS
    print(f"{W}x{H}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}, system bus {bus}\n")
    with tempfile.TemporaryDirectory() as tmp:
        print(table([bench(n, args.reads, Path(tmp)) for n in (2, 10, 30)]))


if __name__ == "__main__":
    main()
