"""Linux and the BSDs without systemd: an XDG autostart entry, run by the desktop at login.

An autostart entry has no manager to start, stop or log it: install starts the daemon itself,
uninstall stops it by its command line, and the daemon appends its own output to a log file
(`run --log FILE`). The entry runs the interpreter directly, with no shell in between.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from string import Template

from screenrecord.capture import session
from screenrecord.service.base import (
    LOG_NAME,
    Host,
    Layout,
    Runner,
    daemon_pids,
    key_value,
    template,
)
from screenrecord.service.plan import Plan
from screenrecord.service.target import Autostart


class Xdg(Autostart):
    name = "xdg"
    title = "XDG autostart entry"
    rival = "systemd"
    needs_display = True

    @classmethod
    def native(cls, host: Host) -> bool:
        return host.platform.startswith("linux")

    def layout(self) -> Layout:
        autostart = self.host.config_home / "autostart"
        return Layout(
            autostart / "screenrecord.desktop",
            self.host.state_home / "screenrecord" / LOG_NAME,
            (autostart,),
        )

    def run_argv(self, config: Path | None) -> list[str]:
        """The daemon's command line, writing its log itself: nothing else would keep it."""
        return [*super().run_argv(config), "--log", str(self.log_file())]

    def log_file(self) -> Path:
        log = self.layout().log
        assert log is not None  # an autostart entry always has its log file
        return log

    def render(self, config: Path | None = None) -> str:
        return Template(template("systemd", "screenrecord.desktop")).substitute(
            exec=desktop_exec(self.run_argv(config))
        )

    @staticmethod
    def command_of(text: str) -> list[str]:
        return parse_desktop_exec(key_value(text, "Exec"))

    @classmethod
    def daemon_argv(cls, text: str) -> list[str]:
        argv = cls.command_of(text)
        if argv[:2] == ["/bin/sh", "-c"]:  # an entry written before `run --log`: a shell wrapper
            script = shlex.split(argv[2])
            return script[
                script.index("exec") + 1 : script.index(
                    next(a for a in script if a.startswith(">>"))
                )
            ]
        return argv

    def plan_start(
        self, plan: Plan, new: str, old: str | None, start: bool, replacing: bool, runner: Runner
    ) -> None:
        super().plan_start(plan, new, old, start, replacing, runner)
        where = session.desktop(self.host.env, self.host.platform)
        if where.kind == "wlroots":
            plan.notes.append(
                f"{where.name} does not run XDG autostart entries: to start screenrecord at login, "
                f"add `exec {shlex.join(self.command_of(new))}` to its config"
            )

    def cannot_start_now(self) -> str | None:
        if session.desktop(self.host.env, self.host.platform).kind == "none":
            return "no DISPLAY here: the daemon starts at your next graphical login"
        return None

    def plan_stop(self, plan: Plan, text: str | None, runner: Runner) -> None:
        if text is not None:
            plan.stop = daemon_pids(self.daemon_argv(text))


_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(argv: Sequence[str]) -> str:
    """An Exec= value per the Desktop Entry Specification (quoting, then string escapes)."""
    out = []
    for arg in argv:
        arg = arg.replace("%", "%%")
        if any(c in _RESERVED for c in arg):
            arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
        out.append(arg)
    return " ".join(out).replace("\\", "\\\\")


def parse_desktop_exec(value: str) -> list[str]:
    """The argv of an Exec= value: the inverse of `desktop_exec`."""
    value = re.sub(r"\\(.)", r"\1", value)  # string escapes (\\ -> \)
    args: list[str] = []
    cur: list[str] = []
    quoted = any_ = False
    i = 0
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
