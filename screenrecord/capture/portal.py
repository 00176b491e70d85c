"""The portal backend: xdg-desktop-portal's Screenshot, non-interactive, over the session bus.

Where it serves (session.choose): KDE Plasma on Wayland, where xdg-desktop-portal-kde takes a
non-interactive screenshot without a dialog, flash or sound (Plasma 6.4+ asks once, through the
portal's Access dialog, and remembers the answer). Chosen explicitly on GNOME it works only
once the permission is granted (`flatpak permission-set screenshot screenshot "" yes`), and
GNOME then flashes the screen and plays the shutter sound at every capture. On wlroots it is
refused: xdg-desktop-portal-wlr writes every screenshot to /tmp/out.png, readable by all users;
grim reads the same pixels without a file.

The portal writes the whole desktop (every monitor) to one file of its choosing (KDE:
~/Pictures/Screenshot_*.png; GNOME: ~/Pictures/Screenshot*.png). The file is read and removed
at once, before anything else is done with the frame; the desktop is one monitor here, since
the portal says nothing of where each output lies in the picture.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from PIL import Image

from screenrecord.archive.store import frame_name
from screenrecord.capture import Backend, Failure, Monitor, Shot, session
from screenrecord.errors import CaptureError
from screenrecord.models import Frame

BUS_TIMEOUT_S = 25.0
"""Connecting and the method call (D-Bus's own default): the first call starts the portal and its
backends, seconds on a cold start."""
ANSWER_TIMEOUT_S = 20.0
"""The Response signal: KDE's first call may wait on its Access dialog."""

PORTAL = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
SCREENSHOT = "org.freedesktop.portal.Screenshot"
REQUEST = "org.freedesktop.portal.Request"

RESPONSES = {1: "the user or the desktop cancelled it", 2: "the desktop refused it"}
"""Non-zero Request.Response codes of the portal."""


class PortalBackend(Backend):
    """The whole desktop as one monitor, from one Screenshot call per grab."""

    name = "portal"

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.bus = environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        self.where = str(session.desktop(environ, platform))
        self._last: Monitor | None = None

    def monitors(self) -> list[Monitor]:
        """The desktop as one monitor: its size is known only from a screenshot."""
        if self._last is None:
            image = self._screenshot()
            self._last = Monitor(1, 0, 0, image.shape[1], image.shape[0])
        return [self._last]

    def grab(
        self, taken: datetime, wanted: Iterable[int] | None = None, ext: str = "png"
    ) -> tuple[list[Shot], list[Failure]]:
        if wanted is not None and 1 not in set(wanted):
            return [], []
        start = time.perf_counter()
        image = self._screenshot()
        ms = (time.perf_counter() - start) * 1000
        mon = Monitor(1, 0, 0, image.shape[1], image.shape[0])
        self._last = mon
        return [Shot(Frame(1, image, taken, frame_name(taken, 1, ext)), mon, ms)], []

    def _screenshot(self) -> np.ndarray:
        """One non-interactive Screenshot: the file it names is read, then removed at once."""
        path = self._ask()
        try:
            with Image.open(path) as im:
                return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
        except OSError as e:
            raise CaptureError(
                f"{self.where}: the portal's screenshot {path} is unreadable ({e})"
            ) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _ask(self) -> Path:
        """Call Screenshot and wait for its Request's Response; the file's path."""
        from jeepney import DBusAddress, MatchRule, message_bus, new_method_call
        from jeepney.io.blocking import Proxy, open_dbus_connection
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg

        try:
            conn = open_dbus_connection(bus=self.bus, auth_timeout=BUS_TIMEOUT_S)
        except (OSError, ValueError, StopIteration) as e:
            raise CaptureError(f"{self.where}: cannot reach the session bus ({e})") from None
        with conn:
            token = "screenrecord" + secrets.token_hex(8)
            sender = (conn.unique_name or "").lstrip(":").replace(".", "_")
            request = f"{PATH}/request/{sender}/{token}"
            rule = MatchRule(type="signal", interface=REQUEST, member="Response", path=request)
            try:
                Proxy(message_bus, conn, timeout=BUS_TIMEOUT_S).AddMatch(rule)
                with conn.filter(rule) as answers:
                    call = new_method_call(
                        DBusAddress(PATH, bus_name=PORTAL, interface=SCREENSHOT),
                        "Screenshot",
                        "sa{sv}",
                        ("", {"handle_token": ("s", token), "interactive": ("b", False)}),
                    )
                    unwrap_msg(conn.send_and_get_reply(call, timeout=BUS_TIMEOUT_S))
                    answer = conn.recv_until_filtered(answers, timeout=ANSWER_TIMEOUT_S)
            except DBusErrorResponse as e:
                raise CaptureError(
                    f"{self.where}: the desktop portal's Screenshot is not available ({e.name}); "
                    "install xdg-desktop-portal and the portal of your desktop"
                ) from None
            except TimeoutError:
                raise CaptureError(
                    f"{self.where}: the desktop portal did not answer; is xdg-desktop-portal running?"
                ) from None
        code, results = answer.body
        if code != 0:
            raise CaptureError(
                f"{self.where}: the portal's screenshot failed ({RESPONSES.get(code, code)}); "
                "see README: Desktops for the permission it needs"
            )
        uri = results.get("uri", ("s", ""))[1]
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise CaptureError(f"{self.where}: the portal answered no file ({uri!r})")
        return Path(unquote(parsed.path))
