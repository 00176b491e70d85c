"""Wayland: the session rule for every desktop, grim against a real headless sway, and the
one-line refusals (exit 2) where no backend can work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest
from helpers import bus
from helpers.procs import running
from helpers.sway import COLOURS, _rgb, session_bus
from helpers.system import require
from helpers.xscreen import REPO, write_config

from screenrecord import capture, config
from screenrecord.capture import session
from screenrecord.capture.grim import GrimBackend, sway_outputs, wlr_randr_outputs
from screenrecord.capture.portal import PortalBackend
from screenrecord.capture.screencast import app_scope
from screenrecord.errors import CaptureError, ConfigError

T = datetime(2026, 3, 10, 10, 0, 0)
PATH = os.environ.get("PATH", "/usr/bin:/bin")


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({"DISPLAY": ":0"}, "mss"),
        ({"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/run/user/1000/sway-ipc.sock"}, "grim"),
        ({"WAYLAND_DISPLAY": "wayland-1", "HYPRLAND_INSTANCE_SIGNATURE": "abc"}, "grim"),
        ({"WAYLAND_DISPLAY": "wayland-1", "XDG_CURRENT_DESKTOP": "river"}, "grim"),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "KDE", "DISPLAY": ":0"}, "portal"),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, "screencast"),
    ],
)
def test_auto_picks_the_backend_by_session(env, backend):
    assert session.choose(env, "linux").backend == backend
    assert session.choose(env, "darwin").backend == "mss"
    assert session.choose(env, "win32").backend == "mss"


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "Cosmic", "DISPLAY": ":0"},
            "Wayland session (wayland-0) of Cosmic: no capture backend is known to work",
        ),
        (
            {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
            "Wayland session (wayland-0) of an unknown desktop (XDG_CURRENT_DESKTOP is not "
            "set): no capture backend is known to work",
        ),
    ],
)
def test_a_wayland_session_never_falls_back_to_xwayland(env, said):
    """DISPLAY is set (XWayland), yet auto refuses: XWayland shows X11 windows only."""
    with pytest.raises(CaptureError) as e:
        capture.check_session(env, "linux")
    assert str(e.value).startswith(said)
    assert "\n" not in str(e.value)
    # Asked for by name, mss reads XWayland; grim is tried (and says what it lacks).
    capture.check_session(env, "linux", setting="mss")
    lacking = session.problem({**env, "PATH": "/nonexistent"}, "linux", "grim") or ""
    assert "grim not found" in lacking


def test_each_backend_says_what_it_lacks():
    sway = {"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/s", "PATH": "/nonexistent"}
    assert session.problem(sway, "linux") == (
        "sway on Wayland (wayland-1): grim not found; install grim "
        "(Debian, Ubuntu, Fedora, Arch: package grim)"
    )
    river = {"WAYLAND_DISPLAY": "w", "XDG_CURRENT_DESKTOP": "river", "PATH": "/nonexistent"}
    assert "grim not found" in (session.problem(river, "linux") or "")
    assert "without an X display" in (session.problem(sway, "linux", "mss") or "")
    assert "needs a Wayland session" in (session.problem({"DISPLAY": ":0"}, "linux", "grim") or "")
    assert "readable by every user" in (
        session.problem({**sway, "PATH": PATH}, "linux", "portal") or ""
    )
    kde = {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "KDE"}
    assert session.problem(kde, "linux") == (
        "KDE Plasma on Wayland (wayland-0): no session bus (DBUS_SESSION_BUS_ADDRESS is not "
        "set) to reach the desktop portal; run screenrecord inside your graphical session"
    )
    assert session.problem({**kde, "DBUS_SESSION_BUS_ADDRESS": "unix:path=/b"}, "linux") is None


def test_output_listings():
    listed = b"""[{"name": "DP-10", "active": true, "rect": {"x": 0, "y": 0},
                   "current_mode": {"width": 2560, "height": 1440}, "transform": "90"},
                  {"name": "eDP-1", "active": false, "rect": {"x": 0, "y": 0},
                   "current_mode": {"width": 1920, "height": 1080}}]"""
    assert [(o.name, o.width, o.height) for o in sway_outputs(listed)] == [("DP-10", 1440, 2560)]
    randr = b"""[{"name": "HDMI-A-1", "enabled": true, "position": {"x": 1920, "y": 0},
                  "modes": [{"width": 1280, "height": 720, "current": false},
                            {"width": 3840, "height": 2160, "current": true}],
                  "transform": "normal", "scale": 2.0}]"""
    assert [(o.x, o.width) for o in wlr_randr_outputs(randr)] == [(1920, 3840)]
    with pytest.raises(ValueError, match="wlr-randr prints it from version 0.3"):
        wlr_randr_outputs(b'HDMI-A-1 "Some monitor"\n  Enabled: yes\n')


def test_grim_reads_every_output_at_its_physical_size(sway_session):
    env = {**sway_session.env, "PATH": PATH}
    assert session.choose(env, "linux").backend == "grim"
    capture.check_session(env, "linux")
    # Named in order, placed in the layout; HEADLESS-2 (scale 2) has 800x600 physical pixels.
    assert capture.monitors(env) == [
        capture.Monitor(1, 0, 0, 640, 480),
        capture.Monitor(2, 640, 0, 800, 600),
    ]
    sway_session.paint("HEADLESS-2", "#102080")
    shots, failures = capture.grab(env, T)
    assert failures == []
    assert [(s.frame.monitor, s.frame.name) for s in shots] == [
        (1, "2026-03-10_10.00.00.000000_1.png"),
        (2, "2026-03-10_10.00.00.000000_2.png"),
    ]
    one, two = (s.frame.image for s in shots)
    assert isinstance(one, np.ndarray) and one.shape == (480, 640, 3) and one.dtype == np.uint8
    assert (one == _rgb(COLOURS["HEADLESS-1"])).all()
    assert two.shape == (600, 800, 3) and (two == _rgb("#102080")).all()
    only2, _ = capture.grab(env, T, wanted=[2], ext="webp")
    assert [(s.monitor.number, s.frame.name[-7:]) for s in only2] == [(2, "_2.webp")]


def test_outside_sway_outputs_come_from_wlr_randr_json(sway_session, tmp_path):
    """Without SWAYSOCK grim's outputs come from `wlr-randr --json`; Debian 12's wlr-randr
    (0.2) has no --json: the start is refused, saying so."""
    require("wlr-randr", "wlr-randr")
    env = {"WAYLAND_DISPLAY": sway_session.env["WAYLAND_DISPLAY"], "XDG_CURRENT_DESKTOP": "sway"}
    code, lines = _refused(env, "once", tmp_path)
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].endswith(
        "wlr-randr is too old for --json (wlr-randr lists outputs as JSON from version 0.3); "
        "install a newer wlr-randr"
    ), lines


def test_a_compositor_that_went_away_is_a_capture_error(sway_session):
    env = {**sway_session.env, "PATH": PATH}
    with GrimBackend(env, "linux") as backend:
        assert len(backend.monitors()) == 2
        sway_session.stop()
        with pytest.raises(CaptureError, match=r"sway on Wayland \(.*\): cannot list the outputs"):
            backend.grab(T)


def _refused(env: dict[str, str], command: str, tmp_path) -> tuple[int, list[str]]:
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "SWAYSOCK")
        and not k.startswith("DBUS_")
    }
    r = subprocess.run(
        [sys.executable, "-m", "screenrecord", command, "--config", str(cfg)],
        env={**base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return r.returncode, [line for line in r.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME", "DISPLAY": ":0"},
            "GNOME on Wayland (wayland-0): no session bus (DBUS_SESSION_BUS_ADDRESS is not set) "
            "to reach GNOME Shell",
        ),
        (
            {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "KDE"},
            "KDE Plasma on Wayland (wayland-0): no session bus",
        ),
        (
            {"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/s", "PATH": "/nonexistent"},
            "sway on Wayland (wayland-1): grim not found; install grim",
        ),
    ],
)
@pytest.mark.parametrize("command", ["once", "run"])
def test_refusals_are_one_line_and_exit_2(env, said, command, tmp_path):
    code, lines = _refused(env, command, tmp_path)
    assert code == 2, lines
    assert len(lines) == 1 and said in lines[0], lines
    assert not (tmp_path / "archive").exists()


def test_status_shows_the_backend_or_the_refusal(tmp_path, sway_session):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    run = lambda env: subprocess.run(  # noqa: E731 - two calls, one spelling
        [sys.executable, "-m", "screenrecord", "status", "--config", str(cfg)],
        env={**{k: v for k, v in os.environ.items() if k not in ("DISPLAY",)}, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    gnome = run({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME"})
    line = next(x for x in gnome.stdout.splitlines() if x.startswith("capture"))
    assert line.startswith("capture     refused: GNOME on Wayland (wayland-0): no session bus")
    bus = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    gnome = run({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME", **bus})
    line = next(x for x in gnome.stdout.splitlines() if x.startswith("capture"))
    assert line == (
        "capture     screencast (chosen), GNOME on Wayland (wayland-0); "
        "approval needed: run `screenrecord setup`"
    )
    ok = run(sway_session.env)
    line = next(x for x in ok.stdout.splitlines() if x.startswith("capture"))
    assert (
        line
        == f"capture     grim (chosen), sway on Wayland ({sway_session.env['WAYLAND_DISPLAY']})"
    )


def test_portal_screenshot_is_read_and_its_file_removed_at_once(sway_session, tmp_path):
    """xdg-desktop-portal + -wlr (+ -gtk for Access) on headless sway: the D-Bus round trip of a
    non-interactive Screenshot. auto never picks it on wlroots (the file it writes is readable
    by all), so the backend is opened directly here."""
    with session_bus(tmp_path, sway_session.env) as env:
        with pytest.raises(CaptureError, match="readable by every user"):
            PortalBackend.check(env, "linux")
        with PortalBackend(env, "linux") as backend:
            shots, failures = backend.grab(T)
            assert failures == []
            (shot,) = shots
            # The whole layout at the greatest output scale (2): 2 x (640 + 400) by 2 x 480.
            assert shot.monitor == capture.Monitor(1, 0, 0, 2080, 960)
            image = shot.frame.image
            assert (image[:960, :1280] == _rgb(COLOURS["HEADLESS-1"])).all()
            assert (image[:600, 1280:] == _rgb(COLOURS["HEADLESS-2"])).all()
            assert not os.path.exists("/tmp/out.png")  # the portal's file, removed at once
            assert backend.monitors() == [shot.monitor]


def test_a_kde_session_without_its_portal_is_refused_at_start(tmp_path):
    with session_bus(tmp_path, {"WAYLAND_DISPLAY": "wayland-0"}, portal=False) as env:
        code, lines = _refused({**env, "XDG_CURRENT_DESKTOP": "KDE"}, "once", tmp_path)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert (
        "KDE Plasma on Wayland (wayland-0): the desktop portal's Screenshot is not available "
        "(org.freedesktop.DBus.Error.ServiceUnknown)" in lines[0]
    ), lines


def test_capture_backend_is_validated_and_overrides_auto(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[capture]\nbackend = "x11"\n')
    with pytest.raises(ConfigError, match=r"capture.backend: 'x11' is not one of: auto, mss, grim"):
        config.load(bad)
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive", capture__backend='"mss"')
    sway = {"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/s"}  # auto would pick grim
    r = subprocess.run(
        [sys.executable, "-m", "screenrecord", "once", "--config", str(cfg)],
        env={**{k: v for k, v in os.environ.items() if k != "DISPLAY"}, **sway},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert 'Wayland session (wayland-1) without an X display: capture.backend = "mss"' in r.stderr


def test_gnome_without_its_portal_or_gstreamer_is_refused_in_one_line(tmp_path):
    """The screencast backend names what to install: gst-launch-1.0 (found on PATH before
    anything is asked), and the portal (asked on the session bus)."""
    gnome = {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME"}
    bare = {**gnome, "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent", "PATH": "/nonexistent"}
    assert session.problem(bare, "linux") == (
        "GNOME on Wayland (wayland-0): gst-launch-1.0 not found, which reads the screen cast's "
        "frames; install it (Debian, Ubuntu: gstreamer1.0-tools and gstreamer1.0-pipewire; "
        "Fedora: gstreamer1-plugins-base-tools and pipewire-gstreamer)"
    )
    require("gstreamer1.0-tools", "gst-launch-1.0")
    with session_bus(tmp_path, {"WAYLAND_DISPLAY": "wayland-0"}, portal=False) as env:
        code, lines = _refused({**env, "XDG_CURRENT_DESKTOP": "GNOME"}, "once", tmp_path)
    assert code == 2, lines
    assert lines == [
        "screenrecord: GNOME on Wayland (wayland-0): no desktop portal on the session bus "
        "(org.freedesktop.DBus.Error.ServiceUnknown); install xdg-desktop-portal and "
        "xdg-desktop-portal-gnome"
    ]


def test_setup_knows_the_app_id_the_portal_would_give_it():
    """xdg-desktop-portal takes a host program's app id from its systemd scope
    (`app-[launcher-]<ID>-<RANDOM>.scope`); the daemon's screenrecord.service has none."""
    assert (
        app_scope(
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
            "app-gnome-org.gnome.Terminal-4242.scope\n"
        )
        == "org.gnome.Terminal"
    )
    assert app_scope("0::/user.slice/user@1000.service/app.slice/app-firefox-77.scope") == "firefox"
    for plain in (
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/screenrecord.service",
        "0::/user.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/"
        "vte-spawn-0f3c.scope",
        "0::/",
    ):
        assert app_scope(plain) is None


def test_gnome_with_a_portal_but_no_gnome_shell_is_one_line(tmp_path):
    """xdg-desktop-portal answers on the session bus, but GNOME Shell does not (a session bus
    of another session): one line saying so."""
    services = "/usr/share/dbus-1/services"
    names = ("org.freedesktop.portal.Desktop", "org.freedesktop.impl.portal.PermissionStore")
    require("xdg-desktop-portal", files=tuple(f"{services}/{n}.service" for n in names))
    require("dbus-daemon", "dbus-daemon")
    require("gstreamer1.0-tools", "gst-launch-1.0")
    folder, runtime = tmp_path / "services", tmp_path / "runtime"
    folder.mkdir()
    runtime.mkdir(mode=0o700)
    for name in names:  # only the portal itself (and its permission store) can start
        shutil.copy(f"{services}/{name}.service", folder)
    conf = bus.CONFIG.format(socket=runtime / "bus").replace(
        "</busconfig>", f"  <servicedir>{folder}</servicedir>\n</busconfig>"
    )
    (tmp_path / "bus.conf").write_text(conf)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CURRENT_DESKTOP": "GNOME"}
    argv = ["dbus-daemon", f"--config-file={tmp_path / 'bus.conf'}", "--nofork", "--nopidfile"]
    daemon = subprocess.Popen(
        [*argv, "--print-address=1"], env=env, stdout=subprocess.PIPE, text=True
    )
    with running(daemon):
        assert daemon.stdout is not None
        gnome = {
            "WAYLAND_DISPLAY": "wayland-0",
            "XDG_CURRENT_DESKTOP": "GNOME",
            "XDG_RUNTIME_DIR": str(runtime),
            "DBUS_SESSION_BUS_ADDRESS": daemon.stdout.readline().strip(),
        }
        code, lines = _refused(gnome, "once", tmp_path)
    assert code == 2, lines
    assert lines == [
        "screenrecord: GNOME on Wayland (wayland-0): GNOME's display configuration cannot be "
        "read (org.freedesktop.DBus.Error.ServiceUnknown); is GNOME Shell running in this "
        "session?"
    ]
