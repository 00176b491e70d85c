"""What the GNOME backends share: the session bus (jeepney), GNOME's monitors, and one frame of a
PipeWire stream read by gst-launch-1.0.

Monitors come from `org.gnome.Mutter.DisplayConfig.GetCurrentState`, which any program on the
session bus may read: each connector with its vendor, product and serial (what the ScreenCast
portal's stored selections name), its current mode (physical pixels) and its place in the
logical layout. They are numbered from 1 in the natural order of their connectors (DP-2 before
DP-10), as grim numbers wlroots outputs.

A frame is `gst-launch-1.0 -q pipewiresrc ... num-buffers=1 ! videoconvert ! RGB ! fdsink`: raw
RGB on a pipe, read into memory; nothing is compiled, no file is written. Every call and every
program has a timeout.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from screenrecord.archive.store import frame_name
from screenrecord.capture import Failure, Monitor, Shot
from screenrecord.errors import CaptureError
from screenrecord.models import Frame

log = logging.getLogger(__name__)

CALL_TIMEOUT_S = 10.0
"""One method call: GNOME Shell answers in milliseconds; seconds mean it hangs."""
FRAME_TIMEOUT_S = 15.0
"""gst-launch-1.0 for one frame (0.05 to 0.8 s measured) with room for a loaded machine."""

DISPLAY_CONFIG = ("org.gnome.Mutter.DisplayConfig", "/org/gnome/Mutter/DisplayConfig")
_TURNED = {1, 3, 5, 7}
"""DisplayConfig transforms that swap width and height (90, 270, and their flipped forms)."""


class BusError(Exception):
    """A D-Bus call that failed: `name` is the D-Bus error's name, the message its text."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name
        self.message = message


class Bus:
    """A connection to the session bus; calls and signals with timeouts. A context manager."""

    def __init__(self, address: str, where: str, fds: bool = False) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self.where = where
        if not address:
            raise CaptureError(
                f"{where}: no session bus (DBUS_SESSION_BUS_ADDRESS is not set); run "
                "screenrecord inside your graphical session"
            )
        try:
            self.conn = open_dbus_connection(
                bus=address, enable_fds=fds, auth_timeout=CALL_TIMEOUT_S
            )
        except (OSError, ValueError, StopIteration, RuntimeError) as e:
            raise CaptureError(f"{where}: cannot reach the session bus ({e})") from None

    @property
    def unique_name(self) -> str:
        return self.conn.unique_name or ""

    def call(
        self,
        service: str,
        path: str,
        interface: str,
        method: str,
        signature: str = "",
        *args: Any,
        timeout: float = CALL_TIMEOUT_S,
    ) -> tuple[Any, ...]:
        """The method's reply body; raises BusError (its D-Bus error) or CaptureError (no answer)."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg

        msg = new_method_call(
            DBusAddress(path, bus_name=service, interface=interface), method, signature, args
        )
        try:
            return tuple(unwrap_msg(self.conn.send_and_get_reply(msg, timeout=timeout)))
        except DBusErrorResponse as e:
            text = e.data[0] if e.data and isinstance(e.data[0], str) else ""
            raise BusError(e.name, text) from None
        except TimeoutError:
            raise CaptureError(
                f"{self.where}: {service} did not answer {method} in {timeout:g}s; "
                "is GNOME Shell hanging?"
            ) from None

    def prop(self, service: str, path: str, interface: str, name: str) -> Any:
        (variant,) = self.call(
            service, path, "org.freedesktop.DBus.Properties", "Get", "ss", interface, name
        )
        return variant[1]

    @contextmanager
    def signals(self, path: str, interface: str, member: str) -> Iterator[Signals]:
        """Signals `member` of `interface` sent from `path`, queued from now while inside."""
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy

        rule = MatchRule(type="signal", interface=interface, member=member, path=path)
        Proxy(message_bus, self.conn, timeout=CALL_TIMEOUT_S).AddMatch(rule)
        with self.conn.filter(rule) as queue:
            yield Signals(self, queue, member)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Signals:
    """Queued signals of one kind; `next` waits for one."""

    def __init__(self, bus: Bus, queue: Any, member: str) -> None:
        self.bus, self.queue, self.member = bus, queue, member

    def next(self, timeout: float) -> tuple[Any, ...]:
        """The next signal's body; TimeoutError if none comes within `timeout` seconds."""
        msg = self.bus.conn.recv_until_filtered(self.queue, timeout=timeout)
        return tuple(msg.body)


@dataclass(frozen=True, slots=True)
class Display:
    """A connected monitor as GNOME lists it."""

    connector: str
    """Its connector ("DP-1", "eDP-1", "Meta-0"): what Mutter's ScreenCast records."""
    match: str
    """`vendor:product:serial`: how the ScreenCast portal's stored selections name it."""
    x: int
    y: int
    """Its place in the logical layout."""
    width: int
    height: int
    """Physical pixels (the current mode, turned): the size of its frames."""
    logical: tuple[int, int]
    """Its size in the logical layout (physical / scale): what the portal's streams say."""


def displays(bus: Bus) -> list[Display]:
    """The monitors now connected and shown, in the natural order of their connectors."""
    service, path = DISPLAY_CONFIG
    try:
        _, monitors, logical, _ = bus.call(service, path, service, "GetCurrentState")
    except BusError as e:
        raise CaptureError(
            f"{bus.where}: GNOME's display configuration cannot be read ({e.name}); is GNOME "
            "Shell running in this session?"
        ) from None
    return parse_state(monitors, logical)


def parse_state(monitors: Sequence[Any], logical: Sequence[Any]) -> list[Display]:
    """Displays from GetCurrentState's monitors `a((ssss)a(siiddada{sv})a{sv})` and logical
    monitors `a(iiduba(ssss)a{sv})`; a monitor in no logical monitor is not shown (off)."""
    placed: dict[str, tuple[int, int, float, int]] = {}
    for x, y, scale, transform, _primary, members, _props in logical:
        for connector, *_ in members:
            placed[connector] = (x, y, scale, transform)
    found = []
    for (connector, vendor, product, serial), modes, _props in monitors:
        if connector not in placed:
            continue
        current = next((m for m in modes if m[6].get("is-current", ("b", False))[1]), None)
        if current is None:
            continue
        x, y, scale, transform = placed[connector]
        w, h = int(current[1]), int(current[2])
        if transform in _TURNED:
            w, h = h, w
        size = (round(w / scale), round(h / scale))
        found.append(Display(connector, f"{vendor}:{product}:{serial}", x, y, w, h, size))
    return sorted(found, key=lambda d: natural(d.connector))


def natural(name: str) -> list[Any]:
    """A sort key that orders the numbers inside names by value: DP-2 before DP-10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def start_frame(
    node: int, environ: Mapping[str, str], fd: int | None = None
) -> subprocess.Popen[bytes]:
    """gst-launch-1.0 reading one frame of PipeWire node `node` (through the PipeWire remote
    `fd` when given, else the session's PipeWire) as raw RGB to its stdout; see `frame`."""
    source = ["pipewiresrc", f"path={node}", "num-buffers=1"]
    if fd is not None:
        source.insert(1, f"fd={fd}")
    argv = ["gst-launch-1.0", "-q", *source, "!", "videoconvert", "!"]
    argv += ["video/x-raw,format=RGB", "!", "fdsink", "fd=1"]
    try:
        return subprocess.Popen(
            argv,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=() if fd is None else (fd,),
        )
    except OSError as e:
        raise CaptureError(
            f"cannot run gst-launch-1.0 ({e.strerror}); install it (Debian, Ubuntu: "
            "gstreamer1.0-tools; Fedora: gstreamer1-plugins-base-tools)"
        ) from None


def frame(proc: subprocess.Popen[bytes], width: int, height: int) -> np.ndarray:
    """The (H, W, 3) RGB frame that `start_frame`'s gst-launch-1.0 wrote; NoFrame if none."""
    try:
        out, err = proc.communicate(timeout=FRAME_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise NoFrame(f"no frame from PipeWire in {FRAME_TIMEOUT_S:g}s") from None
    if proc.returncode != 0:
        text = err.decode("utf-8", "replace")
        for element, packages in MISSING.items():
            if f'no element "{element}"' in text:
                raise CaptureError(
                    f"GStreamer has no {element}, which reads the screen cast; install {packages}"
                )
        lines = text.strip().splitlines()
        raise NoFrame(f"gst-launch-1.0: {lines[-1] if lines else f'exit {proc.returncode}'}")
    stride = (width * 3 + 3) // 4 * 4  # GStreamer pads RGB rows to 4 bytes
    if len(out) != stride * height:
        raise NoFrame(f"a frame of {len(out)} bytes, not {width}x{height} RGB")
    rows = np.frombuffer(out, np.uint8).reshape(height, stride)
    return np.ascontiguousarray(rows[:, : width * 3]).reshape(height, width, 3)


MISSING = {
    "pipewiresrc": "gstreamer1.0-pipewire (Debian, Ubuntu) or pipewire-gstreamer (Fedora)",
    "videoconvert": "gstreamer1.0-plugins-base (Debian, Ubuntu) or gstreamer1-plugins-base "
    "(Fedora)",
}
"""The GStreamer elements a frame needs, and the packages that have them."""


class NoFrame(Exception):
    """A stream that gave no usable frame (the message says why)."""


def looks_blank(image: np.ndarray) -> bool:
    """All black: what pipewiresrc 1.6.0 to 1.6.7 gives for every frame (an invalid crop)."""
    return not image.any()


Remote = Callable[[], int] | None
"""Gives a new connection (fd) to the PipeWire remote a cast's streams are on; None: the
session's own PipeWire."""
Cast = Callable[[list[Display]], AbstractContextManager["tuple[list[int], Remote]"]]
"""Opens a screen cast of the displays given, yielding each one's PipeWire node (in their
order) and its Remote; closes it on leaving."""


def shots(
    listed: list[tuple[int, Display]],
    cast: Cast,
    environ: Mapping[str, str],
    taken: datetime,
    ext: str,
    where: str,
) -> tuple[list[Shot], list[Failure]]:
    """One frame of each listed (number, display), read while one cast of them all is open.

    A frame that is all black is taken again once, in a fresh cast (a stream sends a frame only
    when it starts or the screen changes): pipewiresrc 1.6.0 to 1.6.7 gives black frames; a
    screen that is black again is kept as it is.
    """
    got: dict[int, tuple[np.ndarray | str, float]] = {}
    todo = listed
    for _ in range(2):
        start = time.perf_counter()
        with cast([d for _, d in todo]) as (nodes, remote):
            results = _read(nodes, remote, [d for _, d in todo], environ, where)
        ms = (time.perf_counter() - start) * 1000
        for (number, _), result in zip(todo, results, strict=True):
            got[number] = (result, ms)
        todo = [
            (n, d)
            for (n, d), r in zip(todo, results, strict=True)
            if isinstance(r, np.ndarray) and looks_blank(r)
        ]
        if not todo:
            break
        log.info("monitors %s came back all black: taking them again", [n for n, _ in todo])
    found: list[Shot] = []
    failures: list[Failure] = []
    for number, d in listed:
        result, ms = got[number]
        mon = monitor(number, d)
        if isinstance(result, str):
            failures.append(Failure(mon, f"{d.connector}: {result}"))
        else:
            found.append(
                Shot(Frame(number, result, taken, frame_name(taken, number, ext)), mon, ms)
            )
    return found, failures


def _read(
    nodes: list[int],
    remote: Remote,
    chosen: list[Display],
    environ: Mapping[str, str],
    where: str,
) -> list[np.ndarray | str]:
    """One frame of each node (all read at once, one gst-launch-1.0 each): the image, or why
    there is none. A missing program or element is a CaptureError; no program outlives it."""
    procs: list[subprocess.Popen[bytes]] = []
    results: list[np.ndarray | str] = []
    try:
        for node in nodes:
            procs.append(start_frame(node, environ, None if remote is None else remote()))
        for proc, d in zip(procs, chosen, strict=True):
            try:
                results.append(frame(proc, d.width, d.height))
            except NoFrame as e:
                results.append(str(e))
    except CaptureError as e:
        raise CaptureError(f"{where}: {e}") from None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def monitor(number: int, d: Display) -> Monitor:
    return Monitor(number, d.x, d.y, d.width, d.height)
