"""The one interface every service manager implements, and the plans built on top of it.

`install_plan`, `uninstall_plan` and `installed` are written once, here; a target only says
where its file goes, how it is rendered and read back, and which commands start and stop it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from screenrecord.capture import session
from screenrecord.errors import ScreenrecordError
from screenrecord.service.base import (
    Host,
    Installed,
    Layout,
    Outcome,
    Runner,
    State,
    daemon_pids,
    read,
    runner_for,
)
from screenrecord.service.plan import Plan

UNREADABLE = (ScreenrecordError, ValueError, SyntaxError, KeyError)
"""What reading the command back out of a damaged or foreign service file can raise."""


class Target(ABC):
    """One way to start the daemon at login (launchd, systemd, XDG autostart, Windows Startup)."""

    name: ClassVar[str]
    """What `--target` calls it."""
    title: ClassVar[str]
    """What `status` calls it."""
    rival: ClassVar[str | None] = None
    """Another target of the same machines that also starts the daemon at login: installing one
    removes the other, so that two daemons never write one archive."""
    needs_display: ClassVar[bool] = False
    """Whether the daemon it starts captures a Linux graphical session (X11 or Wayland), so
    that the session rule (session.problem) applies."""

    def __init__(self, host: Host) -> None:
        self.host = host

    @classmethod
    @abstractmethod
    def native(cls, host: Host) -> bool:
        """Whether this is a service manager of `host` (its commands are run only then)."""

    @abstractmethod
    def layout(self) -> Layout:
        """The paths of this target for the user of the host."""

    @abstractmethod
    def render(self, config: Path | None = None) -> str:
        """The text of the service file, starting the daemon with `config`."""

    @staticmethod
    @abstractmethod
    def command_of(text: str) -> list[str]:
        """The command line a rendered (or installed) service file starts."""

    @classmethod
    def daemon_argv(cls, text: str) -> list[str]:
        """The daemon's own argv inside a service file (without any wrapper around it)."""
        return cls.command_of(text)

    @abstractmethod
    def plan_start(
        self, plan: Plan, new: str, old: str | None, start: bool, replacing: bool, runner: Runner
    ) -> None:
        """Add to `plan` what makes the manager take up the file `new` (which replaces `old`)."""

    @abstractmethod
    def plan_stop(self, plan: Plan, text: str | None, runner: Runner) -> None:
        """Add to `plan` what makes the manager let go of the installed file `text` (None: none)."""

    def program(self) -> Path:
        """The interpreter the service starts."""
        return self.host.python

    def run_argv(self, config: Path | None) -> list[str]:
        """The daemon's command line: the interpreter itself, never a shell or a wrapper script."""
        argv = [str(self.program()), "-m", "screenrecord", "run"]
        if config is not None:
            argv += ["--config", str(config)]
        return argv

    def unusable(self, runner: Runner) -> str | None:
        """Why this native target cannot be used right now (detection then tries the next)."""
        return None

    def state(self, argv: Sequence[str], runner: Runner) -> State:
        """What the manager says about the installed service (asked only on a native host)."""
        return State()

    def log_command(self, lines: int, follow: bool) -> list[str] | None:
        """A command that shows the log, where the manager keeps it (else the layout's file)."""
        return None

    def check(self, runner: Runner) -> Outcome | None:
        """After install has run commands: whether the service really came up (None: no check)."""
        return None

    def session_problem(self, backend: str = "auto") -> str | None:
        """Why the daemon could not capture this session with `backend` (capture.backend), by
        the daemon's own rule, or None.

        Only a session we are in can be judged: outside one (ssh, a console) nothing is known
        about the session the service will start in, and install goes ahead.
        """
        return session.problem(self.host.env, self.host.platform, backend) if self._in() else None

    def session_needs(self, backend: str = "auto") -> str | None:
        """What the daemon's backend waits for in this session before it captures anything
        (GNOME's one approval), or None; judged only in a session we are in, as above, and
        one `session_problem` does not refuse."""
        return session.needs(self.host.env, self.host.platform, backend) if self._in() else None

    def _in(self) -> bool:
        """Whether this is a session of the desktop the service will capture."""
        if not (self.needs_display and self.native(self.host)):
            return False
        return session.desktop(self.host.env, self.host.platform).kind != "none"

    # Shared by every target --------------------------------------------------------------------

    def install_plan(
        self,
        config: Path | None = None,
        start: bool = True,
        runner: Runner | None = None,
        rival: Target | None = None,
    ) -> Plan:
        """Files and commands that make the daemon start at login (and now, unless `start` is
        False); `rival` is this machine's `rival` target, whose entry install replaces.

        Idempotent: an identical file already in place is not rewritten, a running service is not
        restarted.
        """
        runner = runner or runner_for(self.host)
        native = self.native(self.host)
        lay = self.layout()
        text = self.render(config)
        plan = Plan(self.name, env=dict(self.host.env))
        replacing = rival is not None and native and rival.layout().file.exists()
        if rival is not None and replacing:
            # One way to start at login, never two daemons: drop our entry of the other kind first.
            prior = rival.uninstall_plan(runner)
            plan.stop, plan.commands, plan.removes = prior.stop, prior.commands, prior.removes
            plan.rmdirs, plan.after = prior.rmdirs, prior.after
            plan.notes.append(f"replaces the {rival.name} entry {rival.layout().file}")
        plan.mkdirs = [d for d in (*lay.own_dirs, lay.file.parent) if not d.is_dir()]
        plan.mkdirs = sorted(set(plan.mkdirs), key=lambda p: len(p.parts))
        old = read(lay.file)
        if old != text:
            plan.writes.append((lay.file, text))
        if not native:
            plan.notes.append(
                f"rendered for {self.name} on {self.host.platform}: no service manager commands run"
            )
            return plan
        self.plan_start(plan, text, old, start, replacing, runner)
        return plan

    def uninstall_plan(self, runner: Runner | None = None) -> Plan:
        """Stop the service and remove exactly what install created; the archive is never touched."""
        runner = runner or runner_for(self.host)
        lay = self.layout()
        plan = Plan(self.name, env=dict(self.host.env))
        text = read(lay.file)
        if text is None:
            plan.notes.append(f"{lay.file}: not installed")
        if self.native(self.host):
            self.plan_stop(plan, text, runner)
        if text is not None:
            plan.removes.append(lay.file)
        plan.rmdirs = [d for d in reversed(lay.own_dirs) if d.is_dir()]
        if lay.log is not None and lay.log.exists():
            plan.notes.append(f"logs kept in {lay.log.parent} (delete them if you like)")
        return plan

    def installed(self, runner: Runner | None = None) -> Installed | None:
        """The service file, if present, with its state where the manager can be asked."""
        file = self.layout().file
        text = read(file)
        if text is None:
            return None
        try:
            argv = self.daemon_argv(text)
        except UNREADABLE:
            argv = []
        state = State()
        if self.native(self.host):
            state = self.state(argv, runner or runner_for(self.host))
        return Installed(
            self.name, file, argv, state.enabled, state.running, state.pids, state.detail
        )


class Autostart(Target):
    """A target with no manager to start or stop the daemon: install starts it, detached."""

    def spawn_argv(self, text: str) -> list[str]:
        """What install runs to start the daemon now."""
        return self.command_of(text)

    def cannot_start_now(self) -> str | None:
        """Why the daemon cannot be started from here (it starts at the next login), or None."""
        return None

    def plan_start(
        self, plan: Plan, new: str, old: str | None, start: bool, replacing: bool, runner: Runner
    ) -> None:
        if not start:
            return
        if not replacing and daemon_pids(self.daemon_argv(new)):
            plan.notes.append("the daemon is already running")
        elif why := self.cannot_start_now():
            plan.notes.append(why)
        else:
            plan.spawn = self.spawn_argv(new)

    def state(self, argv: Sequence[str], runner: Runner) -> State:
        if not argv or not self.host.platform.startswith("linux"):  # no /proc to look in
            return State()
        pids = tuple(daemon_pids(argv))
        return State(running=bool(pids), pids=pids)
