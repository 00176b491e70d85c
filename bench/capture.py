"""What one grab of one monitor costs, per backend that runs here. Run by hand (as root or not).

    .venv/bin/python bench/capture.py [--grabs 20]

For each size, the same terminal-like screen (tests/helpers/xscreen.text_screen) is shown on:
- headless sway 1.7 (tests/helpers/sway.py, one output of that size, the screen as its background):
  `grim` (the backend `auto` picks on wlroots: one `grim -o NAME -t ppm -` plus one
  `swaymsg -t get_outputs` per grab), and the Screenshot portal (xdg-desktop-portal-wlr, opened
  directly: `auto` refuses it on wlroots; it writes and the backend reads a PNG);
- Xvfb at the same size: mss, the X11 backend, as the baseline;
- at 1280x800 also headless GNOME Shell 43 (tests/helpers/gnome.py; its first virtual monitor,
  Meta-0, grabbed alone, the second one left out): `mutter` (GNOME's own ScreenCast) and
  `screencast` (the ScreenCast portal, restored by the token of one approval given first with
  pointer clicks on its dialog, as the tests do). Each grab there opens one cast, starts one
  gst-launch-1.0 (pipewiresrc ! videoconvert, raw RGB on a pipe) and closes the cast.
Each row is the median over `--grabs` grabs of `capture.grab` (the backend opened per grab, as
the daemon does): wall time, this process's CPU, and the CPU of the programs it ran (grim,
swaymsg, gst-launch-1.0; the portals' and GNOME Shell's work is not ours to count). Needs: sway
swaybg grim xvfb, for the portal row xdg-desktop-portal -wlr -gtk pipewire dbus-daemon, and for
the GNOME rows the GNOME test packages (docs/development.md).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from helpers import gnome, sway, xserver  # noqa: E402
from helpers.xscreen import show, text_screen  # noqa: E402
from tick import table  # noqa: E402

from screenrecord import capture  # noqa: E402
from screenrecord.capture.portal import PortalBackend  # noqa: E402

SIZES = [(1280, 800), (1920, 1080), (3840, 2160)]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(grab: Callable[[], object], n: int) -> dict[str, float]:
    """Medians (ms) of wall, own CPU and child CPU over `n` calls of `grab`, after one warm-up."""
    grab()
    wall, cpu, child = [], [], []
    for _ in range(n):
        w, c, k = time.perf_counter(), time.process_time(), children_cpu()
        grab()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
        child.append(children_cpu() - k)
    return {
        "wall": statistics.median(wall) * 1000,
        "cpu": statistics.median(cpu) * 1000,
        "child": statistics.median(child) * 1000,
    }


def row(backend: str, size: tuple[int, int], m: dict[str, float], base: float, other: bool) -> dict:
    return {
        "backend": backend,
        "output": f"{size[0]}x{size[1]}",
        "wall ms": f"{m['wall']:.1f}",
        "vs mss": f"{m['wall'] / base:.1f}x",
        "own CPU ms": f"{m['cpu']:.1f}",
        "child CPU ms": f"{m['child']:.1f}" if other else "-",
    }


def on_sway(
    size: tuple[int, int], n: int, tmp: Path
) -> tuple[dict[str, float], dict[str, float] | None]:
    w, h = size
    picture = tmp / "screen.png"
    text_screen(1, size).save(picture)
    config = (
        f"output HEADLESS-1 mode {w}x{h} position 0 0 bg {sway.COLOURS['HEADLESS-1']} solid_color\n"
    )
    with sway.running(outputs=1, config=config) as s:
        shown = s.runtime / "screen.png"  # where sway's user can read it
        shutil.copy(picture, shown)
        os.chown(shown, s.runtime.stat().st_uid, s.runtime.stat().st_gid)
        s.msg("output", "HEADLESS-1", "bg", str(shown), "stretch")
        time.sleep(1)  # swaybg draws the picture
        env = {**os.environ, **s.env}
        env.pop("DISPLAY", None)
        grim = measure(lambda: capture.grab(env, datetime.now()), n)
        portal = None
        if shutil.which("pipewire") and Path("/usr/libexec/xdg-desktop-portal-wlr").exists():
            with sway.session_bus(tmp, s.env) as bus_env:

                def grab() -> None:
                    with PortalBackend(bus_env, "linux") as b:
                        b.grab(datetime.now())

                portal = measure(grab, n)
    return grim, portal


def on_xvfb(size: tuple[int, int], n: int, tmp: Path) -> dict[str, float]:
    with xserver.start(size) as x:
        show(x.display, tmp, text_screen(1, size))
        return measure(lambda: capture.grab({"DISPLAY": x.display}, datetime.now()), n)


def on_gnome(n: int, tmp: Path) -> tuple[dict[str, float], dict[str, float]]:
    """mutter, then screencast (after its one approval), grabbing Meta-0 (1280x800) alone."""
    import threading

    from screenrecord.capture import screencast

    with gnome.running() as g:
        env = {**g.session, "HOME": str(tmp), "XDG_STATE_HOME": str(tmp / "state")}
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        mutter = measure(lambda: capture.grab(env, datetime.now(), [1], setting="mutter"), n)
        approval = threading.Thread(target=screencast.approve, args=(env, "linux"), daemon=True)
        approval.start()
        g.share_every_monitor()
        approval.join(30)
        cast = measure(lambda: capture.grab(env, datetime.now(), [1], setting="screencast"), n)
    return mutter, cast


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grabs", type=int, default=20)
    args = p.parse_args()
    print(f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}, {args.grabs} grabs per row\n")
    rows = []
    for size in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            base = on_xvfb(size, args.grabs, Path(tmp))
        with tempfile.TemporaryDirectory() as tmp:
            grim, portal = on_sway(size, args.grabs, Path(tmp))
        rows.append(row("mss (Xvfb)", size, base, base["wall"], True))
        rows.append(row("grim (sway)", size, grim, base["wall"], True))
        if portal is not None:
            rows.append(row("portal (sway, -wlr)", size, portal, base["wall"], False))
        if size == gnome.SIZES["Meta-0"]:
            with tempfile.TemporaryDirectory() as tmp:
                mutter, cast = on_gnome(args.grabs, Path(tmp))
            rows.append(row("mutter (GNOME 43)", size, mutter, base["wall"], True))
            rows.append(row("screencast (GNOME 43)", size, cast, base["wall"], True))
    print(table(rows))


if __name__ == "__main__":
    main()
