"""macOS: a launchd user agent in ~/Library/LaunchAgents, loaded with `launchctl bootstrap`."""

from __future__ import annotations

import os
import plistlib
import re
import time
from collections.abc import Sequence
from pathlib import Path

from screenrecord.service.base import (
    LABEL,
    LOG_NAME,
    Host,
    Layout,
    Outcome,
    Runner,
    State,
    read,
    template,
)
from screenrecord.service.plan import Plan
from screenrecord.service.target import Target


class Launchd(Target):
    name = "launchd"
    title = "launchd agent"

    @classmethod
    def native(cls, host: Host) -> bool:
        return host.platform == "darwin"

    @property
    def domain(self) -> str:
        return f"gui/{self.host.uid}"

    @property
    def service(self) -> str:
        return f"{self.domain}/{LABEL}"

    def layout(self) -> Layout:
        home = self.host.home
        logs = home / "Library" / "Logs" / "screenrecord"
        return Layout(
            home / "Library" / "LaunchAgents" / f"{LABEL}.plist", logs / LOG_NAME, (logs,)
        )

    def render(self, config: Path | None = None) -> str:
        plist = plistlib.loads(template("launchd", f"{LABEL}.plist").encode())
        plist["Label"] = LABEL
        plist["ProgramArguments"] = self.run_argv(config)
        plist["StandardOutPath"] = plist["StandardErrorPath"] = str(self.layout().log)
        return plistlib.dumps(plist, sort_keys=False).decode()

    @staticmethod
    def command_of(text: str) -> list[str]:
        return list(plistlib.loads(text.encode())["ProgramArguments"])

    def plan_start(
        self, plan: Plan, new: str, old: str | None, start: bool, replacing: bool, runner: Runner
    ) -> None:
        changed = old != new
        loaded = runner(["launchctl", "print", self.service]).returncode == 0
        if loaded and changed:
            plan.commands.append(["launchctl", "bootout", self.service])
        if (changed or not loaded) and start:
            plan.commands.append(["launchctl", "bootstrap", self.domain, str(self.layout().file)])
        plan.notes.append(permission_note(self.host))

    def plan_stop(self, plan: Plan, text: str | None, runner: Runner) -> None:
        if runner(["launchctl", "print", self.service]).returncode == 0:
            plan.commands.append(["launchctl", "bootout", self.service])

    def state(self, argv: Sequence[str], runner: Runner) -> State:
        r = runner(["launchctl", "print", self.service])
        m = re.search(r"^\s*state = (\S+)", r.stdout, re.MULTILINE)
        detail = m.group(1) if m else ("not loaded" if r.returncode else "")
        pid = re.search(r"^\s*pid = (\d+)", r.stdout, re.MULTILINE)
        return State(
            enabled=r.returncode == 0,
            running=detail == "running",
            pids=(int(pid.group(1)),) if pid else (),
            detail=detail,
        )

    def check(self, runner: Runner, wait: float = 8) -> Outcome:
        """After bootstrap: whether the agent runs, or why not (e.g. no permission).

        The Screen Recording permission belongs to the program launchd starts, so only that
        program can tell whether it has it: its start-up check exits with code 2 and a message in
        the log.
        """
        deadline = time.monotonic() + wait
        while True:
            r = runner(["launchctl", "print", self.service])
            code = re.search(r"last exit code = (\d+)", r.stdout)
            if code and code.group(1) != "0":
                log = self.layout().log
                said = (read(log) or "").strip().splitlines() if log else []
                return Outcome(
                    problem=f"the agent stopped (exit code {code.group(1)}): "
                    + (said[-1] if said else "see the log")
                )
            if time.monotonic() >= deadline:
                return Outcome(["the agent is running"])
            time.sleep(1)


def permission_note(host: Host) -> str:
    """What the user must allow in System Settings for captures to show more than the wallpaper."""
    program = os.path.realpath(host.python)
    return (
        "macOS asks once for the Screen Recording permission for "
        f"{program}; if captures show only the wallpaper, allow it in System Settings > "
        "Privacy & Security > Screen Recording (open it with: open "
        "'x-apple.systempreferences:com.apple.preference.security?Privacy_ScreenCapture'), "
        "then run `screenrecord service install` again"
    )
