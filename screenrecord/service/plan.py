"""Decide, then act: a `Plan` lists the folders, files and commands of an install or uninstall;
`describe` is what `--dry-run` prints and `apply` carries it out."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from screenrecord.archive import store
from screenrecord.errors import ScreenrecordError
from screenrecord.service.base import Runner, run


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


def apply(plan: Plan, runner: Runner | None = None) -> list[str]:
    """Carry out a plan; returns lines to show the user. A failing command stops it with an error."""
    env = plan.env
    runner = runner or (lambda argv: run(argv, env))
    said: list[str] = []
    for d in plan.mkdirs:
        store.make_dirs(d)  # 0700, the missing parents too; folders already there left alone
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
