"""What every service target shares: the machine (`Host`), where files go (`Layout`), the templates,
the commands run against a service manager, and what is found installed.

Nothing here knows one target from another; `target.py` holds the interface each one implements.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from screenrecord.errors import ScreenrecordError, UsageError

LABEL = "org.screenrecord.agent"
UNIT = "screenrecord.service"
LOG_NAME = "screenrecord.log"
TEMPLATES = Path(__file__).resolve().parents[2]
"""The repository root, which holds launchd/, systemd/ and windows/ (editable installs)."""


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

    @classmethod
    def this_machine(cls, environ: Mapping[str, str]) -> Host:
        """This process's machine, with the environment the caller read (the CLI's)."""
        uid = os.getuid() if hasattr(os, "getuid") else 0
        return cls(sys.platform, dict(environ), Path(sys.executable), uid)

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


@dataclass(frozen=True)
class Layout:
    """Where one target's files live."""

    file: Path
    """The one file install writes."""
    log: Path | None
    """Where the daemon's output goes (None: the journal)."""
    own_dirs: tuple[Path, ...] = ()
    """Folders install creates when missing and uninstall removes when empty, innermost last."""


def template(*parts: str) -> str:
    """A template's text: from the repository, else from the wheel's data files under the prefix."""
    path = TEMPLATES.joinpath(*parts)
    if not path.exists():
        path = Path(sys.prefix, "share", "screenrecord", *parts)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScreenrecordError(
            f"{path}: service template missing ({e.strerror}); reinstall screenrecord from its repository"
        ) from None


def key_value(text: str, key: str) -> str:
    """The value of a `Key=value` line (systemd units and desktop entries share the syntax)."""
    m = re.search(rf"^{key}=(.*)$", text, re.MULTILINE)
    if not m:
        raise ScreenrecordError(f"no {key}= line in the service file")
    return m.group(1)


def read(path: Path) -> str | None:
    """A service file's text, or None when there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


# Commands --------------------------------------------------------------------------------------

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def run(
    argv: Sequence[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
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
    with contextlib.suppress(OSError):
        yield from os.listdir(path)


# What is installed -----------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What a service manager says about an installed file (None where it cannot be asked)."""

    enabled: bool | None = True
    running: bool | None = None
    pids: tuple[int, ...] = ()
    detail: str = ""


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


@dataclass(frozen=True)
class Outcome:
    """What a service command did: the lines to show, and the problem that makes it fail."""

    lines: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.problem else 0
