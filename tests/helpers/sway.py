"""The one way tests start a real Wayland compositor: headless sway, with no X server at all.

Sway refuses to run as root, and CI runs as root: there sway runs as an unprivileged user of its
own (created when missing; the process switches to it, as runuser would), with a 0700
XDG_RUNTIME_DIR it owns, and screenrecord runs as root
against that session's sockets (root may open them; the test interpreter, under a folder only
root can read, need not be shared). As another user, sway simply runs as that user.

Outputs: HEADLESS-1 640x480 at scale 1, HEADLESS-2 an 800x600 mode at scale 2 (so 400x300 of
the layout: grim, and screenrecord, see its 800x600 physical pixels), each a solid colour drawn
by swaybg. A third output, HEADLESS-3 (1024x768), is configured for `add_output`.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import bus
from helpers.procs import stop
from helpers.system import claim, require, unavailable

USER = "screenrecord-sway"
"""The unprivileged user sway runs as when the tests run as root."""
SIZES = {"HEADLESS-1": (640, 480), "HEADLESS-2": (800, 600), "HEADLESS-3": (1024, 768)}
"""Physical pixels of each output the config sets."""
COLOURS = {"HEADLESS-1": "#203040", "HEADLESS-2": "#e0c020", "HEADLESS-3": "#30a060"}
"""Each output's first background."""

CONFIG = """\
output HEADLESS-1 mode 640x480 position 0 0 scale 1 bg {HEADLESS-1} solid_color
output HEADLESS-2 mode 800x600 position 640 0 scale 2 bg {HEADLESS-2} solid_color
output HEADLESS-3 mode 1024x768 position 1040 0 scale 1 bg {HEADLESS-3} solid_color
"""


class Sway:
    """A running headless sway; `env` is what a program needs to capture it."""

    def __init__(self, runtime: Path, user: str | None) -> None:
        self.runtime = runtime
        self.user = user
        self.swaysock = runtime / "sway-ipc.sock"
        self.proc: subprocess.Popen | None = None
        self.log = runtime / "sway.log"

    @property
    def env(self) -> dict[str, str]:
        """WAYLAND_DISPLAY as an absolute path (libwayland takes one), SWAYSOCK for swaymsg."""
        return {"WAYLAND_DISPLAY": str(self._socket()), "SWAYSOCK": str(self.swaysock)}

    def start(self, outputs: int = 2) -> None:
        """Start sway with `outputs` headless outputs; back once every one shows its colour."""
        assert self.proc is None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.runtime),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "SWAYSOCK": str(self.swaysock),
            "WLR_BACKENDS": "headless",
            "WLR_RENDERER": "pixman",
            "WLR_LIBINPUT_NO_DEVICES": "1",
            "WLR_HEADLESS_OUTPUTS": str(outputs),
        }
        argv = ["sway", "-c", str(self.runtime / "config")]
        # As root, the process drops to the user itself (not through runuser, which holds a
        # SIGTERM for two seconds before passing it on).
        as_user: dict = {}
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.runtime,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                **as_user,
            )
        names = [f"HEADLESS-{n}" for n in range(1, outputs + 1)]
        self._wait(lambda: self._shows(names), f"{outputs} outputs showing their colours")

    def stop(self) -> None:
        """End sway (SIGTERM), and wait until its Wayland socket is gone."""
        if self.proc is not None:
            proc, self.proc = self.proc, None
            stop(proc, timeout=10)
            self._wait(lambda: not list(self.runtime.glob("wayland-*.lock")), "sway's socket gone")

    def msg(self, *args: str) -> str:
        """Run `swaymsg` against this sway; its stdout."""
        r = subprocess.run(
            ["swaymsg", "-s", str(self.swaysock), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert r.returncode == 0, f"swaymsg {args}: {r.stdout}{r.stderr}"
        return r.stdout

    def outputs(self) -> list[dict]:
        return [o for o in json.loads(self.msg("-t", "get_outputs", "-r")) if o["active"]]

    def paint(self, output: str, colour: str) -> None:
        """Give `output` a new solid background; back once it shows."""
        self.msg("output", output, "bg", colour, "solid_color")
        self._wait(lambda: self._colour(output) == _rgb(colour), f"{output} showing {colour}")

    def add_output(self) -> str:
        """A new headless output (`create_output`); its name, once it shows its colour."""
        before = {o["name"] for o in self.outputs()}
        self.msg("create_output")
        self._wait(lambda: {o["name"] for o in self.outputs()} - before, "a new output")
        (name,) = {o["name"] for o in self.outputs()} - before
        self._wait(lambda: self._shows([name]), f"{name} showing its colour")
        return name

    def _socket(self) -> Path:
        found = sorted(p for p in self.runtime.glob("wayland-*") if p.suffix != ".lock")
        assert found, f"sway has no Wayland socket in {self.runtime}"
        return found[0]

    def _shows(self, names: list[str]) -> bool:
        if not self.swaysock.exists() or not list(self.runtime.glob("wayland-*.lock")):
            return False
        try:
            active = {o["name"] for o in self.outputs()}
        except AssertionError:
            return False
        return set(names) <= active and all(
            self._colour(n) == _rgb(COLOURS[n]) for n in names if n in COLOURS
        )

    def _colour(self, output: str) -> tuple[int, int, int] | None:
        """The colour of the output's top-left pixel, through grim (None if it cannot be read)."""
        r = subprocess.run(
            ["grim", "-o", output, "-t", "ppm", "-"],
            env={**os.environ, **self.env},
            capture_output=True,
            timeout=10,
        )
        if r.returncode != 0 or not r.stdout:
            return None
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(r.stdout)) as im:
            pixel = im.convert("RGB").getpixel((0, 0))
        assert isinstance(pixel, tuple)
        return (pixel[0], pixel[1], pixel[2])

    def _wait(self, ready, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"sway exited {self.proc.returncode}: {self.log.read_text()}")
            if ready():
                return
            time.sleep(0.05)
        raise AssertionError(
            f"no {what} after {timeout}s; sway said: {self.log.read_text()[-2000:]}"
        )


@contextmanager
def running(outputs: int = 2, config: str | None = None) -> Iterator[Sway]:
    """Headless sway with `outputs` outputs (see the module's docstring), stopped on leaving;
    `config` replaces the outputs' configuration (give them the backgrounds of COLOURS)."""
    claim("compositor", "a Wayland compositor")
    require("sway", "sway", "swaymsg")
    require("swaybg", "swaybg")
    require("grim", "grim")
    user = _user() if os.geteuid() == 0 else None
    runtime = Path(tempfile.mkdtemp(prefix="screenrecord-sway-"))  # 0700, in a folder all can reach
    sway = Sway(runtime, user)
    try:
        (runtime / "config").write_text(CONFIG.format(**COLOURS) if config is None else config)
        if user is not None:
            entry = pwd.getpwnam(user)
            for p in (runtime, runtime / "config"):
                os.chown(p, entry.pw_uid, entry.pw_gid)
        sway.start(outputs)
        yield sway
    finally:
        sway.stop()
        shutil.rmtree(runtime, ignore_errors=True)


def _portal_wlr(tmp: Path, env: dict[str, str], tries: int = 5) -> subprocess.Popen:
    """xdg-desktop-portal-wlr, started before the portal that would start it, and up once it
    exports its Screenshot object.

    Against headless sway 1.7, xdg-desktop-portal-wlr 0.7 hangs now and then (about one start
    in four here) in its second Wayland round trip, right after "registry listeners run",
    holding its bus name: the portal then waits on it for good. That start is ended and
    another made, so that the tests judge screenrecord's side of the call.
    """
    program = "/usr/libexec/xdg-desktop-portal-wlr"
    for _ in range(tries):
        with (tmp / "xdg-desktop-portal-wlr.log").open("ab") as log:
            wlr = subprocess.Popen([program], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and wlr.poll() is None:
            if "org.freedesktop.impl.portal.Screenshot" in _introspect(env):
                return wlr
            time.sleep(0.05)
        stop(wlr, timeout=5)
    raise AssertionError(
        f"{program} never came up: {(tmp / 'xdg-desktop-portal-wlr.log').read_text()}"
    )


def _introspect(env: dict[str, str]) -> str:
    """xdg-desktop-portal-wlr's objects as it describes them ("" if it does not answer in 1 s)."""
    from jeepney import Introspectable
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    wlr = Introspectable(
        "/org/freedesktop/portal/desktop", bus_name="org.freedesktop.impl.portal.desktop.wlr"
    )
    with open_dbus_connection(bus=env["DBUS_SESSION_BUS_ADDRESS"]) as conn:
        try:
            reply = conn.send_and_get_reply(wlr.Introspect(), timeout=1)
            return unwrap_msg(reply)[0]
        except (TimeoutError, DBusErrorResponse):
            return ""


def _user() -> str:
    """The unprivileged user sway runs as, created when missing (needs root)."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        r = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            unavailable(f"cannot create the user {USER} for sway ({r.stderr.strip()})")
    return USER


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


SERVICES = "/usr/share/dbus-1/services"
PORTAL_SERVICES = (
    "org.freedesktop.portal.Desktop.service",
    "org.freedesktop.impl.portal.desktop.wlr.service",
    "org.freedesktop.impl.portal.desktop.gtk.service",
    "org.freedesktop.impl.portal.PermissionStore.service",
)
"""The D-Bus services a non-interactive Screenshot needs on sway (Access comes from -gtk)."""


@contextmanager
def session_bus(tmp: Path, env: dict[str, str], portal: bool = True) -> Iterator[dict[str, str]]:
    """A private session bus for a program capturing `env`'s session; yields `env` with
    DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR (a 0700 folder of ours) added.

    With `portal`, the system's D-Bus services can be activated on it (xdg-desktop-portal and
    its -wlr and -gtk backends, as on a sway desktop: XDG_CURRENT_DESKTOP=sway) and pipewire runs
    (xdg-desktop-portal-wlr exits without it); without, nothing answers on the bus but the bus.
    """
    require("dbus-daemon", "dbus-daemon", "dbus-update-activation-environment")
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700)
    full = {**os.environ, **env, "XDG_RUNTIME_DIR": str(runtime), "XDG_CURRENT_DESKTOP": "sway"}
    full.pop("DISPLAY", None)
    conf = bus.CONFIG.format(socket=runtime / "bus")
    if portal:
        require("xdg-desktop-portal", files=(f"{SERVICES}/{PORTAL_SERVICES[0]}",))
        require("xdg-desktop-portal-wlr", files=(f"{SERVICES}/{PORTAL_SERVICES[1]}",))
        require("xdg-desktop-portal-gtk", files=(f"{SERVICES}/{PORTAL_SERVICES[2]}",))
        require("pipewire", "pipewire")
        # Only the services the Screenshot call needs can be started: the document portal
        # (a FUSE mount) and the accessibility bus that -gtk asks for held up the portal's
        # start-up now and then.
        services = tmp / "services"
        services.mkdir()
        for name in PORTAL_SERVICES:
            shutil.copy(f"{SERVICES}/{name}", services / name)
        conf = conf.replace("</busconfig>", f"  <servicedir>{services}</servicedir>\n</busconfig>")
    (tmp / "bus.conf").write_text(conf)
    argv = ["dbus-daemon", f"--config-file={tmp / 'bus.conf'}"]
    daemon = subprocess.Popen(
        [*argv, "--nofork", "--nopidfile", "--print-address=1"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    helpers: list[subprocess.Popen] = []
    try:
        assert daemon.stdout is not None
        full["DBUS_SESSION_BUS_ADDRESS"] = daemon.stdout.readline().strip()
        if portal:
            with (tmp / "pipewire.log").open("wb") as log:
                helpers.append(subprocess.Popen(["pipewire"], env=full, stdout=log, stderr=log))
            # xdg-desktop-portal-wlr, started by the first call, hangs the portal when pipewire
            # is not listening yet: wait for its socket.
            deadline = time.monotonic() + 10
            while not (runtime / "pipewire-0").exists():
                assert time.monotonic() < deadline, (tmp / "pipewire.log").read_text()
                assert helpers[0].poll() is None, (tmp / "pipewire.log").read_text()
                time.sleep(0.02)
            variables = ["WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "XDG_RUNTIME_DIR"]
            subprocess.run(
                ["dbus-update-activation-environment", *variables], env=full, check=True, timeout=10
            )
            helpers.append(_portal_wlr(tmp, full))
        yield {**env, **{k: full[k] for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")}}
    finally:
        for p in helpers:
            stop(p, timeout=10)
        stop(daemon, timeout=10)  # the services it started leave with their bus
