"""Start the daemon at login: render the launchd/, systemd/ and windows/ templates, install them.

Everything here is decide-then-act: `install_plan` and `uninstall_plan` only describe the files
to write or remove and the commands to run; `apply` does it, and `--dry-run` prints the plan.
What the module needs to know about the machine (platform, environment, interpreter, uid) is
passed in as a `Host`, so every target can be rendered on any machine and tests can aim it at a
temporary HOME.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import plistlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from screenrecord.errors import CaptureError, ScreenrecordError, UsageError

log = logging.getLogger(__name__)

TARGETS = ("launchd", "systemd", "xdg", "windows")
LABEL = "org.screenrecord.agent"
UNIT = "screenrecord.service"
LOG_NAME = "screenrecord.log"
TEMPLATES = Path(__file__).resolve().parent.parent
"""The repository root, which holds launchd/, systemd/ and windows/ (editable installs)."""

_PLATFORM_TARGET = {"darwin": "launchd", "win32": "windows"}


@dataclass(frozen=True)
class Host:
    """The machine a service is rendered for or installed on."""

    platform: str
    """`sys.platform` of the machine running this code."""
    env: Mapping[str, str]
    python: Path
    """The interpreter screenrecord is installed in (`sys.executable`, not resolved: a venv's
    `bin/python` symlink is what makes the venv's packages visible)."""
    uid: int = 0

    @property
    def home(self) -> Path:
        home = self.env.get("HOME") or self.env.get("USERPROFILE")
        if not home:
            raise UsageError("HOME is not set: cannot tell where the service files go")
        return Path(home)

    def _xdg(self, var: str, default: str) -> Path:
        value = self.env.get(var, "")
        return Path(value) if os.path.isabs(value) else self.home / default

    @property
    def config_home(self) -> Path:
        return self._xdg("XDG_CONFIG_HOME", ".config")

    @property
    def state_home(self) -> Path:
        return self._xdg("XDG_STATE_HOME", ".local/state")

    def native(self, target: str) -> bool:
        """Whether `target` is this machine's own service manager (commands run only then)."""
        if target in ("systemd", "xdg"):
            return self.platform.startswith("linux")
        return _PLATFORM_TARGET.get(self.platform) == target


@dataclass(frozen=True)
class Layout:
    """Where one target's files live."""

    file: Path
    """The one file install writes."""
    log: Path | None
    """Where the daemon's output goes (None: the journal)."""
    own_dirs: tuple[Path, ...] = ()
    """Folders install creates when missing and uninstall removes when empty, innermost last."""


def layout(target: str, host: Host) -> Layout:
    """The paths of `target` for the user of `host`."""
    home = host.home
    if target == "launchd":
        logs = home / "Library" / "Logs" / "screenrecord"
        return Layout(
            home / "Library" / "LaunchAgents" / f"{LABEL}.plist", logs / LOG_NAME, (logs,)
        )
    if target == "systemd":
        systemd = host.config_home / "systemd"
        return Layout(systemd / "user" / UNIT, None, (systemd, systemd / "user"))
    if target == "xdg":
        autostart = host.config_home / "autostart"
        return Layout(
            autostart / "screenrecord.desktop",
            host.state_home / "screenrecord" / LOG_NAME,
            (autostart,),
        )
    if target == "windows":
        appdata = (
            Path(host.env["APPDATA"]) if host.env.get("APPDATA") else home / "AppData" / "Roaming"
        )
        local = (
            Path(host.env["LOCALAPPDATA"])
            if host.env.get("LOCALAPPDATA")
            else home / "AppData" / "Local"
        )
        startup = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
        return Layout(startup / "screenrecord.pyw", local / "screenrecord" / "Logs" / LOG_NAME)
    raise UsageError(f"--target {target!r}: expected one of {', '.join(TARGETS)}")


def run_argv(host: Host, config: Path | None, target: str = "") -> list[str]:
    """The daemon's command line: the interpreter itself, never a shell or a wrapper script."""
    python = host.python
    if target == "windows" and python.name.lower() == "python.exe":
        pythonw = python.with_name("pythonw.exe")  # the console-less interpreter next to it
        python = pythonw if pythonw.exists() or not host.native("windows") else python
    argv = [str(python), "-m", "screenrecord", "run"]
    if config is not None:
        argv += ["--config", str(config)]
    return argv


# Rendering -------------------------------------------------------------------------------------


def _template(*parts: str) -> str:
    path = TEMPLATES.joinpath(*parts)
    if not path.exists():  # installed from a wheel: data files under the prefix
        path = Path(sys.prefix, "share", "screenrecord", *parts)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScreenrecordError(
            f"{path}: service template missing ({e.strerror}); reinstall screenrecord from its repository"
        ) from None


def render(target: str, host: Host, config: Path | None = None) -> str:
    """The text of `target`'s service file, starting the daemon with `config`."""
    lay = layout(target, host)
    argv = run_argv(host, config, target)
    if target == "launchd":
        plist = plistlib.loads(_template("launchd", f"{LABEL}.plist").encode())
        plist["Label"] = LABEL
        plist["ProgramArguments"] = argv
        plist["StandardOutPath"] = plist["StandardErrorPath"] = str(lay.log)
        return plistlib.dumps(plist, sort_keys=False).decode()
    if target == "systemd":
        exec_start = systemd_exec_start(argv)
        return Template(_template("systemd", UNIT)).substitute(exec_start=exec_start)
    if target == "xdg":
        return Template(_template("systemd", "screenrecord.desktop")).substitute(
            exec=desktop_exec(xdg_argv(argv, lay.log))
        )
    if target == "windows":
        return Template(_template("windows", "screenrecord.pyw")).substitute(
            argv=repr(argv), log=repr(str(lay.log))
        )
    raise UsageError(f"--target {target!r}: expected one of {', '.join(TARGETS)}")


def xdg_argv(argv: Sequence[str], log_file: Path | None) -> list[str]:
    """An autostart entry has no log of its own: `sh` appends the daemon's output to a file.

    `exec` replaces the shell, so the running process is the interpreter itself.
    """
    assert log_file is not None
    folder = shlex.quote(str(log_file.parent))
    script = f"mkdir -p {folder} && exec {shlex.join(argv)} >>{shlex.quote(str(log_file))} 2>&1"
    return ["/bin/sh", "-c", script]


_SYSTEMD_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def systemd_exec_start(argv: Sequence[str]) -> str:
    """An ExecStart= value: `%` escaped everywhere, `$` in arguments, quoted where needed.

    systemd expands `$VAR` only in arguments, and refuses an executable path holding quotes or
    backslashes, whatever the quoting.
    """
    program, *args = argv
    if re.search(r"[\\\"'\x00-\x1f]", program):
        raise UsageError(
            f"{program}: systemd cannot start a program whose path holds quotes, backslashes or "
            "control characters; install screenrecord under a plainer path"
        )
    return " ".join(
        [_systemd_quote(program.replace("%", "%%"))]
        + [_systemd_quote(a.replace("%", "%%").replace("$", "$$")) for a in args]
    )


def _systemd_quote(arg: str) -> str:
    if _SYSTEMD_PLAIN.match(arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(argv: Sequence[str]) -> str:
    """An Exec= value per the Desktop Entry Specification (quoting, then string escapes)."""
    out = []
    for arg in argv:
        arg = arg.replace("%", "%%")
        if any(c in _DESKTOP_RESERVED for c in arg):
            arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
        out.append(arg)
    return " ".join(out).replace("\\", "\\\\")


def parse_desktop_exec(value: str) -> list[str]:
    """The argv of an Exec= value: the inverse of `desktop_exec`."""
    value = re.sub(r"\\(.)", r"\1", value)  # string escapes (\\ -> \)
    args, cur, quoted, i, any_ = [], [], False, 0, False
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and i + 1 < len(value):
            cur.append(value[i + 1])
            i += 2
            continue
        if c == '"':
            quoted, any_ = not quoted, True
        elif c == " " and not quoted:
            if cur or any_:
                args.append("".join(cur))
            cur, any_ = [], False
        else:
            cur.append(c)
        i += 1
    if cur or any_:
        args.append("".join(cur))
    return [a.replace("%%", "%") for a in args]


def command_of(target: str, text: str) -> list[str]:
    """The command line a rendered (or installed) service file starts."""
    if target == "launchd":
        return list(plistlib.loads(text.encode())["ProgramArguments"])
    if target == "systemd":
        program, *args = shlex.split(_key(text, "ExecStart"))
        return [program.replace("%%", "%")] + [
            a.replace("%%", "%").replace("$$", "$") for a in args
        ]
    if target == "xdg":
        return parse_desktop_exec(_key(text, "Exec"))
    if target == "windows":
        m = re.search(r"^ARGV = (.*)$", text, re.MULTILINE)
        if not m:
            raise ScreenrecordError("windows launcher: no ARGV line")
        return list(ast.literal_eval(m.group(1)))
    raise UsageError(f"--target {target!r}: expected one of {', '.join(TARGETS)}")


def daemon_argv(target: str, text: str) -> list[str]:
    """The daemon's own argv inside a service file (without the xdg entry's `sh -c`)."""
    argv = command_of(target, text)
    if target == "xdg" and argv[:2] == ["/bin/sh", "-c"]:
        script = shlex.split(argv[2])
        return script[
            script.index("exec") + 1 : script.index(next(a for a in script if a.startswith(">>")))
        ]
    return argv


def _key(text: str, key: str) -> str:
    m = re.search(rf"^{key}=(.*)$", text, re.MULTILINE)
    if not m:
        raise ScreenrecordError(f"no {key}= line in the service file")
    return m.group(1)


# Plans -----------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What install or uninstall will do, in order: mkdirs, writes, commands, removals."""

    target: str
    mkdirs: list[Path] = field(default_factory=list)
    writes: list[tuple[Path, str]] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    removes: list[Path] = field(default_factory=list)
    rmdirs: list[Path] = field(default_factory=list)
    """Removed only if empty when their turn comes."""
    spawn: list[str] | None = None
    """A daemon to start detached (XDG autostart and Windows have no manager to start it)."""
    stop: list[int] = field(default_factory=list)
    """Daemon processes to stop with SIGTERM (XDG autostart has no manager to stop them)."""
    after: list[list[str]] = field(default_factory=list)
    """Commands run once the files are gone (systemd's daemon-reload)."""
    notes: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    """The environment commands and the started daemon run in."""

    def describe(self) -> str:
        lines = [f"target: {self.target}"]
        lines += [f"create folder {d}" for d in self.mkdirs]
        for path, text in self.writes:
            lines.append(f"write {path}:")
            lines += [f"    {line}" for line in text.rstrip("\n").splitlines()]
        lines += [f"run {shlex.join(c)}" for c in self.commands]
        if self.spawn:
            lines.append(f"start {shlex.join(self.spawn)}")
        lines += [f"stop process {pid}" for pid in self.stop]
        lines += [f"remove {p}" for p in self.removes]
        lines += [f"remove folder {d} (if empty)" for d in self.rmdirs]
        lines += [f"run {shlex.join(c)}" for c in self.after]
        if not (
            self.mkdirs or self.writes or self.commands or self.spawn or self.stop or self.removes
        ):
            lines.append("nothing to do")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a service-manager command, capturing its output (never through a shell)."""
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=60, check=False, env=env
        )
    except FileNotFoundError:
        return subprocess.CompletedProcess(list(argv), 127, "", f"{argv[0]}: not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(argv), 124, "", f"{shlex.join(argv)}: timed out")


def runner_for(host: Host) -> Runner:
    """Commands run in the host's environment (its HOME, XDG dirs and user bus)."""
    env = dict(host.env)
    return lambda argv: run(argv, env)


def systemd_user_manager(runner: Runner) -> tuple[bool, str]:
    """Whether `systemctl --user` reaches a running user manager, and its environment or error."""
    if shutil.which("systemctl") is None:
        return False, "systemctl not found"
    r = runner(["systemctl", "--user", "show-environment"])
    if r.returncode == 0:
        return True, r.stdout
    return False, (r.stderr.strip().splitlines() or ["no user manager"])[-1]


def detect(host: Host, runner: Runner | None = None) -> tuple[str, list[str]]:
    """This machine's target, and notes saying why when it is not the obvious one."""
    runner = runner or runner_for(host)
    if host.platform in _PLATFORM_TARGET:
        return _PLATFORM_TARGET[host.platform], []
    if not host.platform.startswith("linux"):
        return "xdg", [f"platform {host.platform}: using an XDG autostart entry"]
    ok, why = systemd_user_manager(runner)
    if not ok:
        return "xdg", [f"no systemd user session ({why}): using an XDG autostart entry instead"]
    if host.env.get("DISPLAY"):
        active = runner(["systemctl", "--user", "is-active", "graphical-session.target"])
        if active.returncode != 0:
            return "xdg", [
                "this desktop does not start graphical-session.target: using an XDG autostart entry instead"
            ]
    return "systemd", []


def wayland_refusal(host: Host) -> str | None:
    """Why this Linux session cannot be captured (Wayland without X), or None.

    Same rule as the daemon's start-up check: XWayland (a DISPLAY in a Wayland session) is let
    through, and the daemon decides.
    """
    if host.env.get("WAYLAND_DISPLAY") and not host.env.get("DISPLAY"):
        return (
            f"Wayland session ({host.env['WAYLAND_DISPLAY']}) without an X display: screenrecord "
            "captures through X11; log in to an X11 (Xorg) session and run "
            "`screenrecord service install` there"
        )
    return None


def install_plan(
    target: str,
    host: Host,
    config: Path | None = None,
    start: bool = True,
    runner: Runner | None = None,
) -> Plan:
    """Files and commands that make the daemon start at login (and now, unless `start` is False).

    Idempotent: an identical file already in place is not rewritten, a running service is not
    restarted.
    """
    runner = runner or runner_for(host)
    lay = layout(target, host)
    text = render(target, host, config)
    plan = Plan(target, env=dict(host.env))
    other = {"systemd": "xdg", "xdg": "systemd"}.get(target)
    replacing = other is not None and host.native(target) and layout(other, host).file.exists()
    if replacing:
        # One way to start at login, never two daemons: drop our entry of the other kind first.
        prior = uninstall_plan(other, host, runner)
        plan.stop, plan.commands, plan.removes = prior.stop, prior.commands, prior.removes
        plan.rmdirs, plan.after = prior.rmdirs, prior.after
        plan.notes.append(f"replaces the {other} entry {layout(other, host).file}")
    plan.mkdirs = [d for d in (*lay.own_dirs, lay.file.parent) if not d.is_dir()]
    plan.mkdirs = sorted(set(plan.mkdirs), key=lambda p: len(p.parts))
    old = _read(lay.file)
    changed = old != text
    if changed:
        plan.writes.append((lay.file, text))
    if not host.native(target):
        plan.notes.append(
            f"rendered for {target} on {host.platform}: no service manager commands run"
        )
        return plan
    if target == "systemd":
        ok, env_or_why = systemd_user_manager(runner)
        if not ok:
            plan.commands.append(["systemctl", "--user", "enable", UNIT])
            plan.notes.append(
                f"no systemd user session ({env_or_why}): the unit is enabled and starts at your "
                "next graphical login, not now"
            )
            return plan
        present = [v for v in ("DISPLAY", "XAUTHORITY") if host.env.get(v)]
        imported = set(re.findall(r"^(\w+)=", env_or_why, re.MULTILINE))
        if present and not set(present) <= imported:
            plan.commands.append(["systemctl", "--user", "import-environment", *present])
        if changed:
            plan.commands.append(["systemctl", "--user", "daemon-reload"])
        plan.commands.append(["systemctl", "--user", "enable", *(["--now"] if start else []), UNIT])
        if changed and old is not None and start:
            plan.commands.append(["systemctl", "--user", "try-restart", UNIT])
    elif target == "launchd":
        domain = f"gui/{host.uid}"
        loaded = runner(["launchctl", "print", f"{domain}/{LABEL}"]).returncode == 0
        if loaded and changed:
            plan.commands.append(["launchctl", "bootout", f"{domain}/{LABEL}"])
        if (changed or not loaded) and start:
            plan.commands.append(["launchctl", "bootstrap", domain, str(lay.file)])
        plan.notes.append(macos_permission_note(host))
    elif start and not replacing and daemon_pids(daemon_argv(target, text)):
        plan.notes.append("the daemon is already running")
    elif start and target == "xdg" and not host.env.get("DISPLAY"):
        plan.notes.append("no DISPLAY here: the daemon starts at your next graphical login")
    elif start:
        # No manager starts an autostart entry before the next login: start it now, detached.
        plan.spawn = command_of(target, text)
        if target == "windows":
            plan.spawn = [run_argv(host, None, target)[0], str(lay.file)]  # pythonw: no console
    return plan


def uninstall_plan(target: str, host: Host, runner: Runner | None = None) -> Plan:
    """Stop the service and remove exactly what install created; the archive is never touched."""
    runner = runner or runner_for(host)
    lay = layout(target, host)
    plan = Plan(target, env=dict(host.env))
    text = _read(lay.file)
    if text is None:
        plan.notes.append(f"{lay.file}: not installed")
    if host.native(target):
        if target == "systemd" and text is not None:
            ok, _ = systemd_user_manager(runner)
            plan.commands.append(
                ["systemctl", "--user", "disable", *(["--now"] if ok else []), UNIT]
            )
        elif target == "launchd":
            domain = f"gui/{host.uid}/{LABEL}"
            if runner(["launchctl", "print", domain]).returncode == 0:
                plan.commands.append(["launchctl", "bootout", domain])
        elif target == "xdg" and text is not None:
            plan.stop = daemon_pids(daemon_argv(target, text))
        elif target == "windows" and text is not None:
            plan.notes.append(
                "a daemon already running keeps running until you log out "
                "(or end pythonw.exe in Task Manager)"
            )
    if text is not None:
        plan.removes.append(lay.file)
    plan.rmdirs = [d for d in reversed(lay.own_dirs) if d.is_dir()]
    if (
        target == "systemd"
        and host.native(target)
        and text is not None
        and systemd_user_manager(runner)[0]
    ):
        plan.after.append(["systemctl", "--user", "daemon-reload"])
    if lay.log is not None and lay.log.exists():
        plan.notes.append(f"logs kept in {lay.log.parent} (delete them if you like)")
    return plan


def apply(plan: Plan, runner: Runner | None = None) -> list[str]:
    """Carry out a plan; returns lines to show the user. A failing command stops it with an error."""
    runner = runner or (lambda argv: run(argv, plan.env))
    said: list[str] = []
    for d in plan.mkdirs:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path, text in plan.writes:
        _write_replace(path, text)
        said.append(f"wrote {path}")
    for pid in plan.stop:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            said.append(f"stopped the running daemon (pid {pid})")
    for argv in plan.commands:
        _check(runner, argv)
        said.append(f"ran {shlex.join(argv)}")
    for path in plan.removes:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            said.append(f"removed {path}")
    for d in plan.rmdirs:
        with contextlib.suppress(OSError):  # not empty: someone else's files live there too
            d.rmdir()
    for argv in plan.after:
        _check(runner, argv)
    if plan.spawn:
        subprocess.Popen(
            plan.spawn,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env=plan.env,
        )
        said.append("started the daemon")
    return said + [f"note: {n}" for n in plan.notes]


def _check(runner: Runner, argv: Sequence[str]) -> None:
    r = runner(argv)
    tries = 1
    while r.returncode != 0 and argv[:2] == ["launchctl", "bootstrap"] and tries < 5:
        # launchd finishes a bootout asynchronously; bootstrap fails (error 5 or 37) until then.
        time.sleep(1)
        r, tries = runner(argv), tries + 1
    if r.returncode != 0:
        why = (r.stderr or r.stdout).strip().splitlines() or [f"exit code {r.returncode}"]
        raise ScreenrecordError(f"{shlex.join(argv)} failed: {why[-1]}")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _write_replace(path: Path, text: str) -> None:
    """Write a service file atomically (temp file, fsync, rename); it may replace our older one."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def launchd_check(host: Host, runner: Runner | None = None, wait: float = 8) -> str | None:
    """After bootstrap: a line saying why the agent is not running (e.g. no permission), or None.

    The Screen Recording permission belongs to the program launchd starts, so only that program
    can tell whether it has it: its start-up check exits with code 2 and a message in the log.
    """
    runner = runner or runner_for(host)
    deadline = time.monotonic() + wait
    while True:
        r = runner(["launchctl", "print", f"gui/{host.uid}/{LABEL}"])
        code = re.search(r"last exit code = (\d+)", r.stdout)
        if code and code.group(1) != "0":
            lay = layout("launchd", host)
            said = (_read(lay.log) or "").strip().splitlines() if lay.log else []
            return f"the agent stopped (exit code {code.group(1)}): " + (
                said[-1] if said else "see the log"
            )
        if time.monotonic() >= deadline:
            return None
        time.sleep(1)


def macos_permission_note(host: Host) -> str:
    """What the user must allow in System Settings for captures to show more than the wallpaper."""
    program = os.path.realpath(host.python)
    return (
        "macOS asks once for the Screen Recording permission for "
        f"{program}; if captures show only the wallpaper, allow it in System Settings > "
        "Privacy & Security > Screen Recording (open it with: open "
        "'x-apple.systempreferences:com.apple.preference.security?Privacy_ScreenCapture'), "
        "then run `screenrecord service install` again"
    )


# State -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    """A service file found on disk, and what the service manager says about it."""

    target: str
    file: Path
    argv: list[str]
    enabled: bool | None
    running: bool | None
    """None where the manager cannot be asked."""
    pids: tuple[int, ...] = ()
    detail: str = ""

    @property
    def config(self) -> Path | None:
        if "--config" in self.argv[:-1]:
            return Path(self.argv[self.argv.index("--config") + 1])
        return None


def installed(
    host: Host, runner: Runner | None = None, targets: Sequence[str] = TARGETS
) -> list[Installed]:
    """The service files of `targets` present for this user, with their state where knowable."""
    runner = runner or runner_for(host)
    found = []
    for target in targets:
        lay = layout(target, host)
        text = _read(lay.file)
        if text is None:
            continue
        try:
            argv = daemon_argv(target, text)
        except (
            ScreenrecordError,
            ValueError,
            SyntaxError,
            KeyError,
            plistlib.InvalidFileException,
        ):
            argv = []
        enabled: bool | None = True
        running: bool | None = None
        pids: tuple[int, ...] = ()
        detail = ""
        if host.native(target) and target == "systemd":
            r = runner(["systemctl", "--user", "is-enabled", UNIT])
            enabled = r.stdout.strip() == "enabled"
            if systemd_user_manager(runner)[0]:
                r = runner(["systemctl", "--user", "is-active", UNIT])
                detail = r.stdout.strip()
                running = detail == "active"
            else:
                detail = "no systemd user session"
        elif host.native(target) and target == "launchd":
            r = runner(["launchctl", "print", f"gui/{host.uid}/{LABEL}"])
            enabled = r.returncode == 0
            m = re.search(r"^\s*state = (\S+)", r.stdout, re.MULTILINE)
            detail = m.group(1) if m else ("not loaded" if r.returncode else "")
            running = detail == "running"
            pid = re.search(r"^\s*pid = (\d+)", r.stdout, re.MULTILINE)
            pids = (int(pid.group(1)),) if pid else ()
        elif argv and host.native(target) and host.platform.startswith("linux"):
            pids = tuple(daemon_pids(argv))
            running = bool(pids)
        found.append(Installed(target, lay.file, argv, enabled, running, pids, detail))
    return found


def daemon_pids(argv: Sequence[str], proc: Path = Path("/proc")) -> list[int]:
    """Processes whose command line is exactly `argv` (Linux /proc; empty elsewhere)."""
    want = "\0".join(argv).encode() + b"\0"
    pids = []
    for entry in _listdir(proc):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if (proc / entry / "cmdline").read_bytes() == want:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def _listdir(path: Path) -> Iterator[str]:
    try:
        yield from os.listdir(path)
    except OSError:
        return


def logs_command(target: str, host: Host, lines: int, follow: bool) -> list[str] | Path:
    """The command that shows the service's log (systemd), or the log file to show."""
    if target == "systemd":
        return [
            "journalctl",
            "--user",
            "-u",
            UNIT,
            "-n",
            str(lines),
            "--no-pager",
            *(["-f"] if follow else []),
        ]
    lay = layout(target, host)
    assert lay.log is not None
    return lay.log


def refuse_unsupported(target: str, host: Host, explicit: bool) -> str | None:
    """Raise when this session cannot be captured at all; return a note when only a warning."""
    if target not in ("systemd", "xdg") or not host.native(target):
        return None
    why = wayland_refusal(host)
    if why and not explicit:
        raise CaptureError(why + " (or pass --target to install anyway)")
    return why
