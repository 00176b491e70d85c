"""The labelled noise set: frames of a real X desktop where programs make noise, and between the
noise ticks a person's real changes, each frame labelled by what was done before it was taken.

Built on Xvfb (1280x800) with openbox, from real programs:

- noise: `xclock -digital -update 1` (the seconds), `xclock -update 1` (an analog clock, hands of
  about 100 px), a status line rewritten in place every second in an xterm, `top -d 1` (its
  summary: load, tasks, CPU and memory figures; its process list, which reorders, is content
  in the corpus's top scene, so its window shows the summary only), the focused terminal's
  blinking caret (`xterm -bc`), and the pointer moved before every tick (python-mss, the X11
  backend, reads the screen with XGetImage, which never contains the pointer: those moves
  leave no pixel, and the set shows it);
- real changes: a command line typed into a terminal and its output, a popup (`xmessage`)
  appearing, a page of `less` scrolled, a window switch (the other terminal raised and focused).

Frames are grabbed through the project's own capture (`screenrecord.capture`, backend mss) at a
steady tick and written like the corpus: `YYYY-MM/YYYY-MM-DD/YYYY-MM-DD_HH.MM.SS.ffffff_1.png`,
and `manifest.csv` with one row per frame, in capture order:

    path, seq, monitor, width, height   as in the corpus's manifest
    scene       which noise program(s) run: digital-clock, analog-clock, status-line, top, desktop
    tick        ticks since the scene began (0: the scene's first frame, its windows new)
    label       what happened since the frame before (the first frame is a change):
                  change  the set did something a person would want kept (see `action`), or a
                          scene began (its windows appeared)
                  noise   nothing was done but the pointer moved: the pixels differ, only
                          inside the noise programs' windows or in one caret-sized spot
                  repeat  nothing was done: the frame is pixel-identical to the one before
    action      for a change: typed, popup, scroll, switch or scene; empty otherwise
    noise_boxes where the noise programs' windows were, "x,y,w,h" joined by ";"

The label of noise and repeat frames comes from the pixels (identical or not) because a clock
may or may not have ticked between two grabs; `check` verifies every label against the pixels.
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from Xlib import display as xdisplay

from helpers import xserver
from helpers.desktop import openbox
from helpers.procs import stop
from helpers.system import require
from screenrecord import capture
from screenrecord.archive import store

REPO = Path(__file__).resolve().parents[2]
SIZE = (1280, 800)
T0 = datetime(2026, 3, 12, 9, 0, 0)
"""The set's first minute: scene k begins k minutes later (see `generate`)."""
CARET = (32, 40)
"""The most a blinking caret changes (w, h px): two cells of the terminals' 10 pt font."""
ACTIONS = ("typed", "popup", "scroll", "switch")
FONT = ("-fa", "Monospace", "-fs", "10")
XTERM = ("-xrm", "XTerm.vt100.allowSendEvents: true", "-bc", *FONT)
"""allowSendEvents: keys sent to a window that is not focused (xdotool --window) are taken."""
COMMANDS = (
    "echo tests passed",
    "date -u +%Y-%m",
    "echo 'saved notes.txt'",
    "expr 6 \\* 7 + 100",
    "printf '%s\\n' a b",
    "echo done in 42 s",
)
"""Short command lines, each about a line of text (13 to 24 characters with the prompt): the
small real changes that a global score alone calls duplicates."""
POPUPS = (
    "Battery at 20 percent: plug in soon",
    "New mail from Ana: the slides for Thursday",
    "Backup finished: 1,204 files, 3.1 GB",
    "Reminder: stand-up in 5 minutes",
)
STATUS = 'while :; do printf "\\r  load %s   %s  " "$(cut -d" " -f1 /proc/loadavg)" "$(date +%T)"'
STATUS += "; sleep 1; done"
PROGRAMS = {
    "clock": ["xclock", "-digital", "-update", "1", "-strftime", "%H:%M:%S"]
    + ["-face", "Monospace-28", "-geometry", "260x64+20+500"],
    "analog": ["xclock", "-update", "1", "-geometry", "240x240+310+500"],
    "status": ["xterm", *FONT, "-geometry", "48x1+600+500", "-e", "sh", "-c", STATUS],
    "top": ["xterm", *FONT, "-geometry", "80x5+600+560", "-e", "top", "-d", "1"],
}
"""The noise programs, each in its own place below the two terminals."""
NOISE = {
    "digital-clock": ["clock"],
    "analog-clock": ["analog"],
    "status-line": ["status"],
    "top": ["top"],
    "desktop": ["clock", "analog", "status", "top"],
}
"""The noise programs of each scene; every scene also has the focused caret and the pointer."""


@dataclass(frozen=True, slots=True)
class Row:
    """One frame of the set: a line of its manifest (the module's docstring says each field)."""

    path: str
    seq: int
    monitor: int
    width: int
    height: int
    scene: str
    tick: int
    label: str
    action: str
    noise_boxes: str

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """The noise programs' windows, (x, y, w, h) each."""
        boxes = []
        for box in filter(None, self.noise_boxes.split(";")):
            x, y, w, h = map(int, box.split(","))
            boxes.append((x, y, w, h))
        return boxes


FIELDS = [f.name for f in fields(Row)]


def _env(d: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": d}


class Desktop:
    """The programs on one display: started, found by their unique titles, stopped."""

    def __init__(self, d: str) -> None:
        self.display = d
        self.procs: dict[str, subprocess.Popen] = {}
        self.windows: dict[str, str] = {}
        self._titles = itertools.count()

    def start(self, name: str, argv: Sequence[str], cwd: str | None = None, **env: str) -> str:
        """Run `argv` (an X program taking -title) in `cwd` with `env` added to its environment;
        wait until its window is shown; its id."""
        title = f"noise-{name}-{next(self._titles)}"
        proc = subprocess.Popen(
            [argv[0], "-title", title, *argv[1:]],
            cwd=cwd,
            env={**_env(self.display), **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs[name] = proc
        wid = xdo(
            self.display, "search", "--sync", "--onlyvisible", "--name", f"^{title}$"
        ).split()[0]
        self.windows[name] = wid
        return wid

    def end(self, name: str) -> None:
        self.windows.pop(name, None)
        stop(self.procs.pop(name), timeout=5)

    def box(self, name: str) -> tuple[int, int, int, int]:
        """Where the window `name` is on the screen (x, y, w, h), its frame excluded."""
        conn = xdisplay.Display(self.display)
        try:
            win = conn.create_resource_object("window", int(self.windows[name]))
            g = win.get_geometry()
            at = win.translate_coords(conn.screen().root, 0, 0)
            return -at.x, -at.y, g.width, g.height
        finally:
            conn.close()

    def close(self) -> None:
        for name in list(self.procs):
            self.end(name)


def xdo(d: str, *args: str) -> str:
    """`xdotool ARGS` on display `d`; its output. A failure says what it was asked and said."""
    r = subprocess.run(["xdotool", *args], env=_env(d), capture_output=True, text=True, timeout=30)
    if r.returncode:
        raise RuntimeError(f"xdotool {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


class Actor:
    """The real changes, in turn: typing a command, a popup, a scroll, a window switch."""

    def __init__(self, desk: Desktop, seed: int) -> None:
        self.desk = desk
        self.d = desk.display
        self.rand = random.Random(seed)
        self.commands = itertools.cycle(COMMANDS)
        self.popups = 0
        self.front = "work"

    def do(self, action: str) -> None:
        getattr(self, action)()

    def typed(self) -> None:
        wid = self.desk.windows["work"]
        xdo(self.d, "type", "--window", wid, "--delay", "2", next(self.commands))
        xdo(self.d, "key", "--window", wid, "Return")

    def popup(self) -> None:
        n = self.popups
        self.popups += 1
        at = f"+{900 - 60 * (n % 4)}+{20 + 90 * (n % 4)}"
        wid = self.desk.start(f"popup{n}", ["xmessage", "-geometry", at, POPUPS[n % len(POPUPS)]])
        # The window manager focuses the popup (once it has, nothing takes the focus back from
        # under us); the person goes on typing in their window, focused, not raised: the popup
        # stays in sight.
        deadline = time.monotonic() + 2
        while xdo(self.d, "getactivewindow").strip() != wid and time.monotonic() < deadline:
            time.sleep(0.02)
        xdo(self.d, "windowfocus", "--sync", self.desk.windows[self.front])

    def scroll(self) -> None:
        xdo(self.d, "key", "--window", self.desk.windows["pager"], "space")

    def switch(self) -> None:
        self.front = "pager" if self.front == "work" else "work"
        xdo(self.d, "windowactivate", "--sync", self.desk.windows[self.front])

    def pointer(self) -> None:
        xdo(
            self.d,
            "mousemove",
            str(self.rand.randrange(SIZE[0])),
            str(self.rand.randrange(SIZE[1])),
        )


def plan(warmup: int, rounds: int, actions: Iterator[str]) -> list[str]:
    """One scene's ticks after its first: `warmup` noise ticks, then each round the next of
    `actions` and two noise ticks."""
    steps = [""] * warmup
    for action in itertools.islice(actions, rounds):
        steps += [action, "", ""]
    return steps


def generate(
    out: Path,
    scenes: Sequence[str] = tuple(NOISE),
    warmup: int = 4,
    rounds: int = 2,
    tick: float = 0.5,
    seed: int = 1,
    second: float = 0,
) -> list[Row]:
    """Build the set in `out` (frames and manifest.csv); returns the manifest's rows.

    Each scene has 1 + `warmup` + 3 * `rounds` ticks, `tick` seconds apart; the changes go
    round typed, popup, scroll and switch across the scenes. Scene k begins at `second` past
    the minute T0 + k minutes: its frames are named from there on, and its noise programs'
    clocks (libfaketime) show that time, so that a clock's hands are where they are at every
    run (the analog clock's second hand is widest at 15 and 45 s past the minute).
    """
    for pkg, cmd in (("x11-apps", "xclock"), ("x11-utils", "xmessage"), ("procps", "top")):
        require(pkg, cmd)
    require("less", "less")
    require("fonts-dejavu-core", files=("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",))
    require("xterm", "xterm")
    require("xdotool", "xdotool")
    faketime = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
    require("libfaketime", files=(str(faketime),))
    rows: list[Row] = []
    with ExitStack() as stack:
        server = stack.enter_context(xserver.start(SIZE))
        d = server.display
        stack.enter_context(openbox(d))
        desk = Desktop(d)
        stack.callback(desk.close)
        # The project's own pages, long enough for any number of scrolls.
        pages = "cat docs/*.md | less"
        pager = ["xterm", *XTERM, "-geometry", "72x24+560+40", "-e", "sh", "-c", pages]
        desk.start("pager", pager, cwd=str(REPO))
        work = ["xterm", *XTERM, "-geometry", "80x24+10+10", "-e", "sh"]
        desk.start("work", work, PS1="$ ", HOME=str(out))
        xdo(d, "windowactivate", "--sync", desk.windows["work"])
        actor = Actor(desk, seed)
        backend = stack.enter_context(capture.open_backend({"DISPLAY": d}, setting="mss"))
        grabber = _Grabber(backend, out, tick)
        actions = itertools.cycle(ACTIONS)
        for k, scene in enumerate(scenes):
            for name in [n for n in desk.procs if n not in ("pager", "work")]:
                desk.end(name)
            start = T0 + timedelta(minutes=k, seconds=second)
            offset = (start - datetime.now()).total_seconds()
            grabber.begin(start)
            clock = {
                "LD_PRELOAD": str(faketime),
                "FAKETIME": f"{offset:+.3f}",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            }
            for name in NOISE[scene]:
                desk.start(name, PROGRAMS[name], **clock)
            noisy = [desk.box(n) for n in NOISE[scene]]
            boxes = ";".join(",".join(map(str, b)) for b in noisy)
            grabber.settle(noisy)
            grabber.restart()
            steps = ["scene", *plan(warmup, rounds, actions)]
            for i, action in enumerate(steps):
                if action and action != "scene":
                    actor.do(action)
                    grabber.settle(noisy)
                actor.pointer()
                path, pixels = grabber.next()
                rows.append(
                    Row(
                        path,
                        len(rows) + 1,
                        1,
                        SIZE[0],
                        SIZE[1],
                        scene,
                        i,
                        _label(action, pixels, grabber.previous),
                        action,
                        boxes,
                    )
                )
                grabber.previous = pixels
    write_manifest(out, rows)
    return rows


def _label(action: str, pixels: np.ndarray, previous: np.ndarray | None) -> str:
    if action or previous is None:
        return "change"
    return "repeat" if np.array_equal(pixels, previous) else "noise"


class _Grabber:
    """Grabs monitor 1 every `tick` s through the capture backend and writes it like the corpus."""

    def __init__(self, backend: capture.Backend, out: Path, tick: float) -> None:
        self.backend = backend
        self.out = out
        self.tick = tick
        self.base = T0
        self.t0 = self.due = time.monotonic()
        self.previous: np.ndarray | None = None

    def begin(self, base: datetime) -> None:
        """Name the frames from now on by the time since now, from `base`."""
        self.base = base
        self.t0 = time.monotonic()

    def restart(self) -> None:
        self.due = time.monotonic()

    def settle(self, noisy: Sequence[tuple[int, int, int, int]], within: float = 2.0) -> None:
        """Wait (up to `within` s) until what was done is drawn: two grabs 50 ms apart alike
        outside the `noisy` windows but for a caret, so that no change spills into the next
        tick's frame however slow the programs are to draw."""
        deadline = time.monotonic() + within
        last = self._packed()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self._packed()
            if caret_at_most(changed_outside(now, last, noisy)):
                return
            last = now

    def _packed(self) -> np.ndarray:
        shots, _ = self.backend.grab(T0, [1])
        rgb = np.asarray(shots[0].frame.image).astype(np.uint32)
        return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]

    def next(self) -> tuple[str, np.ndarray]:
        self.due += self.tick
        time.sleep(max(0.0, self.due - time.monotonic()))
        taken = self.base + timedelta(seconds=time.monotonic() - self.t0)
        shots, failures = self.backend.grab(taken, [1])
        assert not failures, failures
        pixels = np.asarray(shots[0].frame.image)
        path = store.frame_path(self.out, taken, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, compress_level=1)
        return path.relative_to(self.out).as_posix(), pixels


def write_manifest(out: Path, rows: Sequence[Row]) -> None:
    with (out / "manifest.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for r in rows:
            w.writerow([getattr(r, k) for k in FIELDS])


def read_manifest(root: Path) -> list[Row]:
    """The rows of `root`/manifest.csv."""
    with (root / "manifest.csv").open(newline="") as f:
        return [
            Row(
                r["path"],
                int(r["seq"]),
                int(r["monitor"]),
                int(r["width"]),
                int(r["height"]),
                r["scene"],
                int(r["tick"]),
                r["label"],
                r["action"],
                r["noise_boxes"],
            )
            for r in csv.DictReader(f)
        ]


def changed_outside(
    a: np.ndarray, b: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]
) -> tuple[int, int] | None:
    """The size (w, h) of the bounding box of the pixels that differ between `a` and `b` (from
    `pixels`) outside `boxes`; None where none does."""
    diff = a != b
    for x, y, w, h in boxes:
        diff[y : y + h, x : x + w] = False
    ys, xs = np.nonzero(diff)
    if not len(xs):
        return None
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def caret_at_most(spot: tuple[int, int] | None) -> bool:
    """No change, or one no larger than a blinking caret's."""
    return spot is None or (spot[0] <= CARET[0] and spot[1] <= CARET[1])


def pixels(path: Path) -> np.ndarray:
    """An image's pixels as one uint32 each (H, W): compared a pixel at a time, cheaply."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA")).view(np.uint32)[..., 0]


def check(root: Path, rows: Sequence[Row]) -> list[str]:
    """Every label that the pixels contradict, said in one line each (none: the set is sound).

    repeat: identical to the frame before. noise: different, but outside the noise programs'
    windows only in one caret-sized spot. change: different from the frame before, and from
    every earlier frame of its scene, by more than a caret outside those windows (never a
    recurrence; scenes do not repeat each other: each has other noise windows, and its popups
    are gone).
    """
    wrong = []
    before: np.ndarray | None = None
    scene: list[np.ndarray] = []
    for r in rows:
        now = pixels(root / r.path)
        if r.tick == 0:
            scene = []
        if r.label == "repeat" and (before is None or not np.array_equal(now, before)):
            wrong.append(f"{r.path}: labelled repeat, differs from the frame before")
        elif r.label == "noise":
            spot = None if before is None else changed_outside(now, before, r.boxes)
            if before is None or np.array_equal(now, before):
                wrong.append(f"{r.path}: labelled noise, identical to the frame before")
            elif not caret_at_most(spot):
                wrong.append(f"{r.path}: labelled noise, changed {spot} outside the noise windows")
        elif r.label == "change":
            earlier = [*([] if before is None else [before]), *reversed(scene)]
            for j, other in enumerate(earlier):
                spot = changed_outside(now, other, r.boxes)
                if caret_at_most(spot):
                    wrong.append(f"{r.path}: labelled change, like an earlier frame ({j})")
                    break
        scene.append(now)
        before = now
    return wrong
