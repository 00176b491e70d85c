"""GNOME on Wayland, on a real headless GNOME Shell (helpers/gnome.py), one per module: the
mutter backend (GNOME's own ScreenCast), and the screencast backend (the ScreenCast portal)
before and after its one approval, given with pointer clicks on the portal's dialog."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.bus import logind
from helpers.gnome import SIZES, Gnome
from helpers.procs import running, stop
from helpers.system import require
from helpers.xscreen import REPO, write_config
from PIL import Image

from screenrecord.capture import activity, session
from screenrecord.capture.gnome import Bus

pytestmark = pytest.mark.gnome


def _env(gnome: Gnome) -> dict[str, str]:
    """The test's environment (its own HOME and XDG folders) inside the GNOME session."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SWAYSOCK") and not k.startswith("DBUS_")
    }
    return {**base, **gnome.session}


def _screenrecord(env: dict[str, str], *args: str, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "screenrecord", *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _frames(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.png") if not p.name.startswith("."))


def _sizes(paths: list[Path]) -> list[tuple[int, int]]:
    sizes = []
    for p in paths:
        with Image.open(p) as im:
            sizes.append(im.size)
    return sorted(sizes)


def test_mutter_once_writes_each_monitor_then_only_what_changed(gnome_session, tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive", capture__backend='"mutter"')
    env = _env(gnome_session)
    first = _screenrecord(env, "once", "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    assert _sizes(_frames(tmp_path / "archive")) == sorted(SIZES.values())
    again = _screenrecord(env, "once", "--config", str(cfg))
    assert again.returncode == 0, again.stderr
    assert len(_frames(tmp_path / "archive")) == 2, again.stdout
    gnome_session.paint("#a03020")
    changed = _screenrecord(env, "once", "--config", str(cfg))
    assert changed.returncode == 0, changed.stderr
    assert _sizes(_frames(tmp_path / "archive")) == sorted([*SIZES.values(), *SIZES.values()])


def test_the_daemon_with_mutter_keeps_only_changes(gnome_session, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'root = "{tmp_path / "archive"}"\ninterval_seconds = 2\n[capture]\nbackend = "mutter"\n'
    )
    _daemon_keeps_only_changes(gnome_session, _env(gnome_session), cfg, tmp_path, "#604020")


def test_auto_without_approval_says_to_run_setup(gnome_session, tmp_path):
    """Not refused: the screencast backend is chosen, and with no approval stored `once` (not on
    a terminal: no dialog) fails at once in one line naming `screenrecord setup`."""
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    env = _env(gnome_session)
    status = _screenrecord(env, "status", "--config", str(cfg))
    line = next(x for x in status.stdout.splitlines() if x.startswith("capture"))
    assert line == (
        "capture     screencast (chosen), GNOME on Wayland (wayland-0); "
        "approval needed: run `screenrecord setup`"
    )
    start = time.monotonic()
    once = _screenrecord(env, "once", "--config", str(cfg), timeout=30)
    assert time.monotonic() - start < 30
    lines = [x for x in once.stderr.splitlines() if x.strip()]
    assert once.returncode == 2, once
    assert lines == [
        "screenrecord: GNOME on Wayland (wayland-0): approval needed: run `screenrecord setup` "
        "(once, to allow screen capture)"
    ]
    assert _frames(tmp_path / "archive") == []
    # The tick is recorded as not captured, each monitor with the reason.
    status = _screenrecord(env, "status", "--config", str(cfg))
    line = next(x for x in status.stdout.splitlines() if x.startswith("last error"))
    assert line.endswith(
        "approval needed: run `screenrecord setup` (once, to allow screen capture)"
    ), status.stdout
    # Installing the service says so too (a dry run: nothing written).
    plan = _screenrecord(
        env, "service", "install", "--target", "systemd", "--dry-run", "--config", str(cfg)
    )
    assert plan.returncode == 0, plan
    assert (
        "note: approval needed: run `screenrecord setup`: until then the daemon records every "
        "tick as not captured"
    ) in plan.stdout.splitlines(), plan.stdout


def _daemon_keeps_only_changes(
    gnome: Gnome, env: dict[str, str], cfg: Path, tmp_path: Path, colour: str
) -> Path:
    """`screenrecord run` as a subprocess: a frame of each monitor at its size, nothing more
    while the screen stays the same (three ticks), a frame of each once the background turns
    `colour`; SIGTERM then exits 0. Its log."""
    log = tmp_path / "run.log"
    argv = [sys.executable, "-m", "screenrecord", "-vv", "run", "--config", str(cfg)]
    with log.open("w") as out:
        daemon = subprocess.Popen(argv, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stderr=out)
    archive = tmp_path / "archive"
    with running(daemon):
        _wait("a frame of each monitor", lambda: len(_frames(archive)) == 2, log)
        assert _sizes(_frames(archive)) == sorted(SIZES.values())
        ticks = lambda: log.read_text().count("monitor 2: duplicate")  # noqa: E731
        _wait("three unchanged ticks", lambda: ticks() >= 3, log)
        assert len(_frames(archive)) == 2, log.read_text()
        gnome.paint(colour)
        _wait("a new frame of each monitor", lambda: len(_frames(archive)) == 4, log)
        assert _sizes(_frames(archive)) == sorted([*SIZES.values(), *SIZES.values()])
        code, _ = stop(daemon)
    assert code == 0, log.read_text()
    return log


def _wait(what: str, ready, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"no {what} after {timeout}s: {log.read_text()}"
        time.sleep(0.2)


def test_setup_once_then_the_daemon_captures_with_no_dialog(gnome_session, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'root = "{tmp_path / "archive"}"\ninterval_seconds = 2\n')
    env = _env(gnome_session)
    argv = [sys.executable, "-m", "screenrecord", "setup", "--config", str(cfg)]
    setup, out, err = _answered(gnome_session, "setup", argv, env, stderr=subprocess.PIPE)
    assert setup.returncode == 0, err
    assert out.splitlines()[0].startswith('GNOME asks once: a "Screen Share" dialog opens now.')
    assert out.splitlines()[-1] == (
        "approved: Meta-0 1280x800, Meta-1 1024x768; `screenrecord run` (or the service) "
        "captures them from now on"
    )
    tokens = session.screencast_tokens(env)
    assert tokens.stat().st_mode & 0o777 == 0o600
    status = _screenrecord(env, "status", "--config", str(cfg))
    line = next(x for x in status.stdout.splitlines() if x.startswith("capture"))
    assert line == "capture     screencast (chosen), GNOME on Wayland (wayland-0)"

    log = _daemon_keeps_only_changes(gnome_session, env, cfg, tmp_path, "#30a060")
    assert "Screen Share" not in log.read_text()
    status = _screenrecord(env, "status", "--config", str(cfg))
    line = next(x for x in status.stdout.splitlines() if x.startswith("activity"))
    assert line.startswith(
        "activity    focused window not known (GNOME on Wayland (wayland-0) tells no program), "
        "idle "
    ), status.stdout

    # The grant names a monitor not connected now (as after undocking): no dialog is risked,
    # one line at once. Then the portal loses the grant (its entry deleted): the same.
    saved = tokens.read_bytes()
    (token,) = json.loads(saved)["tokens"].values()
    now = int(time.time() * 1e6)
    elsewhere = ("(xxa(uuv))", (now, now, [(0, 1, ("s", "GSM:LG HDR 4K:0x0003d1a2"))]))
    _store(
        gnome_session,
        "SetValue",
        "sbsv",
        "screencast",
        True,
        token,
        ("(suv)", ("GNOME", 1, elsewhere)),
    )
    for lose in ("undocked", "deleted"):
        if lose == "deleted":
            tokens.write_bytes(saved)
            _store(gnome_session, "Delete", "ss", "screencast", token)
        start = time.monotonic()
        once = _screenrecord(env, "once", "--config", str(cfg), timeout=30)
        assert once.returncode == 2, (lose, once)
        assert once.stderr.endswith(
            "approval needed: run `screenrecord setup` (once, to allow screen capture)\n"
        ), (lose, once.stderr)
        assert time.monotonic() - start < 10  # no dialog was shown and waited on
        status = _screenrecord(env, "status", "--config", str(cfg))
        line = next(x for x in status.stdout.splitlines() if x.startswith("capture"))
        assert line.endswith("; approval needed: run `screenrecord setup`"), (lose, line)


def test_once_from_a_terminal_asks_then_captures(gnome_session, tmp_path):
    """`once` with a person at a terminal (stdin a tty: util-linux's `script` gives it one) opens
    the Screen Share dialog where no approval is stored, then captures every monitor."""
    require("bsdutils", "script")
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive")
    command = shlex.join([sys.executable, "-m", "screenrecord", "once", "--config", str(cfg)])
    argv = ["script", "--quiet", "--return", "--command", command, "/dev/null"]
    once, out, _ = _answered(
        gnome_session, "once", argv, _env(gnome_session), stderr=subprocess.STDOUT
    )
    assert once.returncode == 0, out
    assert _sizes(_frames(tmp_path / "archive")) == sorted(SIZES.values()), out


def _answered(
    gnome: Gnome, what: str, argv: list[str], env: dict[str, str], stderr: int
) -> tuple[subprocess.Popen[str], str, str]:
    """Run `argv` (`what`, in a failure's message), answer the Screen Share dialog it opens by
    sharing every monitor, and wait for it: the process, its stdout and its stderr."""
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    with running(process):
        try:
            gnome.share_every_monitor()
        except AssertionError as e:
            raise AssertionError(f"{e}; {what} said {stop(process)}") from None
        out, err = process.communicate(timeout=30)
    return process, out, err or ""


def _store(gnome: Gnome, method: str, signature: str, *args: object) -> None:
    """A call to the portal's permission store (xdg-permission-store) on the session's bus."""
    store = "org.freedesktop.impl.portal.PermissionStore"
    with Bus(gnome.bus, "GNOME") as bus:
        bus.call(
            store, "/org/freedesktop/impl/portal/PermissionStore", store, method, signature, *args
        )


def test_the_gnome_reader_tells_idle_time_and_the_lock(gnome_session, tmp_path):
    """Idle from GNOME Shell's IdleMonitor, the lock from logind (a stand-in on a system bus);
    the windows are not known on GNOME's Wayland."""
    with logind(tmp_path) as login:
        env = {**gnome_session.session, "DBUS_SYSTEM_BUS_ADDRESS": login.address}
        reader = activity.open_reader(env, "linux")
        assert reader.name == "gnome"
        seen = reader.read()
        assert seen.idle_s is not None and seen.idle_s >= 0
        assert seen.locked is False and seen.title is None and seen.windows == ()
        login.lock(True)
        assert reader.read().locked is True


def test_without_pipewiresrc_the_package_is_named(gnome_session, tmp_path):
    """GStreamer with no plugins found (an empty plugin folder, a registry of its own): the
    grab fails in one line naming the package that has pipewiresrc."""
    cfg = write_config(tmp_path / "c.toml", tmp_path / "archive", capture__backend='"mutter"')
    (tmp_path / "plugins").mkdir()
    env = {
        **_env(gnome_session),
        "GST_PLUGIN_SYSTEM_PATH_1_0": str(tmp_path / "plugins"),
        "GST_REGISTRY_1_0": str(tmp_path / "registry.bin"),
    }
    env.pop("GST_PLUGIN_PATH_1_0", None)
    once = _screenrecord(env, "once", "--config", str(cfg))
    lines = [x for x in once.stderr.splitlines() if x.strip()]
    assert once.returncode == 2, once
    assert lines == [
        "screenrecord: GNOME on Wayland (wayland-0): GStreamer has no pipewiresrc, which reads "
        "the screen cast; install gstreamer1.0-pipewire (Debian, Ubuntu) or pipewire-gstreamer "
        "(Fedora)"
    ]
