"""The grim backend: wlroots compositors on Wayland (sway, Hyprland, river, niri, labwc, ...).

grim reads an output through the compositor's screencopy protocol (wlr-screencopy; grim 1.5+
also ext-image-copy-capture), with no dialog and no file: `grim -o NAME -t ppm -` writes the
output's raw pixels as PPM to stdout, read here straight into an RGB array.

Monitors are the compositor's active outputs, listed again at every grab (outputs come and go):
by `swaymsg -t get_outputs` under sway, else by `wlr-randr --json` (wlr-randr 0.3+). They are
numbered from 1 in the order of their names (natural order: DP-2 before DP-10), so that a
monitor keeps its number from tick to tick whatever order the compositor lists them in; as on
X11, an output that goes away renumbers those named after it. A monitor's position is the
output's place in the compositor's (logical) layout; its size is the physical size of the
pixels grim returns: the current mode, turned by the output's transform (a scale-2 output of a
3840x2160 mode is 3840x2160 pixels, though it covers 1920x1080 of the layout).

Every program is run with a timeout: a compositor that hangs or went away is a CaptureError,
which the daemon logs once and retries with back-off, as for a lost X display.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image

from screenrecord.archive.store import frame_name
from screenrecord.capture import Backend, Failure, Monitor, Shot, numbered, session
from screenrecord.errors import CaptureError
from screenrecord.models import Frame

LIST_TIMEOUT_S = 5.0
"""Listing outputs is one IPC round trip; seconds more mean a hung compositor."""
GRAB_TIMEOUT_S = 15.0
"""One output's pixels (an 8K output is ~100 MB of PPM through a pipe) with room to spare."""

_TURNED = {"90", "270", "flipped-90", "flipped-270"}
"""Transforms that swap an output's width and height."""


@dataclass(frozen=True, slots=True)
class Output:
    """An active output as the compositor lists it."""

    name: str
    x: int
    y: int
    width: int
    """Physical pixels, after the transform."""
    height: int


class GrimBackend(Backend):
    """Screens through grim, one `grim -o NAME` per wanted output."""

    name = "grim"

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.environ = dict(environ)
        self.where = str(session.desktop(environ, platform))

    def monitors(self) -> list[Monitor]:
        return [_monitor(n, o) for n, o in enumerate(self.outputs(), start=1)]

    def outputs(self) -> list[Output]:
        """The active outputs, in name order (the monitors' numbers)."""
        try:
            if self.environ.get("SWAYSOCK"):
                listed = sway_outputs(self._run(["swaymsg", "-t", "get_outputs", "-r"], "list"))
            else:
                listed = wlr_randr_outputs(self._run(["wlr-randr", "--json"], "list"))
        except _Unreadable as e:
            raise CaptureError(f"{self.where}: {e}") from None
        return sorted(listed, key=lambda o: _natural(o.name))

    def grab(
        self, taken: datetime, wanted: Iterable[int] | None = None, ext: str = "png"
    ) -> tuple[list[Shot], list[Failure]]:
        shots: list[Shot] = []
        failures: list[Failure] = []
        for number, output in numbered(self.outputs(), wanted):
            mon = _monitor(number, output)
            start = time.perf_counter()
            try:
                image = self._pixels(output)
            except _GrabFailed as e:
                self.outputs()  # a compositor that went away raises CaptureError here
                failures.append(Failure(mon, str(e)))
                continue
            ms = (time.perf_counter() - start) * 1000
            h, w = image.shape[:2]
            if (w, h) != (mon.width, mon.height):  # e.g. a fractional scale grim rounds
                mon = Monitor(number, mon.left, mon.top, w, h)
            frame = Frame(number, image, taken, frame_name(taken, number, ext))
            shots.append(Shot(frame, mon, ms))
        return shots, failures

    def _pixels(self, output: Output) -> np.ndarray:
        """The output as an (H, W, 3) RGB array, from grim's PPM on stdout (no file)."""
        argv = ["grim", "-o", output.name, "-t", "ppm", "-"]
        try:
            r = subprocess.run(
                argv, env=self.environ, capture_output=True, timeout=GRAB_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise CaptureError(
                f"{self.where}: grim -o {output.name} gave nothing in {GRAB_TIMEOUT_S:g}s; "
                "is the compositor hanging?"
            ) from None
        except OSError as e:
            raise CaptureError(
                f"{self.where}: cannot run grim ({e.strerror}); install grim"
            ) from None
        if r.returncode != 0:
            raise _GrabFailed(f"grim -o {output.name}: {_last_line(r.stderr, r.returncode)}")
        try:
            with Image.open(io.BytesIO(r.stdout)) as im:
                return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
        except (OSError, ValueError) as e:  # PIL.UnidentifiedImageError is an OSError
            raise _GrabFailed(f"grim -o {output.name}: not a PPM image ({e})") from None

    def _run(self, argv: Sequence[str], what: str) -> bytes:
        """A listing program's stdout; a failure means the compositor cannot be asked."""
        try:
            r = subprocess.run(
                list(argv),
                env=self.environ,
                capture_output=True,
                timeout=LIST_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CaptureError(
                f"{self.where}: {argv[0]} did not answer in {LIST_TIMEOUT_S:g}s; "
                "is the compositor hanging?"
            ) from None
        except OSError as e:
            raise CaptureError(f"{self.where}: cannot run {argv[0]} ({e.strerror})") from None
        if r.returncode != 0 and b"unrecognized option" in r.stderr:
            raise CaptureError(
                f"{self.where}: {argv[0]} is too old for {argv[-1]} (wlr-randr lists outputs as "
                "JSON from version 0.3); install a newer wlr-randr"
            )
        if r.returncode != 0:
            raise CaptureError(
                f"{self.where}: cannot {what} the outputs ({argv[0]}: "
                f"{_last_line(r.stderr or r.stdout, r.returncode)}); is the compositor still running?"
            )
        return r.stdout


class _GrabFailed(Exception):
    """One output could not be read (it may have gone between the listing and the grab)."""


class _Unreadable(ValueError):
    """A listing of outputs that is not what its program prints."""


def sway_outputs(text: bytes) -> list[Output]:
    """The active outputs in `swaymsg -t get_outputs -r` JSON."""
    found = []
    for o in _json_list(text, "swaymsg"):
        if not o.get("active"):
            continue
        mode, rect = o.get("current_mode") or {}, o.get("rect") or {}
        width, height = mode.get("width"), mode.get("height")
        if not width or not height:  # an output with no mode set has no pixels to read
            continue
        found.append(
            _turned(
                o["name"], rect.get("x", 0), rect.get("y", 0), width, height, o.get("transform")
            )
        )
    return found


def wlr_randr_outputs(text: bytes) -> list[Output]:
    """The enabled outputs in `wlr-randr --json` (0.3+) JSON."""
    found = []
    for o in _json_list(text, "wlr-randr --json"):
        if not o.get("enabled"):
            continue
        mode = next((m for m in o.get("modes", []) if m.get("current")), None)
        if mode is None:
            continue
        pos = o.get("position") or {}
        found.append(
            _turned(
                o["name"],
                pos.get("x", 0),
                pos.get("y", 0),
                mode["width"],
                mode["height"],
                o.get("transform"),
            )
        )
    return found


def _json_list(text: bytes, program: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        raise _Unreadable(
            f"{program} did not print JSON; wlr-randr prints it from version 0.3 "
            "(install a newer wlr-randr, or run under sway)"
        ) from None
    if not isinstance(value, list):
        raise _Unreadable(f"{program} printed no list of outputs")
    return [o for o in value if isinstance(o, dict) and isinstance(o.get("name"), str)]


def _turned(name: str, x: int, y: int, width: int, height: int, transform: str | None) -> Output:
    if transform in _TURNED:
        width, height = height, width
    return Output(name, int(x), int(y), int(width), int(height))


def _monitor(number: int, o: Output) -> Monitor:
    return Monitor(number, o.x, o.y, o.width, o.height)


def _natural(name: str) -> list[Any]:
    """A sort key that orders the numbers inside names by value: DP-2 before DP-10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def _last_line(text: bytes, code: int) -> str:
    lines = text.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"exit code {code}"
