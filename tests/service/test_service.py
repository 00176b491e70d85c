"""Service files: rendered for every target, checked by the real tools, installed in a temp HOME,
and the command inside each one actually starts the daemon against a real X display."""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.system import require
from helpers.xscreen import screenrecord
from hypothesis import given
from hypothesis import strategies as st

from screenrecord import service
from screenrecord.capture import session
from screenrecord.service import Host

PYTHON = Path(sys.executable)
TARGETS = service.TARGETS


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user's HOME with the folders every such machine already has."""
    home = tmp_path / "home"
    for d in (
        ".config",
        "Library/LaunchAgents",
        "Library/Logs",
        "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup",
    ):
        (home / d).mkdir(parents=True)
    return home


def linux_host(home: Path, python: Path = PYTHON, **env: str) -> Host:
    base = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return Host("linux", {**base, **env}, python, os.getuid())


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root, with file contents (None for folders, link target for links)."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        if p.is_symlink():
            out[key] = os.readlink(p).encode()
        elif p.is_file():
            out[key] = p.read_bytes()
        else:
            out[key] = None
    return out


def odd_venv(tmp_path: Path) -> Path:
    """This venv's interpreter seen through a folder name with a space, `$`, `%` and `&`.

    A venv is found through the pyvenv.cfg next to the interpreter's folder, so a copy of that
    and a link to its lib/ make a working venv at an awkward path: the service files must quote it.
    """
    venv = Path(sys.prefix)
    odd = tmp_path / "my venv $HOME %h &amp"
    (odd / "bin").mkdir(parents=True)
    shutil.copy(venv / "pyvenv.cfg", odd / "pyvenv.cfg")
    (odd / "lib").symlink_to(venv / "lib")
    (odd / "bin" / "python").symlink_to(PYTHON)
    return odd / "bin" / "python"


# Rendering and the tools that check it ---------------------------------------------------------


def systemd_verify(unit: Path, runtime: Path) -> subprocess.CompletedProcess:
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}  # --user verify needs one, even offline
    return subprocess.run(
        ["systemd-analyze", "--user", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze absent (Debian package systemd)",
)
def test_generated_unit_passes_systemd_analyze_verify(tmp_path: Path, home: Path) -> None:
    python = odd_venv(tmp_path)
    config = tmp_path / "conf $dir %i 'q' \"d\" \\" / "config.toml"
    text = service.render("systemd", linux_host(home, python), config)
    unit = tmp_path / "units" / "screenrecord.service"
    unit.parent.mkdir()
    unit.write_text(text)
    r = systemd_verify(unit, tmp_path / "runtime")
    assert (r.returncode, r.stderr, r.stdout) == (0, "", "")
    assert service.command_of("systemd", text) == [
        str(python),
        "-m",
        "screenrecord",
        "run",
        "--config",
        str(config),
    ]
    for line in (
        "PartOf=graphical-session.target",
        "After=graphical-session.target",
        "WantedBy=graphical-session.target",
        "Restart=on-failure",
        "Nice=10",
        "IOSchedulingClass=idle",
    ):
        assert line in text.splitlines()


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze absent (Debian package systemd)",
)
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Nice=10", "Nicety=10"),  # unknown key: only a warning, still a failure here
        ("Restart=on-failure", "Restart=sometimes"),
        ("-m screenrecord", "-m\tscreenrecord\\"),  # broken quoting
    ],
)
def test_systemd_verify_catches_a_broken_unit(
    tmp_path: Path, home: Path, old: str, new: str
) -> None:
    text = service.render("systemd", linux_host(home)).replace(old, new)
    unit = tmp_path / "screenrecord.service"
    unit.write_text(text)
    r = systemd_verify(unit, tmp_path / "runtime")
    assert r.returncode != 0 or r.stderr


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze absent (Debian package systemd)",
)
def test_systemd_verify_catches_a_missing_interpreter(tmp_path: Path, home: Path) -> None:
    text = service.render("systemd", linux_host(home, tmp_path / "gone" / "python"))
    unit = tmp_path / "screenrecord.service"
    unit.write_text(text)
    r = systemd_verify(unit, tmp_path / "runtime")
    assert r.returncode != 0
    assert "is not executable" in r.stderr


def test_systemd_refuses_an_interpreter_path_it_cannot_run(home: Path) -> None:
    with pytest.raises(service.UsageError, match="plainer path"):
        service.render("systemd", linux_host(home, Path("/opt/it's/bin/python")))


def test_plist_has_the_keys_launchd_needs(tmp_path: Path, home: Path) -> None:
    python = odd_venv(tmp_path)
    config = tmp_path / "a&b <c>" / "config.toml"  # XML-special characters, escaped by plistlib
    host = Host("darwin", {"HOME": str(home)}, python, 501)
    plist = plistlib.loads(service.render("launchd", host, config).encode())
    logs = home / "Library" / "Logs" / "screenrecord"
    assert plist == {
        "Label": service.LABEL,
        "ProgramArguments": [str(python), "-m", "screenrecord", "run", "--config", str(config)],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 60,
        "ProcessType": "Background",
        "LowPriorityIO": True,
        "Nice": 10,
        "StandardOutPath": str(logs / "screenrecord.log"),
        "StandardErrorPath": str(logs / "screenrecord.log"),
    }
    assert Path(plist["ProgramArguments"][0]).is_absolute()


def test_repository_templates_are_real_files() -> None:
    """The templates a user reads in the repository are the ones install renders."""
    plist = plistlib.loads((service.TEMPLATES / "launchd" / f"{service.LABEL}.plist").read_bytes())
    assert plist["ProgramArguments"][1:] == ["-m", "screenrecord", "run"]
    assert "ExecStart=${exec_start}" in (service.TEMPLATES / "systemd" / service.UNIT).read_text()
    assert "Exec=${exec}" in (service.TEMPLATES / "systemd" / "screenrecord.desktop").read_text()
    assert "ARGV = ${argv}" in (service.TEMPLATES / "windows" / "screenrecord.pyw").read_text()


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate absent (Debian package desktop-file-utils)",
)
def test_autostart_entry_passes_desktop_file_validate(tmp_path: Path, home: Path) -> None:
    text = service.render("xdg", linux_host(home, odd_venv(tmp_path)), tmp_path / "c $x" / "c.toml")
    entry = tmp_path / "screenrecord.desktop"
    entry.write_text(text)
    r = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    broken = tmp_path / "broken.desktop"
    broken.write_text(text.replace("Type=Application", "Type=Program"))
    assert (
        subprocess.run(["desktop-file-validate", str(broken)], capture_output=True).returncode != 0
    )


@given(
    st.lists(
        st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1),
        min_size=1,
        max_size=5,
    )
)
def test_desktop_exec_quoting_round_trips(argv: list[str]) -> None:
    assert service.parse_desktop_exec(service.desktop_exec(argv)) == argv


def test_windows_launcher_is_python_that_names_pythonw(tmp_path: Path) -> None:
    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").write_bytes(b"")
    (scripts / "pythonw.exe").write_bytes(b"")
    host = Host(
        "win32",
        {"HOME": str(tmp_path), "APPDATA": str(tmp_path / "Roaming")},
        scripts / "python.exe",
    )
    text = service.render("windows", host)
    compile(text, "screenrecord.pyw", "exec")
    assert service.command_of("windows", text) == [
        str(scripts / "pythonw.exe"),
        "-m",
        "screenrecord",
        "run",
    ]
    startup = tmp_path / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
    assert service.layout("windows", host).file == startup / "screenrecord.pyw"


def test_wayland_is_refused_only_where_no_backend_can_work(home: Path) -> None:
    host = linux_host(home, WAYLAND_DISPLAY="wayland-0")  # no desktop named: nothing known works
    with pytest.raises(service.CaptureError, match=r"Wayland session \(wayland-0\) of an unknown"):
        service.refuse_unsupported("xdg", host, explicit=False)
    assert "Wayland" in (service.refuse_unsupported("xdg", host, explicit=True) or "")
    gnome = linux_host(home, WAYLAND_DISPLAY="w", DISPLAY=":0", XDG_CURRENT_DESKTOP="GNOME")
    with pytest.raises(service.CaptureError, match="GNOME on Wayland"):  # XWayland is no way out
        service.refuse_unsupported("systemd", gnome, explicit=False)
    assert service.refuse_unsupported("systemd", gnome, False, backend="mss") is None
    sway = linux_host(home, WAYLAND_DISPLAY="wayland-1", SWAYSOCK="/run/user/1000/sway.sock")
    require("grim", "grim")
    require("sway", "swaymsg")
    assert service.refuse_unsupported("systemd", sway, explicit=False) is None
    with pytest.raises(service.CaptureError, match="grim not found"):
        service.refuse_unsupported(
            "systemd", linux_host(home, **{**sway.env, "PATH": "/no"}), False
        )


def test_wayland_refusal_is_the_daemons_session_rule(home: Path) -> None:
    host = linux_host(home, WAYLAND_DISPLAY="wayland-0", XDG_CURRENT_DESKTOP="KDE")
    rule = session.problem(host.env, host.platform)
    assert rule is not None and "no session bus" in rule
    assert service.refuse_unsupported("systemd", host, explicit=True) == rule


def test_no_session_at_all_is_not_refused(home: Path) -> None:
    """Over ssh or on a console neither variable is set: the login session is unknown, so install
    goes ahead (the daemon's own check decides at login)."""
    for target in ("systemd", "xdg"):
        assert service.refuse_unsupported(target, linux_host(home), explicit=False) is None
    mac = Host("darwin", {"HOME": str(home), "WAYLAND_DISPLAY": "w"}, PYTHON)
    assert service.refuse_unsupported("launchd", mac, explicit=False) is None


@pytest.mark.parametrize(
    ("platform", "target", "notes"),
    [
        ("darwin", "launchd", []),
        ("win32", "windows", []),
        ("freebsd14", "xdg", ["platform freebsd14: using an XDG autostart entry"]),
    ],
)
def test_detect_outside_linux(home: Path, platform: str, target: str, notes: list[str]) -> None:
    assert service.detect(Host(platform, {"HOME": str(home)}, PYTHON)) == (target, notes)


def test_an_unknown_target_names_the_known_ones(home: Path) -> None:
    with pytest.raises(service.UsageError, match="'upstart': expected one of launchd, systemd"):
        service.layout("upstart", linux_host(home))


# Install and uninstall -------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_install_is_idempotent_and_uninstall_leaves_nothing(
    tmp_path: Path, home: Path, target: str
) -> None:
    host = linux_host(home)  # launchd and windows are not native here: files only
    before = snapshot(home)
    plan = service.install_plan(target, host, tmp_path / "config.toml", start=False)
    service.apply(plan)
    file = service.layout(target, host).file
    assert file.is_file()
    log = ["--log", str(service.layout(target, host).log)] if target == "xdg" else []
    assert service.daemon_argv(target, file.read_text()) == [
        str(PYTHON),
        "-m",
        "screenrecord",
        "run",
        "--config",
        str(tmp_path / "config.toml"),
        *log,  # no shell to redirect output: the daemon writes its log itself
    ]
    installed = snapshot(home)
    again = service.install_plan(target, host, tmp_path / "config.toml", start=False)
    assert again.writes == [] and again.mkdirs == []
    service.apply(again)
    assert snapshot(home) == installed
    assert [i.target for i in service.installed(host)] == [target]

    service.apply(service.uninstall_plan(target, host))
    assert snapshot(home) == before
    assert service.installed(host) == []


@pytest.mark.skipif(
    shutil.which("systemctl") is None, reason="systemctl absent (Debian package systemd)"
)
def test_systemd_install_enables_through_systemctl_without_a_user_session(home: Path) -> None:
    """No user bus here: `systemctl --user enable` still links the unit into the target's wants."""
    host = linux_host(home)
    plan = service.install_plan("systemd", host, start=True)
    if service.systemd_user_manager(service.runner_for(host))[0]:
        pytest.skip("a systemd user manager is running here; this test is for machines without one")
    assert plan.commands == [["systemctl", "--user", "enable", service.UNIT]]
    assert any("no systemd user session" in n for n in plan.notes)
    before = snapshot(home)
    service.apply(plan)  # the real systemctl, in the temporary HOME
    wants = home / ".config/systemd/user/graphical-session.target.wants" / service.UNIT
    assert wants.is_symlink()
    assert wants.resolve() == (home / ".config/systemd/user" / service.UNIT).resolve()
    [found] = service.installed(host, targets=["systemd"])
    assert (found.enabled, found.running) == (True, None)

    service.apply(service.uninstall_plan("systemd", host))
    assert snapshot(home) == before


@pytest.mark.skipif(
    shutil.which("systemctl") is None, reason="systemctl absent (Debian package systemd)"
)
def test_installing_systemd_replaces_our_xdg_entry_and_back(home: Path) -> None:
    """Never two ways to start at login (two daemons on one archive)."""
    host = linux_host(home)
    before = snapshot(home)
    xdg, unit = service.layout("xdg", host).file, service.layout("systemd", host).file
    service.apply(service.install_plan("xdg", host, start=False))
    plan = service.install_plan("systemd", host, start=False)
    assert f"replaces the xdg entry {xdg}" in plan.notes
    service.apply(plan)
    assert unit.is_file() and not xdg.exists()
    service.apply(service.install_plan("xdg", host, start=False))
    assert xdg.is_file() and not unit.exists()
    assert not (
        unit.parent / "graphical-session.target.wants"
    ).exists()  # disabled, not just deleted
    service.apply(service.uninstall_plan("xdg", host))
    assert snapshot(home) == before


def test_uninstall_never_touches_the_archive_or_other_files(tmp_path: Path, home: Path) -> None:
    host = linux_host(home)
    service.apply(service.install_plan("xdg", host, start=False))
    neighbour = home / ".config" / "autostart" / "other.desktop"
    neighbour.write_text("[Desktop Entry]\n")
    archive = home / "ScreenRecord" / "2024-05" / "2024-05-01" / "2024-05-01_10.00.00.000000_1.png"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"png")
    service.apply(service.uninstall_plan("xdg", host))
    assert neighbour.read_text() == "[Desktop Entry]\n"
    assert archive.read_bytes() == b"png"
    assert not service.layout("xdg", host).file.exists()


@pytest.mark.parametrize("target", TARGETS)
def test_install_and_uninstall_return_what_they_did(
    tmp_path: Path, home: Path, target: str
) -> None:
    config, _ = write_config(tmp_path)
    host = linux_host(home)
    file = service.layout(target, host).file
    before = snapshot(home)
    dry = service.install(host, config, target, start=False, dry_run=True)
    assert dry.exit_code == 0 and f"write {file}:" in dry.lines[0]
    assert snapshot(home) == before
    done = service.install(host, config, target, start=False)
    assert (done.exit_code, done.problem) == (0, None)
    assert f"wrote {file}" in done.lines and done.lines[-1] == f"installed: {file}"
    assert [i.target for i in service.installed(host)] == [target]
    gone = service.uninstall(host, target)
    assert gone.exit_code == 0 and f"removed {file}" in gone.lines
    assert snapshot(home) == before
    assert service.uninstall(host, target).lines == [f"not installed ({file})"]


def test_logs_are_the_last_lines_of_the_file_or_the_journal(home: Path) -> None:
    host = linux_host(home)
    log = service.layout("xdg", host).log
    assert log is not None
    missing = service.logs(host, "xdg", lines=3)
    assert missing.command is None and list(missing.lines) == [f"{log}: no log yet\n"]
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert list(service.logs(host, "xdg", lines=3).lines) == ["line 97\n", "line 98\n", "line 99\n"]
    journal = service.logs(host, "systemd", lines=3, follow=True)
    assert journal.command == [
        "journalctl",
        "--user",
        "-u",
        service.UNIT,
        "-n",
        "3",
        "--no-pager",
        "-f",
    ]
    with pytest.raises(service.UsageError, match="no service installed"):
        service.logs(host)


# The command inside each file starts the daemon -----------------------------------------------


def daemon_env(home: Path, display: str) -> dict[str, str]:
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DISPLAY": display}


def write_config(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "archive"
    config = tmp_path / "config.toml"
    config.write_text(f'root = "{root}"\ninterval_seconds = 1\n')
    return config, root


def wait_for_frame(root: Path, alive, timeout: float = 90) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frames = sorted(root.rglob("*_1.png")) if root.exists() else []
        if frames:
            return frames
        if not alive():
            return []
        time.sleep(0.2)
    return []


def pid_gone(pid: int, timeout: float = 30) -> bool:
    """Whether process `pid` has exited (a zombie counts: init reaps it when it gets to it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


@pytest.mark.parametrize("target", ["systemd", "launchd", "xdg"])
def test_command_from_the_generated_file_starts_the_daemon(
    tmp_path: Path, home: Path, xvfb_display: str, target: str
) -> None:
    config, root = write_config(tmp_path)
    host = linux_host(home, odd_venv(tmp_path))
    argv = service.command_of(target, service.render(target, host, config))
    assert Path(argv[0]).is_absolute()
    output = tmp_path / "output.txt"
    with (
        output.open("wb") as out,
        subprocess.Popen(
            argv, env=daemon_env(home, xvfb_display), stdout=out, stderr=out, start_new_session=True
        ) as proc,
    ):
        try:
            frames = wait_for_frame(root, lambda: proc.poll() is None)
            assert frames, f"no frame written; the daemon said: {output.read_text()}"
            assert frames[0].parent.parent.parent == root  # ROOT/YYYY-MM/YYYY-MM-DD/name
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(60)
    assert rc == 0
    if target == "xdg":  # its `run --log` sends the daemon's output to the log file
        assert (home / ".local/state/screenrecord/screenrecord.log").is_file()


def test_windows_launcher_starts_the_daemon_and_returns(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    """The .pyw runs under any Python: it starts the daemon detached and exits at once."""
    config, root = write_config(tmp_path)
    host = Host("linux", {"HOME": str(home)}, PYTHON)
    text = service.render("windows", host, config)
    launcher = tmp_path / "screenrecord.pyw"
    launcher.write_text(text)
    proc = subprocess.run(
        [sys.executable, str(launcher)], env=daemon_env(home, xvfb_display), timeout=60
    )
    assert proc.returncode == 0
    argv = service.command_of("windows", text)
    [pid] = service.daemon_pids(argv)
    try:
        assert wait_for_frame(root, lambda: not pid_gone(pid, 0)), "no frame written"
    finally:
        os.kill(pid, signal.SIGTERM)
    assert pid_gone(pid)
    assert (home / "AppData/Local/screenrecord/Logs/screenrecord.log").exists()


# The CLI -----------------------------------------------------------------------------------------


def cli(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess:
    base = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return screenrecord(*args, env={**base, **env}, timeout=120)


@pytest.mark.parametrize("target", TARGETS)
def test_dry_run_prints_files_and_changes_nothing(tmp_path: Path, home: Path, target: str) -> None:
    config, _ = write_config(tmp_path)
    before = snapshot(tmp_path)
    r = cli(["service", "install", "--target", target, "--config", str(config), "--dry-run"], home)
    assert r.returncode == 0, r.stderr
    assert snapshot(tmp_path) == before
    host = linux_host(home)
    assert f"write {service.layout(target, host).file}:" in r.stdout
    first = service.render(target, host, config).splitlines()[0]
    assert f"    {first}" in r.stdout
    r = cli(["service", "uninstall", "--target", target, "--dry-run"], home)
    assert r.returncode == 0, r.stderr
    assert "not installed" in r.stdout
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", TARGETS)
def test_cli_round_trip_in_a_temporary_home(tmp_path: Path, home: Path, target: str) -> None:
    config, _ = write_config(tmp_path)
    before = snapshot(home)
    install = ["service", "install", "--target", target, "--config", str(config), "--no-start"]
    r = cli(install, home)
    assert r.returncode == 0, r.stderr
    file = service.layout(target, linux_host(home)).file
    assert f"installed: {file}" in r.stdout and file.is_file()
    installed = snapshot(home)
    again = cli(install, home)
    assert again.returncode == 0 and "wrote" not in again.stdout
    assert snapshot(home) == installed
    r = cli(["service", "uninstall", "--target", target], home)
    assert r.returncode == 0, r.stderr
    assert f"removed {file}" in r.stdout
    assert snapshot(home) == before


def test_install_refuses_a_bad_config(tmp_path: Path, home: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("interval_seconds = -1\n")
    before = snapshot(home)
    r = cli(["service", "install", "--target", "xdg", "--config", str(config)], home)
    assert r.returncode == 2
    assert "interval_seconds" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert snapshot(home) == before


def test_install_at_login_starts_now_and_uninstall_stops_it(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    """Without a systemd user session (as here) install falls back to XDG autostart and says so;
    the daemon it starts captures, status sees it, and uninstall stops it and removes the entry."""
    config, root = write_config(tmp_path)
    before = snapshot(home)
    host = linux_host(home)
    if service.detect(host)[0] != "xdg":
        pytest.skip(
            "a systemd graphical session is running here; this test is for machines without one"
        )
    r = cli(["service", "install", "--config", str(config)], home, DISPLAY=xvfb_display)
    assert r.returncode == 0, r.stderr
    assert "XDG autostart" in r.stdout and "started the daemon" in r.stdout
    entry = service.layout("xdg", host).file
    [pid] = service.daemon_pids(service.daemon_argv("xdg", entry.read_text()))
    try:
        assert wait_for_frame(root, lambda: not pid_gone(pid, 0)), "no frame written"
        again = cli(["service", "install", "--config", str(config)], home, DISPLAY=xvfb_display)
        assert (
            again.returncode == 0 and "wrote" not in again.stdout and "started" not in again.stdout
        )
        st = cli(["status"], home)
        assert st.returncode == 0, st.stderr
        assert f"XDG autostart entry, enabled, running, pid {pid}" in st.stdout
        assert f"config      {config}" in st.stdout  # the service's config, not the default
        assert re.search(r"^monitor 1   \d+x\d+  \d\d:\d\d:\d\d ", st.stdout, re.MULTILINE)
        logs = cli(["service", "logs"], home)
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout.strip(), "the daemon's log is empty"
    finally:
        r = cli(["service", "uninstall"], home)
    assert r.returncode == 0, r.stderr
    assert f"stopped the running daemon (pid {pid})" in r.stdout
    assert pid_gone(pid)
    frames = snapshot(root)
    log_dir = home / ".local/state/screenrecord"
    assert {k for k in snapshot(home)} - set(before) == {
        ".local",
        ".local/state",
        ".local/state/screenrecord",
        ".local/state/screenrecord/screenrecord.log",
    }, "only the daemon's log is left (and kept on purpose)"
    assert f"logs kept in {log_dir}" in r.stdout
    assert snapshot(root) == frames and frames  # the archive is untouched
