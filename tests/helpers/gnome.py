"""The one way tests start GNOME on Wayland: a real headless GNOME Shell, with its desktop portal.

`gnome-shell --headless --wayland --no-x11` with two virtual monitors, Meta-0 1280x800 and
Meta-1 1024x768, on a private session bus of its own (a dbus-daemon from which the portal, its
GNOME backend, the permission store and dconf are started on demand from the system's service
files), beside a private stand-in system bus (gnome-shell dies at start-up without one wherever
/run/systemd/seats exists), pipewire and wireplumber (the screen casts' streams), all under a
fresh 0700 XDG_RUNTIME_DIR and a throw-away HOME (the permission store and dconf live there).

The desktop shows a solid background colour (`paint`, through gsettings as a user would set
it), so that a test knows what a frame holds. `pointer` moves GNOME's own pointer and presses
its button through Mutter's RemoteDesktop, as a person at the screen would: how the tests
answer the ScreenCast portal's "Screen Share" dialog.

Every process is started here and stopped here, by its id. gnome-shell 43 may crash when it is
stopped (SIGSEGV at exit): that is tolerated in the teardown only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from helpers import bus
from helpers.procs import stop
from helpers.system import claim, require, unavailable
from screenrecord.capture.gnome import Bus

SIZES = {"Meta-0": (1280, 800), "Meta-1": (1024, 768)}
"""Each virtual monitor's pixels, in the order of the command line (left to right)."""
BACKGROUND = "#204060"
"""The background colour the desktop starts with."""

SERVICES = "/usr/share/dbus-1/services"
ACTIVATED = {
    "org.freedesktop.portal.Desktop.service": "xdg-desktop-portal",
    "org.freedesktop.impl.portal.desktop.gnome.service": "xdg-desktop-portal-gnome",
    "org.freedesktop.impl.portal.PermissionStore.service": "xdg-desktop-portal",
    "ca.desrt.dconf.service": "dconf-service",
}
"""What may be started on the session bus (the file, its Debian package): the portal, its GNOME
backend, the permission store, and dconf (gsettings' writes)."""

SCREENCAST = "org.gnome.Mutter.ScreenCast"
REMOTE = "org.gnome.Mutter.RemoteDesktop"
BTN_LEFT = 0x110
"""The evdev code of the left button (linux/input-event-codes.h)."""


class Gnome:
    """A running headless GNOME Shell; `env` is what a program needs to capture it."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.shell: subprocess.Popen | None = None
        self.log = tmp / "gnome-shell.log"

    @property
    def session(self) -> dict[str, str]:
        """What a program of this session (screenrecord) finds in its environment; its HOME and
        XDG folders are its own."""
        names = (
            "WAYLAND_DISPLAY",
            "XDG_RUNTIME_DIR",
            "DBUS_SESSION_BUS_ADDRESS",
            "DBUS_SYSTEM_BUS_ADDRESS",
            "XDG_CURRENT_DESKTOP",
            "XDG_SESSION_TYPE",
        )
        return {k: self.env[k] for k in names}

    @property
    def bus(self) -> str:
        return self.env["DBUS_SESSION_BUS_ADDRESS"]

    def gsettings(self, *args: str) -> str:
        r = subprocess.run(
            ["gsettings", *args], env=self.env, capture_output=True, text=True, timeout=15
        )
        assert r.returncode == 0, f"gsettings {args}: {r.stderr}"
        return r.stdout.strip()

    def paint(self, colour: str) -> None:
        """A solid background of `colour` ("#rrggbb") on every monitor."""
        self.gsettings("set", "org.gnome.desktop.background", "primary-color", colour)
        time.sleep(0.5)  # the shell redraws its background actors on its next frame

    @contextmanager
    def pointer(self, connector: str = "Meta-0") -> Iterator[Callable[[float, float], None]]:
        """A RemoteDesktop session on `connector`: yields click(x, y), in that monitor's pixels."""
        with Bus(self.bus, "GNOME") as b:
            (rd,) = b.call(REMOTE, "/org/gnome/Mutter/RemoteDesktop", REMOTE, "CreateSession")
            sid = b.prop(REMOTE, rd, f"{REMOTE}.Session", "SessionId")
            (sc,) = b.call(
                SCREENCAST,
                "/org/gnome/Mutter/ScreenCast",
                SCREENCAST,
                "CreateSession",
                "a{sv}",
                {"remote-desktop-session-id": ("s", sid)},
            )
            session = f"{SCREENCAST}.Session"
            (stream,) = b.call(SCREENCAST, sc, session, "RecordMonitor", "sa{sv}", connector, {})
            with b.signals(stream, f"{SCREENCAST}.Stream", "PipeWireStreamAdded") as added:
                b.call(REMOTE, rd, f"{REMOTE}.Session", "Start")
                added.next(timeout=10)

            def notify(method: str, signature: str, *args: object) -> None:
                b.call(REMOTE, rd, f"{REMOTE}.Session", method, signature, *args)

            def click(x: float, y: float) -> None:
                notify("NotifyPointerMotionAbsolute", "sdd", stream, float(x), float(y))
                time.sleep(0.3)
                notify("NotifyPointerButton", "ib", BTN_LEFT, True)
                time.sleep(0.1)
                notify("NotifyPointerButton", "ib", BTN_LEFT, False)
                time.sleep(0.5)

            try:
                yield click
            finally:
                notify("Stop", "")

    def frame(self, number: int = 1) -> np.ndarray:
        """What monitor `number` (1: Meta-0) shows now, through GNOME's own screen cast."""
        from datetime import datetime

        from screenrecord.capture.mutter import MutterBackend

        with MutterBackend(self.env, "linux") as backend:
            shots, failures = backend.grab(datetime.now(), [number])
        assert not failures, failures
        return shots[0].frame.image

    def share_every_monitor(self, timeout: float = 30) -> None:
        """Answer the ScreenCast portal's "Screen Share" dialog as a person would: once it shows
        (over the Overview, on Meta-0), click away the Overview, tick both monitors' rows and
        press Share. The places are the dialog's at 1280x800 with two monitors listed."""
        deadline = time.monotonic() + timeout
        while not (self.frame()[417, 640] > 200).all():  # the dialog's first row, white
            if time.monotonic() > deadline:
                from PIL import Image

                Image.fromarray(self.frame()).save(self.tmp / "no-dialog.png")
                raise AssertionError(f"no Screen Share dialog on Meta-0: {self.tmp}/no-dialog.png")
            time.sleep(0.3)
        with self.pointer() as click:
            click(640, 441)  # leaves the Overview: the dialog moves to its place on the desktop
            click(640, 441)  # the first monitor's row
            click(640, 497)  # the second one's
            click(842, 291)  # Share
        self.settle()

    def settle(self, timeout: float = 20) -> None:
        """Wait until Meta-0 shows the same twice a second apart (the Overview closed, its
        notification banner gone)."""
        deadline = time.monotonic() + timeout
        before = self.frame()
        while True:
            time.sleep(1)
            now = self.frame()
            if (now == before).all():
                return
            assert time.monotonic() < deadline, "GNOME Shell's screen never stops changing"
            before = now

    def start(self) -> None:
        # No notification banners: "Logged in as a privileged user" (root, as in CI) would
        # otherwise leave the screen whenever GNOME sees input, changing frames at random.
        self.gsettings("set", "org.gnome.desktop.notifications", "show-banners", "false")
        argv = ["gnome-shell", "--headless", "--wayland", "--no-x11"]
        for w, h in SIZES.values():
            argv += ["--virtual-monitor", f"{w}x{h}"]
        with self.log.open("ab") as log:
            self.shell = subprocess.Popen(
                argv,
                env=self.env,
                cwd=self.env["HOME"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self._wait(self._ready, "GNOME Shell's ScreenCast and DisplayConfig on its bus")
        self.env["WAYLAND_DISPLAY"] = "wayland-0"
        subprocess.run(
            ["dbus-update-activation-environment", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP"],
            env=self.env,
            check=True,
            timeout=10,
        )
        background = "org.gnome.desktop.background"
        for key in ("picture-uri", "picture-uri-dark"):
            self.gsettings("set", background, key, "")
        self.gsettings("set", background, "picture-options", "none")
        self.gsettings("set", background, "color-shading-type", "solid")
        self.paint(BACKGROUND)

    def stop(self) -> None:
        """End gnome-shell; a crash on the way out (it may segfault at SIGTERM) is no failure."""
        if self.shell is not None:
            shell, self.shell = self.shell, None
            stop(shell, timeout=10)

    def _ready(self) -> bool:
        if not (Path(self.env["XDG_RUNTIME_DIR"]) / "wayland-0").exists():
            return False
        try:
            with Bus(self.bus, "GNOME") as b:
                b.call(
                    "org.gnome.Mutter.DisplayConfig",
                    "/org/gnome/Mutter/DisplayConfig",
                    "org.gnome.Mutter.DisplayConfig",
                    "GetCurrentState",
                )
                b.call(
                    SCREENCAST,
                    "/org/gnome/Mutter/ScreenCast",
                    "org.freedesktop.DBus.Properties",
                    "Get",
                    "ss",
                    SCREENCAST,
                    "Version",
                )
        except Exception:  # noqa: BLE001 - not up yet, whatever the bus says
            return False
        return True

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.shell is not None and self.shell.poll() is not None:
                raise AssertionError(
                    f"gnome-shell exited {self.shell.returncode}: {self.log.read_text()[-3000:]}"
                )
            if ready():
                return
            time.sleep(0.2)
        raise AssertionError(f"no {what} after {timeout}s: {self.log.read_text()[-3000:]}")


def _daemon(conf: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """A dbus-daemon with `conf`; it and the address it listens on."""
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _stop_all(started: list[subprocess.Popen]) -> None:
    """Stop what was started, the last first (the buses last: the services they started, the
    portal among them, leave with them)."""
    for proc in reversed(started):
        stop(proc, timeout=10)


def _requirements() -> None:
    require("gnome-shell", "gnome-shell")
    require("dbus-daemon", "dbus-daemon", "dbus-update-activation-environment")
    require("pipewire-bin", "pipewire")
    require("wireplumber", "wireplumber")
    require("libglib2.0-bin", "gsettings")
    require("gstreamer1.0-tools", "gst-launch-1.0", "gst-inspect-1.0")
    for name, package in ACTIVATED.items():
        require(package, files=(f"{SERVICES}/{name}",))
    r = subprocess.run(["gst-inspect-1.0", "pipewiresrc"], capture_output=True, timeout=30)
    if r.returncode != 0:
        unavailable(
            "GStreamer's pipewiresrc missing: install the Debian package gstreamer1.0-pipewire"
        )


@contextmanager
def running() -> Iterator[Gnome]:
    """A headless GNOME Shell (see the module's docstring), every process stopped on leaving."""
    claim("gnome", "a headless GNOME Shell")
    _requirements()
    tmp = Path(tempfile.mkdtemp(prefix="screenrecord-gnome-"))
    runtime, home = tmp / "runtime", tmp / "home"
    runtime.mkdir(mode=0o700)
    home.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CURRENT_DESKTOP": "GNOME",
        "XDG_SESSION_TYPE": "wayland",
        "LANG": "C.UTF-8",
    }
    started: list[subprocess.Popen] = []
    gnome = Gnome(tmp, env)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        stack.callback(_stop_all, started)
        (tmp / "system.conf").write_text(bus.CONFIG.format(socket=tmp / "system_bus_socket"))
        system, env["DBUS_SYSTEM_BUS_ADDRESS"] = _daemon(tmp / "system.conf", env)
        started.append(system)
        services = tmp / "services"
        services.mkdir()
        for name in ACTIVATED:
            shutil.copy(f"{SERVICES}/{name}", services / name)
        conf = bus.CONFIG.format(socket=runtime / "bus").replace(
            "</busconfig>", f"  <servicedir>{services}</servicedir>\n</busconfig>"
        )
        (tmp / "session.conf").write_text(conf)
        session, env["DBUS_SESSION_BUS_ADDRESS"] = _daemon(tmp / "session.conf", env)
        started.append(session)
        with (tmp / "pipewire.log").open("ab") as log:
            started.append(subprocess.Popen(["pipewire"], env=env, stdout=log, stderr=log))
            deadline = time.monotonic() + 10
            while not (runtime / "pipewire-0").exists():
                assert time.monotonic() < deadline, (tmp / "pipewire.log").read_text()
                time.sleep(0.05)
            started.append(subprocess.Popen(["wireplumber"], env=env, stdout=log, stderr=log))
        stack.callback(gnome.stop)
        gnome.start()
        yield gnome
