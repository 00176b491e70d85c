"""Windows: a `.pyw` launcher in the user's Startup folder, run by Explorer at login.

The launcher starts the daemon detached under pythonw.exe (no console window) and exits.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from string import Template

from screenrecord.errors import ScreenrecordError
from screenrecord.service.base import LOG_NAME, Host, Layout, Runner, template
from screenrecord.service.plan import Plan
from screenrecord.service.target import Autostart


class Windows(Autostart):
    name = "windows"
    title = "Windows Startup entry"

    @classmethod
    def native(cls, host: Host) -> bool:
        return host.platform == "win32"

    def layout(self) -> Layout:
        env, home = self.host.env, self.host.home
        appdata = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
        local = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
        startup = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
        return Layout(startup / "screenrecord.pyw", local / "screenrecord" / "Logs" / LOG_NAME)

    def program(self) -> Path:
        """pythonw.exe, the console-less interpreter next to python.exe, where there is one."""
        python = self.host.python
        if python.name.lower() != "python.exe":
            return python
        pythonw = python.with_name("pythonw.exe")
        return pythonw if pythonw.exists() or not self.native(self.host) else python

    def render(self, config: Path | None = None) -> str:
        return Template(template("windows", "screenrecord.pyw")).substitute(
            argv=repr(self.run_argv(config)), log=repr(str(self.layout().log))
        )

    @staticmethod
    def command_of(text: str) -> list[str]:
        m = re.search(r"^ARGV = (.*)$", text, re.MULTILINE)
        if not m:
            raise ScreenrecordError("windows launcher: no ARGV line")
        return list(ast.literal_eval(m.group(1)))

    def spawn_argv(self, text: str) -> list[str]:
        return [str(self.program()), str(self.layout().file)]  # pythonw: no console

    def plan_stop(self, plan: Plan, text: str | None, runner: Runner) -> None:
        if text is not None:
            plan.notes.append(
                "a daemon already running keeps running until you log out "
                "(or end pythonw.exe in Task Manager)"
            )
