"""Start the daemon at login: render the launchd/, systemd/ and windows/ templates, install them.

Each service manager is one `Target` class (`launchd.py`, `systemd.py`, `xdg.py`, `windows.py`),
looked up once by name in `lookup`; everything else calls its methods. Everything is
decide-then-act: a target's `install_plan` and `uninstall_plan` only describe the files to write
or remove and the commands to run; `apply` does it, and `--dry-run` prints the plan. What the
package needs to know about the machine (platform, environment, interpreter, uid) is passed in as
a `Host`, so every target can be rendered on any machine and tests can aim it at a temporary HOME.

`install`, `uninstall`, `logs` and `discover` are what the command line calls: typed arguments
in, lines or values out; nothing here prints.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from screenrecord.config import load as load_config
from screenrecord.errors import CaptureError, ScreenrecordError, UsageError
from screenrecord.service.base import (
    LABEL,
    TEMPLATES,
    UNIT,
    Host,
    Installed,
    Layout,
    Outcome,
    Runner,
    daemon_pids,
    runner_for,
)
from screenrecord.service.launchd import Launchd
from screenrecord.service.plan import Plan, apply
from screenrecord.service.systemd import Systemd
from screenrecord.service.systemd import user_manager as systemd_user_manager
from screenrecord.service.target import Target
from screenrecord.service.windows import Windows
from screenrecord.service.xdg import Xdg, desktop_exec, parse_desktop_exec

_CLASSES: dict[str, type[Target]] = {cls.name: cls for cls in (Launchd, Systemd, Xdg, Windows)}
TARGETS = tuple(_CLASSES)
FALLBACK = Xdg
"""The target of a platform no service manager here knows (the BSDs, other Unixes)."""


def target_class(name: str) -> type[Target]:
    """The class of the target `name` (what `--target` takes)."""
    try:
        return _CLASSES[name]
    except KeyError:
        raise UsageError(f"--target {name!r}: expected one of {', '.join(TARGETS)}") from None


def lookup(name: str, host: Host) -> Target:
    """The target `name` on `host`: the one place a target is chosen by its name."""
    return target_class(name)(host)


def native(host: Host) -> list[Target]:
    """The targets whose service manager `host` has, in order of preference."""
    return [cls(host) for cls in _CLASSES.values() if cls.native(host)]


def title(name: str) -> str:
    """What a person calls the target `name` ("systemd user unit")."""
    cls = _CLASSES.get(name)
    return cls.title if cls else name


def _rival(target: Target) -> Target | None:
    return lookup(target.rival, target.host) if target.rival else None


def detect(host: Host, runner: Runner | None = None) -> tuple[str, list[str]]:
    """This machine's target, and notes saying why when it is not the obvious one."""
    runner = runner or runner_for(host)
    candidates = native(host)
    if not candidates:
        return FALLBACK.name, [f"platform {host.platform}: using an {FALLBACK.title}"]
    skipped: list[str] = []
    for target in candidates:
        why = target.unusable(runner)
        if why is None:
            return target.name, [f"{w}: using an {target.title} instead" for w in skipped]
        skipped.append(why)
    raise ScreenrecordError(f"no way to start screenrecord at login here: {'; '.join(skipped)}")


# By target name: the functions the tests and `status` use ---------------------------------------


def layout(target: str, host: Host) -> Layout:
    """The paths of `target` for the user of `host`."""
    return lookup(target, host).layout()


def render(target: str, host: Host, config: Path | None = None) -> str:
    """The text of `target`'s service file, starting the daemon with `config`."""
    return lookup(target, host).render(config)


def command_of(target: str, text: str) -> list[str]:
    """The command line a rendered (or installed) service file starts."""
    return target_class(target).command_of(text)


def daemon_argv(target: str, text: str) -> list[str]:
    """The daemon's own argv inside a service file (without the xdg entry's `sh -c`)."""
    return target_class(target).daemon_argv(text)


def install_plan(
    target: str,
    host: Host,
    config: Path | None = None,
    start: bool = True,
    runner: Runner | None = None,
) -> Plan:
    """What installing `target` does; see `Target.install_plan`."""
    chosen = lookup(target, host)
    return chosen.install_plan(config, start, runner, _rival(chosen))


def uninstall_plan(target: str, host: Host, runner: Runner | None = None) -> Plan:
    """What uninstalling `target` does; see `Target.uninstall_plan`."""
    return lookup(target, host).uninstall_plan(runner)


def installed(
    host: Host, runner: Runner | None = None, targets: Sequence[str] = TARGETS
) -> list[Installed]:
    """The service files of `targets` present for this user, with their state where knowable."""
    return _installed([lookup(name, host) for name in targets], runner or runner_for(host))


def _installed(targets: Sequence[Target], runner: Runner) -> list[Installed]:
    found = (t.installed(runner) for t in targets)
    return [i for i in found if i is not None]


def refuse_unsupported(
    target: str, host: Host, explicit: bool, backend: str = "auto"
) -> str | None:
    """Raise when this session cannot be captured at all with `backend` (capture.backend);
    return a note when only a warning."""
    return _refuse(lookup(target, host), explicit, backend)


def _refuse(target: Target, explicit: bool, backend: str = "auto") -> str | None:
    why = target.session_problem(backend)
    if why and not explicit:
        raise CaptureError(why + " (or pass --target to install anyway)")
    return why


# What the command line calls ---------------------------------------------------------------------


def discover(host: Host, runner: Runner | None = None) -> list[Installed]:
    """The services of this machine's own managers that are installed, with their state."""
    return _installed(native(host), runner or runner_for(host))


def install(
    host: Host,
    config: Path | None = None,
    target: str | None = None,
    start: bool = True,
    dry_run: bool = False,
    runner: Runner | None = None,
) -> Outcome:
    """Make the daemon start at login with `config` (and now, if `start`), on `target` or else
    the one this machine uses; with `dry_run`, only say what would be done."""
    config = config.absolute() if config is not None else None
    cfg = load_config(config)  # a service that could only fail at every login helps no one
    notes: list[str] = []
    if target is None:
        name, notes = detect(host, runner)
        chosen = lookup(name, host)
    else:
        chosen = lookup(target, host)
    warning = _refuse(chosen, target is not None, cfg.capture.backend)
    plan = chosen.install_plan(config, start, runner, _rival(chosen))
    plan.notes[:0] = notes + ([warning] if warning else [])
    waits = None if warning else chosen.session_needs(cfg.capture.backend)
    if waits:  # installed all the same: the approval is given once, after
        plan.notes.append(f"{waits}: until then the daemon records every tick as not captured")
    if dry_run:
        return Outcome([plan.describe()])
    lines = [*apply(plan, runner), f"installed: {chosen.layout().file}"]
    checked = chosen.check(runner or runner_for(host)) if plan.commands else None
    if checked is None:
        return Outcome(lines)
    return Outcome(lines + checked.lines, checked.problem)


def uninstall(
    host: Host, target: str | None = None, dry_run: bool = False, runner: Runner | None = None
) -> Outcome:
    """Stop and remove the service of `target`, or of every manager of this machine."""
    targets = [lookup(target, host)] if target else native(host)
    found = [t for t in targets if t.layout().file.exists()]
    if not found:
        return Outcome([f"not installed ({', '.join(str(t.layout().file) for t in targets)})"])
    lines: list[str] = []
    for t in found:
        plan = t.uninstall_plan(runner)
        lines += [plan.describe()] if dry_run else apply(plan, runner)
    return Outcome(lines)


@dataclass(frozen=True)
class Logs:
    """Where the daemon's log is shown from: a command of the manager's, or the log's own lines."""

    command: list[str] | None
    """A program that shows the log itself (journalctl); run it instead of reading `lines`."""
    lines: Iterator[str]
    """The log's last lines, each with its newline; when following, then new ones as they come."""


def logs(host: Host, target: str | None = None, lines: int = 50, follow: bool = False) -> Logs:
    """The log of `target`'s daemon, or of the installed service of this machine."""
    if target is not None:
        chosen = lookup(target, host)
    else:
        present = [t for t in native(host) if t.layout().file.exists()]
        if not present:
            raise UsageError("no service installed: nothing to show (screenrecord service install)")
        chosen = present[0]
    command = chosen.log_command(lines, follow)
    if command is not None:
        return Logs(command, iter(()))
    log = chosen.layout().log
    if log is None:
        raise ScreenrecordError(f"{chosen.name}: the daemon's log is kept by its service manager")
    return Logs(None, tail(log, lines, follow))


def tail(path: Path, lines: int, follow: bool = False, poll: float = 0.5) -> Iterator[str]:
    """The last `lines` lines of a log file; with `follow`, then each line appended to it."""
    if not path.exists():
        yield f"{path}: no log yet\n"
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        yield from deque(f, maxlen=max(lines, 0))
        while follow:
            line = f.readline()
            if line:
                yield line
            else:
                time.sleep(poll)


__all__ = [
    "LABEL",
    "TARGETS",
    "TEMPLATES",
    "UNIT",
    "CaptureError",
    "Host",
    "Installed",
    "Layout",
    "Logs",
    "Outcome",
    "Plan",
    "Target",
    "UsageError",
    "apply",
    "command_of",
    "daemon_argv",
    "daemon_pids",
    "desktop_exec",
    "detect",
    "discover",
    "install",
    "install_plan",
    "installed",
    "layout",
    "logs",
    "lookup",
    "native",
    "parse_desktop_exec",
    "refuse_unsupported",
    "render",
    "runner_for",
    "systemd_user_manager",
    "tail",
    "title",
    "uninstall",
    "uninstall_plan",
]
