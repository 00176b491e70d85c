"""The mutter backend: GNOME Shell's own screen cast API, `org.gnome.Mutter.ScreenCast`.

Opt-in (`capture.backend = "mutter"`): a GNOME-private API ("No compatibility between versions
are promised", though unchanged in what is used here from GNOME 42 to 49), open to any program
on the session bus that is not in a flatpak: no dialog, no token. While a frame is taken GNOME
shows its recording dot (the cast is marked `is-recording`) in the top bar.

One short cast per grab: CreateSession, RecordMonitor of each wanted monitor (cursor hidden),
Start, each stream's PipeWire node, one frame of each (gst-launch-1.0, gnome.py), Stop. A
stream sends frames only when the screen changes, but always one when it starts: a fresh cast
at every grab always yields a frame. GNOME refuses new casts while the screen is locked
("Session creation inhibited"): that is `ScreenLocked`, recorded as a locked tick.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime

from screenrecord.capture import Backend, Failure, Monitor, Shot, numbered, session
from screenrecord.capture.gnome import (
    CALL_TIMEOUT_S,
    Bus,
    BusError,
    Display,
    displays,
    monitor,
    shots,
)
from screenrecord.errors import CaptureError, ScreenLocked

SERVICE = "org.gnome.Mutter.ScreenCast"
PATH = "/org/gnome/Mutter/ScreenCast"
CURSOR_HIDDEN = 0
"""Mutter's cursor-mode (0 hidden, 1 embedded, 2 metadata): the pointer is not part of a screen's
change."""


class MutterBackend(Backend):
    """Every monitor through one short Mutter ScreenCast session per grab."""

    name = "mutter"

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.environ = dict(environ)
        self.where = str(session.desktop(environ, platform))

    def monitors(self) -> list[Monitor]:
        with Bus(self.environ.get("DBUS_SESSION_BUS_ADDRESS", ""), self.where) as bus:
            return [monitor(n, d) for n, d in enumerate(displays(bus), start=1)]

    def grab(
        self, taken: datetime, wanted: Iterable[int] | None = None, ext: str = "png"
    ) -> tuple[list[Shot], list[Failure]]:
        with Bus(self.environ.get("DBUS_SESSION_BUS_ADDRESS", ""), self.where) as bus:
            listed = list(numbered(displays(bus), wanted))
            if not listed:
                return [], []
            return shots(
                listed, lambda chosen: self._cast(bus, chosen), self.environ, taken, ext, self.where
            )

    @contextmanager
    def _cast(self, bus: Bus, chosen: list[Display]) -> Iterator[tuple[list[int], None]]:
        """A Mutter ScreenCast session recording `chosen`: yields their PipeWire nodes; stopped
        on leaving."""
        try:
            (path,) = bus.call(SERVICE, PATH, SERVICE, "CreateSession", "a{sv}", {})
        except BusError as e:
            if "inhibited" in e.message:
                raise ScreenLocked(f"{self.where}: the screen is locked") from None
            raise CaptureError(
                f"{self.where}: GNOME Shell's ScreenCast refused a session ({e}); "
                'use capture.backend = "auto" (the ScreenCast portal)'
            ) from None
        iface = f"{SERVICE}.Session"
        try:
            streams = []
            options = {"cursor-mode": ("u", CURSOR_HIDDEN), "is-recording": ("b", True)}
            for d in chosen:
                (stream,) = bus.call(
                    SERVICE, path, iface, "RecordMonitor", "sa{sv}", d.connector, options
                )
                streams.append(stream)
            with ExitStack() as stack:
                added = [
                    stack.enter_context(
                        bus.signals(stream, f"{SERVICE}.Stream", "PipeWireStreamAdded")
                    )
                    for stream in streams
                ]
                bus.call(SERVICE, path, iface, "Start")
                try:
                    nodes = [int(a.next(CALL_TIMEOUT_S)[0]) for a in added]
                except TimeoutError:
                    raise CaptureError(
                        f"{self.where}: GNOME Shell started the screen cast but gave no stream "
                        f"in {CALL_TIMEOUT_S:g}s; is pipewire running in this session?"
                    ) from None
            yield nodes, None
        except BusError as e:
            raise CaptureError(f"{self.where}: GNOME Shell's screen cast failed ({e})") from None
        finally:
            # a session whose streams failed may have stopped by itself
            with contextlib.suppress(BusError, CaptureError):
                bus.call(SERVICE, path, iface, "Stop")
