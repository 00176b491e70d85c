"""`service install` in a Wayland session: what the unit gets of the session, what is refused,
and the command inside the generated unit capturing a real headless sway."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from screenrecord import service
from screenrecord.service import Host
from screenrecord.service.systemd import Systemd


def _host(home: Path, **env: str) -> Host:
    base = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return Host("linux", {**base, **env}, Path(sys.executable), os.getuid())


def test_the_unit_gets_the_wayland_session_as_it_gets_display(tmp_path):
    sway = _host(tmp_path, WAYLAND_DISPLAY="wayland-1", SWAYSOCK="/run/user/1000/sway-ipc.sock")
    unit = Systemd(sway)
    # A user manager that has not seen the session: its variables are imported at install.
    assert unit.to_import("HOME=/home/u\nPATH=/usr/bin\n") == ["WAYLAND_DISPLAY", "SWAYSOCK"]
    # One whose session script imported them (sway's and GNOME's do): nothing to import.
    assert unit.to_import("WAYLAND_DISPLAY=wayland-1\nSWAYSOCK=/run/user/1000/s\n") == []
    x11 = Systemd(_host(tmp_path, DISPLAY=":0", XAUTHORITY="/x"))
    assert x11.to_import("PATH=/usr/bin\n") == ["DISPLAY", "XAUTHORITY"]


def test_command_from_the_generated_unit_captures_sway(tmp_path, sway_session):
    root = tmp_path / "archive"
    config = tmp_path / "config.toml"
    config.write_text(f'root = "{root}"\ninterval_seconds = 1\n')
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    host = _host(home, **sway_session.env)
    assert service.refuse_unsupported("systemd", host, explicit=False) is None
    argv = service.command_of("systemd", service.render("systemd", host, config))
    # What systemd gives the unit once WAYLAND_DISPLAY and SWAYSOCK are imported; no DISPLAY.
    env = {"HOME": str(home), "PATH": host.env["PATH"], **sway_session.env}
    with subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True) as proc:
        try:
            deadline, found = time.monotonic() + 60, []
            while time.monotonic() < deadline and proc.poll() is None:
                found = sorted(p.name[-6:] for p in root.rglob("*.png")) if root.exists() else []
                if found == ["_1.png", "_2.png"]:
                    break
                time.sleep(0.2)
            assert found == ["_1.png", "_2.png"], proc.stderr.read() if proc.poll() else found
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_an_autostart_entry_on_sway_says_how_sway_can_start_it(tmp_path):
    """sway runs no XDG autostart entries: the plan says what to add to its config."""
    host = _host(tmp_path, WAYLAND_DISPLAY="wayland-1", SWAYSOCK="/run/user/1000/sway-ipc.sock")
    plan = service.install_plan("xdg", host, tmp_path / "config.toml", start=False)
    (note,) = [n for n in plan.notes if "XDG autostart" in n]
    command = service.command_of("xdg", plan.writes[0][1])
    assert note == (
        "sway does not run XDG autostart entries: to start screenrecord at login, add "
        f"`exec {shlex.join(command)}` to its config"
    )
