"""The GNOME reader (Wayland): idle time from GNOME Shell, the lock from logind; no windows.

GNOME on Wayland tells other programs nothing of its windows (the focused one included), so
`app`, `title` and the window list stay None; exclusion rules by window cannot apply there.
Idle: `org.gnome.Mutter.IdleMonitor` (/org/gnome/Mutter/IdleMonitor/Core, GetIdletime, in
milliseconds), which any program on the session bus may read. Lock: logind's LockedHint, which
GNOME sets when it locks (logind.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from screenrecord.capture.activity import Reader, logind
from screenrecord.models import Activity

log = logging.getLogger(__name__)

IDLE = ("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core")
TIMEOUT_S = 0.5
"""Per call: a shell that does not answer within this leaves idle time unknown for the tick."""


class GnomeReader(Reader):
    """Idle time and lock of a GNOME session; the windows are not known."""

    name = "gnome"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = dict(environ)

    def read(self, windows: bool = True) -> Activity:
        return Activity(idle_s=self.idle_s(), locked=logind.locked(self.environ))

    def idle_s(self) -> float | None:
        """Seconds since the last input, None where GNOME Shell cannot be asked."""
        from screenrecord.capture.gnome import Bus, BusError
        from screenrecord.errors import CaptureError

        service, path = IDLE
        try:
            with Bus(self.environ.get("DBUS_SESSION_BUS_ADDRESS", ""), "GNOME") as bus:
                (ms,) = bus.call(service, path, service, "GetIdletime", timeout=TIMEOUT_S)
        except (BusError, CaptureError) as e:
            log.debug("GNOME Shell cannot tell the idle time: %s", e)
            return None
        return int(ms) / 1000
