"""The screencast backend: the desktop portal's ScreenCast, approved once, restored at each capture.

The default on GNOME on Wayland, and usable wherever a ScreenCast portal (version 4, with
restore tokens: xdg-desktop-portal 1.12+) serves monitors. `screenrecord setup` asks once: the
portal's "Screen Share" dialog, its "Remember this selection" ticked (persist mode 2); the
portal answers with a restore token, kept 0600 in the state folder
($XDG_STATE_HOME/screenrecord/screencast-tokens.json). Every capture then opens one short cast
with that token, which the portal restores with no dialog, takes one frame of each monitor
(gnome.py: gst-launch-1.0 through the PipeWire remote's fd) and closes it. GNOME shows its
screen-sharing indicator for about 5 s at each capture.

Tokens are single-use: the one in every answer replaces the stored one at once. A restored
selection needs every monitor it names, so tokens are kept per set of connected monitors
(GNOME's `vendor:product:serial` of each), read from DisplayConfig before the portal is asked:
an undocked laptop uses its own token, or none, and no dialog opens at a random tick.

Only `setup` (or `once` from a terminal) opens a dialog. Where no token is stored for the
monitors, or the portal's permission store shows that it would not restore the one stored (no
such grant, none for this program's app id, or one naming a monitor not connected now), a grab
is `ApprovalNeeded`, naming `screenrecord setup`, without asking the portal. Should the portal
show its dialog all the same, the session is closed after RESTORE_TIMEOUT_S, never left pending
(xdg-desktop-portal-gnome 43 crashes when a client walks away from its request; closing the
session dismissed the dialog, though the GNOME backend then exited too, to be started again by
D-Bus at the next call).

The app id of a host program comes from its systemd unit (`app-<ID>-<RANDOM>.scope`, else "");
a grant is kept per app id, so the approval is given under the daemon's own identity (`setup`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from screenrecord.archive.store import replace_atomic
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
from screenrecord.errors import ApprovalNeeded, CaptureError, ScreenLocked

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
SCREENCAST = "org.freedesktop.portal.ScreenCast"
REQUEST = "org.freedesktop.portal.Request"
STORE = (
    "org.freedesktop.impl.portal.PermissionStore",
    "/org/freedesktop/impl/portal/PermissionStore",
)
MONITOR = 1
"""SelectSources' source type: monitors (2 windows, 4 virtual)."""
CURSOR_HIDDEN = 1
"""The portal's cursor mode bit for a hidden pointer (Mutter numbers it 0)."""
PERSIST_UNTIL_REVOKED = 2
RESTORE_TIMEOUT_S = 10.0
"""A restored Start answers in 0.01 to 0.04 s; a Start that waits longer shows the dialog."""
APPROVE_TIMEOUT_S = 300.0
"""How long `setup` waits for the person to answer the dialog."""
SETUP = session.APPROVAL_NEEDED


class Tokens:
    """The stored restore tokens, one per set of connected monitors."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> dict[str, str]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("%s: unreadable (%s); approval is asked again", self.path, e)
            return {}
        tokens = value.get("tokens") if isinstance(value, dict) else None
        if not isinstance(tokens, dict):
            return {}
        return {k: v for k, v in tokens.items() if isinstance(k, str) and isinstance(v, str)}

    def get(self, key: str) -> str | None:
        return self.all().get(key)

    def put(self, key: str, token: str | None) -> None:
        """Store `token` for `key` (None: forget it); written atomically, owner-only."""
        tokens = self.all()
        if token is None:
            if tokens.pop(key, None) is None:
                return
        else:
            tokens[key] = token
        data = json.dumps({"tokens": tokens}, indent=1, sort_keys=True) + "\n"
        replace_atomic(self.path, data.encode())


def key(listed: Iterable[Display]) -> str:
    """The monitor set a token is kept for: each monitor's `vendor:product:serial`, sorted."""
    return "\n".join(sorted(d.match for d in listed))


class ScreencastBackend(Backend):
    """Every monitor through one short ScreenCast portal session per grab, restored by token."""

    name = "screencast"

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.environ = dict(environ)
        self.where = str(session.desktop(environ, platform))
        self.tokens = Tokens(session.screencast_tokens(environ))

    def _bus(self) -> Bus:
        return Bus(self.environ.get("DBUS_SESSION_BUS_ADDRESS", ""), self.where, fds=True)

    def monitors(self) -> list[Monitor]:
        with self._bus() as bus:
            check_portal(bus)
            return [monitor(n, d) for n, d in enumerate(displays(bus), start=1)]

    def grab(
        self, taken: datetime, wanted: Iterable[int] | None = None, ext: str = "png"
    ) -> tuple[list[Shot], list[Failure]]:
        with self._bus() as bus:
            connected = displays(bus)
            listed = list(numbered(connected, wanted))
            if not listed:
                return [], []
            k = key(connected)
            token = self.tokens.get(k)
            if token is None or not granted(bus, token, connected):
                if token is not None:
                    log.warning("the desktop portal no longer knows the stored approval")
                    self.tokens.put(k, None)
                raise ApprovalNeeded(f"{self.where}: {SETUP} (once, to allow screen capture)")

            @contextmanager
            def cast(chosen: list[Display]) -> Iterator[tuple[list[int], Callable[[], int]]]:
                latest = self.tokens.get(k) or token  # a second cast: the token of the first
                with Cast(bus, self.where) as c:
                    streams = c.start(connected, latest, self.tokens, k, interactive=False)
                    by_connector = {d.connector: node for d, node in streams}
                    missing = [d.connector for d in chosen if d.connector not in by_connector]
                    if missing:
                        self.tokens.put(k, None)
                        raise ApprovalNeeded(
                            f"{self.where}: the approval does not cover {', '.join(missing)}: "
                            f"{SETUP}"
                        )
                    yield [by_connector[d.connector] for d in chosen], c.remote

            return shots(listed, cast, self.environ, taken, ext, self.where)


def approve(environ: Mapping[str, str], platform: str) -> list[Display]:
    """Open the portal's Screen Share dialog, wait for the person's answer, store the token;
    the monitors it covers. Raises CaptureError when refused or not answered."""
    where = str(session.desktop(environ, platform))
    tokens = Tokens(session.screencast_tokens(environ))
    with Bus(environ.get("DBUS_SESSION_BUS_ADDRESS", ""), where, fds=True) as bus:
        check_portal(bus)
        connected = displays(bus)
        k = key(connected)
        with Cast(bus, where) as c:
            streams = c.start(connected, None, tokens, k, interactive=True)
        approved = {d.connector for d, _ in streams}
        return [d for d in connected if d.connector in approved]


def granted(bus: Bus, token: str, connected: list[Display]) -> bool:
    """Whether the portal would restore `token` with no dialog, as far as its permission store
    tells: the grant exists, for this program's app id, and (in xdg-desktop-portal-gnome's
    format) names only connected monitors. True where the store cannot be asked or its data
    is of another backend: the portal then decides, and a dialog it shows is closed (Cast)."""
    service, path = STORE
    try:
        permissions, data = bus.call(service, path, service, "Lookup", "ss", "screencast", token)
    except BusError as e:
        return e.name != "org.freedesktop.portal.Error.NotFound"
    app = app_scope(_cgroup()) or ""
    if isinstance(permissions, dict) and app not in permissions:
        return False
    stored = _stored_monitors(data)
    return stored is None or stored <= {d.match for d in connected}


def _stored_monitors(data: Any) -> set[str] | None:
    """The `vendor:product:serial` of each monitor in xdg-desktop-portal-gnome's restore data,
    `(suv)` holding `(xxa(uuv))`; None for data of any other shape."""
    try:
        _, (backend, _version, (_, (_, _, streams))) = data
        if backend != "GNOME":
            return None
        return {str(match[1]) for _id, _type, match in streams}
    except (TypeError, ValueError, IndexError):
        return None


def check_portal(bus: Bus) -> None:
    """Raise CaptureError, naming what to install, where no ScreenCast portal with restore
    tokens answers (and where GNOME Shell is older than 42)."""
    try:
        version = bus.prop(PORTAL, PATH, SCREENCAST, "version")
    except BusError as e:
        if e.name.endswith(("ServiceUnknown", "NameHasNoOwner")):
            raise CaptureError(
                f"{bus.where}: no desktop portal on the session bus ({e.name}); install "
                "xdg-desktop-portal and xdg-desktop-portal-gnome"
            ) from None
        raise CaptureError(
            f"{bus.where}: the desktop portal has no ScreenCast ({e.name}); install "
            "xdg-desktop-portal-gnome (or your desktop's portal backend)"
        ) from None
    if int(version) < 4:
        raise CaptureError(
            f"{bus.where}: the desktop portal's ScreenCast is version {version}, which cannot "
            "remember an approval; it needs xdg-desktop-portal 1.12 or later"
        )
    shell = "org.gnome.Shell"
    try:
        shell_version = str(bus.prop(shell, "/org/gnome/Shell", shell, "ShellVersion"))
    except BusError:
        return  # not GNOME: the portal's own backend decides
    major = shell_version.split(".")[0]
    if major.isdigit() and int(major) < 42:
        raise CaptureError(
            f"{bus.where}: GNOME Shell {shell_version} cannot restore an approved screen cast "
            "(GNOME 42 or later can); log in to an X11 session (GNOME on Xorg)"
        )


class Cast:
    """One ScreenCast portal session: created on entering, closed on leaving."""

    def __init__(self, bus: Bus, where: str) -> None:
        self.bus = bus
        self.where = where
        self.session = ""
        self._fds: list[int] = []

    def __enter__(self) -> Cast:
        results = self._request("CreateSession", "a{sv}", {}, timeout=CALL_TIMEOUT_S)
        self.session = str(results["session_handle"][1])
        return self

    def __exit__(self, *_: object) -> None:
        for fd in self._fds:
            os.close(fd)
        with contextlib.suppress(BusError, CaptureError):
            self.bus.call(PORTAL, self.session, "org.freedesktop.portal.Session", "Close")

    def start(
        self,
        connected: list[Display],
        token: str | None,
        tokens: Tokens,
        k: str,
        interactive: bool,
    ) -> list[tuple[Display, int]]:
        """SelectSources (monitors, restoring `token`), Start; each stream's monitor and node.

        The token in the answer replaces the stored one at once (tokens are single-use). A
        Start that is not answered within RESTORE_TIMEOUT_S when not `interactive` (a dialog
        shown after all) is ApprovalNeeded: leaving, the session is closed and the dialog with it.
        """
        options: dict[str, tuple[str, Any]] = {
            "types": ("u", MONITOR),
            "multiple": ("b", True),
            "cursor_mode": ("u", CURSOR_HIDDEN),
            "persist_mode": ("u", PERSIST_UNTIL_REVOKED),
        }
        if token is not None:
            options["restore_token"] = ("s", token)
        self._request("SelectSources", "oa{sv}", self.session, options, timeout=CALL_TIMEOUT_S)
        wait = APPROVE_TIMEOUT_S if interactive else RESTORE_TIMEOUT_S
        try:
            results = self._request("Start", "osa{sv}", self.session, "", {}, timeout=wait)
        except TimeoutError:
            tokens.put(k, None)
            if interactive:
                raise CaptureError(
                    f"{self.where}: the Screen Share dialog was not answered in "
                    f"{APPROVE_TIMEOUT_S:g}s"
                ) from None
            raise ApprovalNeeded(
                f"{self.where}: the stored approval was not accepted: {SETUP}"
            ) from None
        new = results.get("restore_token")
        tokens.put(k, str(new[1]) if new else None)
        streams = []
        for node, props in results.get("streams", ("a(ua{sv})", []))[1]:
            d = _placed(connected, props)
            if d is not None:
                streams.append((d, int(node)))
        if not streams:
            raise CaptureError(f"{self.where}: the screen cast has no monitor in it")
        return streams

    def remote(self) -> int:
        """A PipeWire remote's fd for this session's streams, one per reader (a connection
        cannot be shared); all are closed with the session."""
        try:
            reply = self.bus.call(
                PORTAL, PATH, SCREENCAST, "OpenPipeWireRemote", "oa{sv}", self.session, {}
            )
        except BusError as e:
            raise CaptureError(f"{self.where}: no PipeWire remote from the portal ({e})") from None
        self._fds.append(reply[0].to_raw_fd())
        return self._fds[-1]

    def _request(
        self, method: str, signature: str, *args: Any, timeout: float
    ) -> dict[str, tuple[str, Any]]:
        """Call a portal method that answers through a Request object; its results. Raises
        TimeoutError when no answer comes within `timeout`, CaptureError when refused."""
        handle = "screenrecord" + secrets.token_hex(6)
        sender = self.bus.unique_name.lstrip(":").replace(".", "_")
        request = f"{PATH}/request/{sender}/{handle}"
        options = dict(args[-1])
        options["handle_token"] = ("s", handle)
        if method == "CreateSession":
            options["session_handle_token"] = ("s", "screenrecord" + secrets.token_hex(6))
        call_args = (*args[:-1], options)
        with self.bus.signals(request, REQUEST, "Response") as answers:
            try:
                self.bus.call(PORTAL, PATH, SCREENCAST, method, signature, *call_args)
            except BusError as e:
                if "inhibit" in e.message.lower():
                    raise ScreenLocked(f"{self.where}: the screen is locked") from None
                raise CaptureError(
                    f"{self.where}: the desktop portal's ScreenCast {method} failed ({e})"
                ) from None
            code, results = answers.next(timeout)
        if code == 1:
            raise CaptureError(f"{self.where}: the Screen Share dialog was cancelled")
        if code != 0:
            raise CaptureError(
                f"{self.where}: the desktop portal refused the screen cast ({method}); is the "
                "screen locked, or GNOME Shell restarting?"
            )
        return dict(results)


def _placed(connected: list[Display], props: Mapping[str, tuple[str, Any]]) -> Display | None:
    """The monitor a stream shows, by its position in the layout (and its logical size)."""
    position = props.get("position", ("(ii)", None))[1]
    size = props.get("size", ("(ii)", None))[1]
    for d in connected:
        if position is not None and tuple(position) == (d.x, d.y):
            return d
    if size is not None and len(connected) == 1 and tuple(size) == connected[0].logical:
        return connected[0]
    return None


@dataclass(frozen=True, slots=True)
class Approval:
    """What `screenrecord setup` did: the backend, and the monitors approved (none where the
    backend needs no approval)."""

    backend: str
    monitors: list[Display]


APP_SCOPE = re.compile(r"/app-(?:[^/-]+-)?(?P<id>[^/]+)-[^/-]+\.scope$")
"""A cgroup of a systemd app scope (`app-[launcher-]<ID>-<RANDOM>.scope`), from which
xdg-desktop-portal takes a host program's app id."""


def app_scope(cgroup: str) -> str | None:
    """The app id xdg-desktop-portal would give this process, from /proc/self/cgroup's text;
    None when it gets none ("", like the daemon's screenrecord.service)."""
    for line in cgroup.splitlines():
        m = APP_SCOPE.search(line.rpartition(":")[2])
        if m:
            return m["id"]
    return None


WHAT_YOU_SEE = (
    'GNOME asks once: a "Screen Share" dialog opens now. Select every monitor, keep '
    '"Remember this selection" ticked and press Share. After that each capture shows GNOME\'s '
    "screen-sharing indicator in the top bar for about 5 seconds, and no dialog. Another set "
    "of monitors (docked, undocked) needs `screenrecord setup` once more."
)


def setup(
    environ: Mapping[str, str],
    platform: str,
    setting: str,
    cgroup: str,
    tell: Callable[[str], None],
) -> Approval:
    """The one approval the screencast backend needs, given under the daemon's identity:
    the portal keeps a grant per app id, and the daemon (screenrecord.service, or started by
    a session's autostart) has none. `cgroup`: this process's /proc/self/cgroup; `tell` is
    given what the person will see, before the dialog opens."""
    chosen = session.choose(environ, platform, setting)
    if chosen.backend is None:
        raise CaptureError(chosen.refusal or "no capture backend")
    if chosen.backend != ScreencastBackend.name:
        return Approval(chosen.backend, [])
    ScreencastBackend.check(environ, platform)
    app = app_scope(cgroup)
    if app is not None:
        raise CaptureError(
            f"this terminal runs inside the app scope of {app}, whose approval the daemon "
            "would not share; run `systemd-run --user --scope screenrecord setup` instead"
        )
    tell(WHAT_YOU_SEE)
    return Approval(chosen.backend, approve(environ, platform))


def approve_if_needed(environ: Mapping[str, str], platform: str, setting: str) -> None:
    """Ask for the approval now where the screencast backend is chosen and none is stored
    (`once` from a terminal: a person is there to answer)."""
    if session.choose(environ, platform, setting).backend != ScreencastBackend.name:
        return
    if session.screencast_note(environ) is None:
        return
    setup(environ, platform, setting, _cgroup(), lambda text: log.warning("%s", text))


def _cgroup() -> str:
    try:
        return Path("/proc/self/cgroup").read_text()
    except OSError:
        return ""
