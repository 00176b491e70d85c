"""`screenrecord status`: what runs, where it writes, what it last did, read at a glance.

Reads only the service files, the config, the catalog and the archive's lock: no torch, no
capture. Whether a recorder runs is told by the lock (held while `run` or `once` records), not by
the age of the newest decision: a daemon stopped a minute ago is stopped.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from screenrecord import config, service
from screenrecord.archive import catalog, lock, pause
from screenrecord.archive.catalog import Catalog, Prune, Tally
from screenrecord.capture import session
from screenrecord.config.units import count, duration, score, size
from screenrecord.errors import ScreenrecordError
from screenrecord.models import Activity, Record, Retention
from screenrecord.service import Installed

ERROR_WINDOW = timedelta(days=7)
"""How far back status looks for the last error: older ones are history, not state."""


@dataclass(frozen=True)
class Status:
    """Everything `screenrecord status` shows; gathered first, then formatted."""

    now: datetime
    services: list[Installed]
    config_path: Path | None
    config_error: str | None = None
    root: Path | None = None
    interval: float | None = None
    catalog_error: str | None = None
    latest: tuple[Record, ...] = ()
    today: Tally | None = None
    written: tuple[int, int] | None = None
    """Files written all time, and their bytes."""
    last_error: Record | None = None
    free_bytes: int | None = None
    paused: tuple[bool, datetime | None] = (False, None)
    """(paused, until) from the archive's pause file (`screenrecord pause`)."""
    recorder: lock.Holder | None = None
    """The process recording into the archive now (it holds the archive's lock)."""
    recorder_known: bool = False
    """Whether the lock could be looked at: if so, `recorder` None means that none runs."""
    rebuilt: tuple[datetime, Path] | None = None
    """When the catalog was last found damaged and rebuilt, and where the damaged one is kept
    (within ERROR_WINDOW)."""
    capture: str | None = None
    """The backend this session gets (capture.backend), or why it is refused; None outside a
    graphical session (ssh, a console), where nothing can be told."""
    retention: Retention | None = None
    stored: tuple[int, int] | None = None
    """Frames stored now (written and not pruned), and their bytes, by the catalog."""
    last_prune: Prune | None = None
    windows_unknown: str | None = None
    """Why this session's windows cannot be known (GNOME on Wayland), else None."""


def collect(
    now: datetime,
    services: list[Installed],
    config_path: Path | None,
    environ: Mapping[str, str] | None = None,
) -> Status:
    """The status with `config_path`, else the config the service starts the daemon with, else
    the platform's; a config that cannot be loaded is reported, not raised. With `environ`, the
    session's capture backend or refusal (session.summary) is told too."""
    path = config_path or next((i.config for i in services if i.config is not None), None)
    shown = path or config.default_path()
    root: Path | None = None
    interval: float | None = None
    error: str | None = None
    backend = "auto"
    retention: Retention | None = None
    try:
        conf = config.load(path)
        root, interval = conf.root, conf.interval_seconds
        backend, retention = conf.capture.backend, conf.retention
    except ScreenrecordError as e:
        error = str(e)
    shown_path = shown if shown.exists() or path else None
    found = gather(now, services, shown_path, root, interval, error, retention)
    if environ is None:
        return found
    d = session.desktop(environ, sys.platform)
    if d.kind != "none":
        found = replace(found, capture=session.summary(environ, sys.platform, backend))
    if d.kind == "gnome":
        found = replace(found, windows_unknown=f"{d} tells no program")
    return found


def gather(
    now: datetime,
    services: list[Installed],
    config_path: Path | None,
    root: Path | None,
    interval: float | None,
    config_error: str | None = None,
    retention: Retention | None = None,
) -> Status:
    """Read the catalog of `root` (never creating it) and the free space under it."""
    fields: dict = {}
    if root is not None:
        fields["paused"] = pause.state(root, now)
        try:
            fields["recorder"] = lock.holder(root)
            fields["recorder_known"] = True
        except OSError:  # a lock file this user cannot open: judged from the catalog alone
            pass
        rebuilt = [c for c in catalog.set_aside_copies(root) if c[0] >= now - ERROR_WINDOW]
        if rebuilt:
            fields["rebuilt"] = rebuilt[-1]
        free_at = next((p for p in (root, *root.parents) if p.exists()), None)
        if free_at is not None:
            fields["free_bytes"] = shutil.disk_usage(free_at).free
        try:
            with Catalog.open(root, create=False) as cat:
                midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
                fields.update(
                    latest=tuple(cat.latest()),
                    today=cat.tally(since=midnight),
                    written=cat.written(),
                    last_error=cat.last_error(since=now - ERROR_WINDOW),
                    stored=cat.stored(),
                    last_prune=cat.last_prune(),
                )
        except ScreenrecordError as e:
            fields["catalog_error"] = str(e)
    return Status(
        now, services, config_path, config_error, root, interval, retention=retention, **fields
    )


def headline(s: Status) -> str:
    """One line saying whether screenrecord is doing its job.

    A recorder runs while it holds the archive's lock; it is capturing if its newest decision
    is within two intervals and a minute, and storing unless it says in the lock that its last
    ticks could not write (a read-only or full archive, whose catalog may not be written either). Where the lock cannot be looked at, the newest capture
    alone decides, as where no service manager can be asked (XDG autostart, Windows).
    """
    last = max((r.taken for r in s.latest), default=None)
    since = ago(s.now - last) if last is not None else None
    if s.paused[0]:
        return pause.describe(*s.paused) + " (screenrecord resume to capture again)"
    slack = timedelta(seconds=2 * (s.interval or 0) + 60)
    recent = last is not None and s.interval is not None and s.now - last <= slack
    every = f" (expected every {duration(s.interval)})" if s.interval else ""
    login = "" if s.services else " (not started at login: screenrecord service install)"
    if s.recorder is not None:
        if s.recorder.trouble:
            return f"capturing, but not storing: {s.recorder.trouble}"
        if recent:
            return f"capturing, last frame {since} ago{login}"
        if last is None:
            return f"running ({s.recorder}), no capture recorded yet{login}"
        return f"running ({s.recorder}), but no capture for {since}{every}: see `screenrecord service logs`"
    if s.recorder_known:
        when = f", last frame {since} ago" if since else ""
        if not s.services:
            return f"not running{when}: no service installed (start it at login: screenrecord service install)"
        if all(i.running is False for i in s.services):
            return "installed, not running: see `screenrecord service logs`"
        return f"stopped{when}{every}: see `screenrecord service logs`"
    if recent:
        return f"capturing, last frame {since} ago{login}"
    if not s.services:
        return "not running: no service installed (start it at login: screenrecord service install)"
    if any(i.running for i in s.services):
        if last is None:
            return "running, no capture recorded yet"
        return f"no capture for {since}{every}: see `screenrecord service logs`"
    if all(i.running is False for i in s.services):
        return "installed, not running: see `screenrecord service logs`"
    return f"installed, last capture {since} ago{every}" if since else "installed, no capture yet"


def format_status(s: Status) -> str:
    """The status as a few aligned lines."""
    lines = [f"screenrecord: {headline(s)}"]
    for i in s.services:
        state = ["enabled" if i.enabled else "not enabled" if i.enabled is False else ""]
        if i.running is not None:
            state.append("running" if i.running else (i.detail or "not running"))
        elif i.detail:
            state.append(i.detail)
        if i.pids:
            state.append("pid " + ",".join(map(str, i.pids)))
        desc = ", ".join(p for p in [service.title(i.target), *state] if p)
        lines.append(f"service     {desc}  ({i.file})")
    if not s.services:
        lines.append("service     not installed")
    lines.append(f"config      {s.config_path if s.config_path else 'defaults (no config file)'}")
    if s.config_error:
        lines.append(f"            error: {s.config_error}")
    if s.capture is not None:
        lines.append(f"capture     {s.capture}")
    if s.root is not None:
        archive = f"archive     {s.root}"
        if s.written is not None:
            n, total = s.written
            archive += f"  {n:,} frame{'s' if n != 1 else ''}, {size(total)} written"
        if s.free_bytes is not None:
            archive += f", {size(s.free_bytes)} free"
        lines.append(archive)
    if s.catalog_error:
        lines.append(f"            {s.catalog_error}")
    if s.retention is not None and (s.retention.active or s.last_prune is not None):
        lines.append(f"retention   {retention_line(s)}")
    if s.rebuilt is not None:
        when, kept = s.rebuilt
        lines.append(
            f"catalog     rebuilt {stamp(when, s.now)} from the archive's frames: it was damaged "
            f"(kept as {kept.name}); the repeats skipped before then are not counted"
        )
    if s.today is not None:
        t = s.today
        near = f" ({t.near} near)" if t.near else ""
        errors = f", {count(t.errors, 'error')}" if t.errors else ""
        skipped = count(t.duplicate, "repeat")
        lines.append(f"today       kept {t.written}{near}, skipped {skipped}{errors}")
    for r in s.latest:
        lines.append(f"monitor {r.monitor:<3} {describe(r, s.now)}")
    if s.latest:
        newest = max(s.latest, key=lambda r: r.taken)
        lines.append(f"activity    {seen(newest.activity, s.windows_unknown)}")
    if s.last_error is not None:
        e = s.last_error
        lines.append(
            f"last error  {stamp(e.taken, s.now)} monitor {e.monitor}: {e.error or e.decision.value}"
        )
    return "\n".join(lines)


def retention_line(s: Status) -> str:
    """The archive's size against the budget, and the last prune: `1.2 GB kept of 50.0 GB
    (max_bytes); last prune today 04:10, 120 frames, 24.0 MB`."""
    r = s.retention
    assert r is not None
    kept = size(s.stored[1]) if s.stored is not None else "-"
    if r.max_bytes is not None:
        text = f"{kept} kept of {size(r.max_bytes)} (max_bytes)"
    else:
        text = f"{kept} kept, no budget" if r.active else f"{kept} kept, retention off"
    p = s.last_prune
    if p is None:
        return text + "; never pruned"
    return f"{text}; last prune {stamp(p.finished, s.now)}, {count(p.frames, 'frame')}, {size(p.bytes)}"


def describe(r: Record, now: datetime) -> str:
    """A monitor's last decision: geometry, when, what, and the file it wrote or matched."""
    text = f"{r.width}x{r.height}  {stamp(r.taken, now)}  {r.decision.value}"
    if r.score is not None:
        text += f" {score(r.score, places=3)}"  # a glance: three places
    if r.path:
        text += f" -> {r.path}"
    elif r.match:
        text += f" (same as {r.match})"
    if r.error:
        text += f"  error: {r.error}"
    return text


def seen(a: Activity | None, windows_unknown: str | None = None) -> str:
    """What the last tick saw, in one line: the focused app and title, idle, lock, exclusion.
    `windows_unknown`: why no window can be known in this session (GNOME on Wayland)."""
    if a is None:
        return "not known (no EWMH window manager, a Wayland session, or an older capture)"
    if a.excluded:
        front = f"an excluded window ({a.excluded})"
    elif a.app:
        title = f' "{_cut(a.title)}"' if a.title else ""
        front = f"{a.app}{title}" + (f" on monitor {a.monitor}" if a.monitor else "")
    elif windows_unknown is not None:
        front = f"focused window not known ({windows_unknown})"
    else:
        front = "no focused window"
    idle = "idle unknown" if a.idle_s is None else f"idle {duration(a.idle_s)}"
    lock = {True: "locked", False: "not locked", None: "lock unknown"}[a.locked]
    return f"{front}, {idle}, {lock}"


def _cut(title: str, width: int = 50) -> str:
    return title if len(title) <= width else title[: width - 3] + "..."


def stamp(t: datetime, now: datetime) -> str:
    """`HH:MM:SS` today, the date otherwise, and how long ago."""
    when = f"{t:%H:%M:%S}" if t.date() == now.date() else f"{t:%Y-%m-%d %H:%M}"
    return f"{when} ({ago(now - t)} ago)"


def ago(d: timedelta) -> str:
    """How long `d` is, for `... ago`: a time in the future (a clock set back) is `0 s`."""
    return duration(d.total_seconds())
