"""Linux with a systemd user manager: a user unit tied to graphical-session.target."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path
from string import Template

from screenrecord.capture import session
from screenrecord.errors import UsageError
from screenrecord.service.base import UNIT, Host, Layout, Runner, State, key_value, template
from screenrecord.service.plan import Plan
from screenrecord.service.target import Target

SESSION_VARIABLES = (
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "XDG_CURRENT_DESKTOP",
    "SWAYSOCK",
    "HYPRLAND_INSTANCE_SIGNATURE",
)
"""What the daemon reads of the graphical session (session.py): imported into the user manager
at install where the desktop has not done it, as sway's and GNOME's session scripts do."""


class Systemd(Target):
    name = "systemd"
    title = "systemd user unit"
    rival = "xdg"
    needs_display = True

    @classmethod
    def native(cls, host: Host) -> bool:
        return host.platform.startswith("linux")

    def layout(self) -> Layout:
        systemd = self.host.config_home / "systemd"
        return Layout(systemd / "user" / UNIT, None, (systemd, systemd / "user"))

    def render(self, config: Path | None = None) -> str:
        exec_start = exec_start_of(self.run_argv(config))
        return Template(template("systemd", UNIT)).substitute(exec_start=exec_start)

    @staticmethod
    def command_of(text: str) -> list[str]:
        program, *args = shlex.split(key_value(text, "ExecStart"))
        return [program.replace("%%", "%")] + [
            a.replace("%%", "%").replace("$$", "$") for a in args
        ]

    def unusable(self, runner: Runner) -> str | None:
        ok, why = user_manager(runner)
        if not ok:
            return f"no systemd user session ({why})"
        if session.desktop(self.host.env, self.host.platform).kind != "none":
            active = runner(["systemctl", "--user", "is-active", "graphical-session.target"])
            if active.returncode != 0:
                return "this desktop does not start graphical-session.target"
        return None

    def plan_start(
        self, plan: Plan, new: str, old: str | None, start: bool, replacing: bool, runner: Runner
    ) -> None:
        changed = old != new
        ok, env_or_why = user_manager(runner)
        if not ok:
            plan.commands.append(["systemctl", "--user", "enable", UNIT])
            plan.notes.append(
                f"no systemd user session ({env_or_why}): the unit is enabled and starts at your "
                "next graphical login, not now"
            )
            return
        if present := self.to_import(env_or_why):
            plan.commands.append(["systemctl", "--user", "import-environment", *present])
        if changed:
            plan.commands.append(["systemctl", "--user", "daemon-reload"])
        plan.commands.append(["systemctl", "--user", "enable", *(["--now"] if start else []), UNIT])
        if changed and old is not None and start:
            plan.commands.append(["systemctl", "--user", "try-restart", UNIT])

    def to_import(self, manager_env: str) -> list[str]:
        """The session's variables to import into a user manager whose environment (the output
        of `systemctl --user show-environment`) lacks some: all present ones, or none."""
        present = [v for v in SESSION_VARIABLES if self.host.env.get(v)]
        imported = set(re.findall(r"^(\w+)=", manager_env, re.MULTILINE))
        return present if not set(present) <= imported else []

    def plan_stop(self, plan: Plan, text: str | None, runner: Runner) -> None:
        if text is None:
            return
        ok, _ = user_manager(runner)
        plan.commands.append(["systemctl", "--user", "disable", *(["--now"] if ok else []), UNIT])
        if ok:
            plan.after.append(["systemctl", "--user", "daemon-reload"])

    def state(self, argv: Sequence[str], runner: Runner) -> State:
        enabled = runner(["systemctl", "--user", "is-enabled", UNIT]).stdout.strip() == "enabled"
        if not user_manager(runner)[0]:
            return State(enabled=enabled, detail="no systemd user session")
        detail = runner(["systemctl", "--user", "is-active", UNIT]).stdout.strip()
        return State(enabled=enabled, running=detail == "active", detail=detail)

    def log_command(self, lines: int, follow: bool) -> list[str]:
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


def user_manager(runner: Runner) -> tuple[bool, str]:
    """Whether `systemctl --user` reaches a running user manager, and its environment or error."""
    if shutil.which("systemctl") is None:
        return False, "systemctl not found"
    r = runner(["systemctl", "--user", "show-environment"])
    if r.returncode == 0:
        return True, r.stdout
    return False, (r.stderr.strip().splitlines() or ["no user manager"])[-1]


_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def exec_start_of(argv: Sequence[str]) -> str:
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
        [_quote(program.replace("%", "%%"))]
        + [_quote(a.replace("%", "%%").replace("$", "$$")) for a in args]
    )


def _quote(arg: str) -> str:
    if _PLAIN.match(arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
