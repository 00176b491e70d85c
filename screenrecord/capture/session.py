"""Which graphical session this is, which capture backend it gets, and why not where none works.

The one rule, for the daemon, `status` and `service install`. Only the environment is read (it
is passed in) and PATH is searched for the helper programs a backend runs: no display, bus or
compositor is opened here.

The choice (`capture.backend = "auto"`):
- X11 (DISPLAY without WAYLAND_DISPLAY), macOS, Windows: mss.
- Wayland on a wlroots compositor (SWAYSOCK, HYPRLAND_INSTANCE_SIGNATURE, or XDG_CURRENT_DESKTOP
  naming one): grim, through wlr-screencopy, one output at a time, no file, no dialog.
- KDE Plasma on Wayland: the desktop portal's Screenshot, which is silent there.
- GNOME on Wayland: the ScreenCast portal (screencast), approved once (`screenrecord setup`)
  and restored with its token at every capture; GNOME's own ScreenCast API (mutter) only when
  chosen, being private to GNOME. Its Screenshot portal flashes the screen and plays the shutter
  sound at every capture, so it is only ever an explicit choice.
- Any other Wayland desktop: refused, naming the settings that could work.
A Wayland session with XWayland (DISPLAY beside WAYLAND_DISPLAY) never gets mss by itself:
XWayland shows X11 windows only, so its frames would be silently incomplete.

The backends are the rows of `BACKENDS`, at the end: a name, where the class is, the rule that
says why it cannot work in a session, and the desktops "auto" gives it. Adding a backend is its
module and one row there; `capture.backend`'s validation, `choose` and `status` read the names
from it.

Every refusal is one line: the desktop, the reason, what to do. (This module sits beside
errors.py, at the bottom of the imports: it returns refusals, capture raises them.)
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from screenrecord.capture import Backend

WLROOTS = {
    "sway": "sway",
    "hyprland": "Hyprland",
    "river": "river",
    "niri": "niri",
    "labwc": "labwc",
    "wayfire": "Wayfire",
    "dwl": "dwl",
}
"""XDG_CURRENT_DESKTOP names of compositors that offer wlr-screencopy (grim's protocol)."""


@dataclass(frozen=True, slots=True)
class Desktop:
    """The graphical session, as the environment tells it."""

    name: str
    """What messages call it: "sway", "KDE Plasma", "GNOME", "X11", "macOS", ..."""
    kind: str
    """"wlroots", "kde", "gnome" or "wayland" (another Wayland desktop); "x11"; "native" (macOS,
    Windows: the platform's own API); "none" (no display named at all)."""
    display: str = ""
    """WAYLAND_DISPLAY on Wayland, DISPLAY on X11."""

    @property
    def wayland(self) -> bool:
        return self.kind in ("wlroots", "kde", "gnome", "wayland")

    def __str__(self) -> str:
        if self.kind == "wayland":
            return f"Wayland session ({self.display}) of {self.name}"
        if self.wayland:
            return f"{self.name} on Wayland ({self.display})"
        if self.kind == "x11":
            return f"X11 ({self.display})"
        return self.name


def desktop(environ: Mapping[str, str], platform: str) -> Desktop:
    """The session `environ` belongs to."""
    if platform == "darwin":
        return Desktop("macOS", "native")
    if platform.startswith("win"):
        return Desktop("Windows", "native")
    wayland = environ.get("WAYLAND_DISPLAY", "")
    if not wayland:
        display = environ.get("DISPLAY", "")
        return Desktop("X11", "x11", display) if display else Desktop("no display", "none")
    named = [n.strip() for n in environ.get("XDG_CURRENT_DESKTOP", "").split(":") if n.strip()]
    lowered = [n.lower() for n in named]
    if environ.get("SWAYSOCK") or "sway" in lowered:
        return Desktop("sway", "wlroots", wayland)
    if environ.get("HYPRLAND_INSTANCE_SIGNATURE") or "hyprland" in lowered:
        return Desktop("Hyprland", "wlroots", wayland)
    for n in lowered:
        if n in WLROOTS:
            return Desktop(WLROOTS[n], "wlroots", wayland)
    if "kde" in lowered:
        return Desktop("KDE Plasma", "kde", wayland)
    if "gnome" in lowered:
        return Desktop("GNOME", "gnome", wayland)
    what = ":".join(named) if named else "an unknown desktop (XDG_CURRENT_DESKTOP is not set)"
    return Desktop(what, "wayland", wayland)


@dataclass(frozen=True, slots=True)
class Choice:
    """The backend a session gets, or the one line that says why it gets none."""

    backend: str | None
    """A name in BACKENDS; None when refused."""
    refusal: str | None = None


def choose(environ: Mapping[str, str], platform: str, setting: str = "auto") -> Choice:
    """The backend for this session; `setting` other than "auto" is taken as it is."""
    if setting != "auto":
        return Choice(setting)
    d = desktop(environ, platform)
    for row in BACKENDS.values():
        if d.kind in row.chosen_on:
            return Choice(row.name)
    return Choice(
        None,
        f"{d}: no capture backend is known to work on this desktop; set capture.backend = "
        '"grim" if it is a wlroots compositor, or "portal" if its desktop portal takes '
        "screenshots without asking, or log in to an X11 session",
    )


def problem(environ: Mapping[str, str], platform: str, setting: str = "auto") -> str | None:
    """Why this session cannot be captured with `setting` (the refusal's one line), or None."""
    chosen = choose(environ, platform, setting)
    if chosen.backend is None:
        return chosen.refusal
    return BACKENDS[chosen.backend].problem(environ, platform)


def summary(environ: Mapping[str, str], platform: str, setting: str = "auto") -> str:
    """One line for `status`: the backend this session gets and why, or its refusal."""
    why = problem(environ, platform, setting)
    if why is not None:
        return f"refused: {why}"
    how = "chosen" if setting == "auto" else "capture.backend"
    backend = choose(environ, platform, setting).backend
    said = needs(environ, platform, setting)
    told = f"; {said}" if said else ""
    return f"{backend} ({how}), {desktop(environ, platform)}{told}"


def needs(environ: Mapping[str, str], platform: str, setting: str = "auto") -> str | None:
    """What the backend chosen for this session still waits for before it can capture (the
    screencast backend's approval), or None. Meant for a session `problem` does not refuse:
    what a refused one lacks is its problem."""
    backend = choose(environ, platform, setting).backend
    note = BACKENDS[backend].note if backend is not None else None
    return note(environ) if note is not None else None


def x11_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why no X display can be used here (no DISPLAY, or Wayland without one), else None.

    macOS and Windows have no such rule and always get None.
    """
    if platform == "darwin" or platform.startswith("win"):
        return None
    display = environ.get("DISPLAY", "")
    wayland = environ.get("WAYLAND_DISPLAY", "")
    if not display and wayland:
        return (
            f'Wayland session ({wayland}) without an X display: capture.backend = "mss" reads '
            'X11 only; set capture.backend = "auto" (README: Desktops), or log in to an X11 session'
        )
    if not display:
        return (
            "no display: DISPLAY is not set; run screenrecord inside your graphical session "
            "(for a service, pass DISPLAY and XAUTHORITY in its environment)"
        )
    return None


def grim_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why grim cannot capture this session: no Wayland display, no grim, no way to list outputs."""
    d = desktop(environ, platform)
    if not d.wayland:
        return f'{d}: capture.backend = "grim" needs a Wayland session (WAYLAND_DISPLAY is not set)'
    path = environ.get("PATH")
    if shutil.which("grim", path=path) is None:
        return f"{d}: grim not found; install grim (Debian, Ubuntu, Fedora, Arch: package grim)"
    if environ.get("SWAYSOCK") and shutil.which("swaymsg", path=path) is not None:
        return None
    if shutil.which("wlr-randr", path=path) is not None:
        return None
    return (
        f"{d}: cannot list the outputs to capture them one by one (neither swaymsg with "
        "SWAYSOCK nor wlr-randr); install wlr-randr"
    )


def portal_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why the Screenshot portal cannot serve here: no session bus, or a portal that would leave
    every frame in a file others can read."""
    d = desktop(environ, platform)
    if platform == "darwin" or platform.startswith("win"):
        return f'{d}: capture.backend = "portal" is for Linux desktops; use "auto"'
    if d.kind == "wlroots":
        return (
            f"{d}: its desktop portal (xdg-desktop-portal-wlr) writes every screenshot to "
            '/tmp/out.png, readable by every user; use capture.backend = "grim" (or "auto")'
        )
    if not environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return (
            f"{d}: no session bus (DBUS_SESSION_BUS_ADDRESS is not set) to reach the desktop "
            "portal; run screenrecord inside your graphical session"
        )
    return None


def _gnome_problem(environ: Mapping[str, str], platform: str, backend: str) -> str | None:
    """What a GNOME screen cast needs from the environment: Linux, a session bus, gst-launch-1.0
    (whether GNOME, its portal and pipewiresrc answer is found out when they are asked)."""
    d = desktop(environ, platform)
    if platform == "darwin" or platform.startswith("win"):
        return f'{d}: capture.backend = "{backend}" is for Linux desktops; use "auto"'
    if not d.wayland and not environ.get("DISPLAY"):
        return f'{d}: capture.backend = "{backend}" needs a graphical session'
    if not environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return (
            f"{d}: no session bus (DBUS_SESSION_BUS_ADDRESS is not set) to reach GNOME Shell; "
            "run screenrecord inside your graphical session"
        )
    if shutil.which("gst-launch-1.0", path=environ.get("PATH")) is None:
        return (
            f"{d}: gst-launch-1.0 not found, which reads the screen cast's frames; install it "
            "(Debian, Ubuntu: gstreamer1.0-tools and gstreamer1.0-pipewire; Fedora: "
            "gstreamer1-plugins-base-tools and pipewire-gstreamer)"
        )
    return None


def screencast_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why the ScreenCast portal cannot serve here (see _gnome_problem)."""
    return _gnome_problem(environ, platform, "screencast")


APPROVAL_NEEDED = "approval needed: run `screenrecord setup`"
"""What the screencast backend says (a grab, `status`) while no approval is stored."""


def screencast_tokens(environ: Mapping[str, str]) -> Path:
    """Where the screencast backend keeps its restore tokens: the state folder
    ($XDG_STATE_HOME/screenrecord, ~/.local/state/screenrecord when not set)."""
    state = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):
        state = os.path.join(environ.get("HOME", "~"), ".local", "state")
    return Path(state).expanduser() / "screenrecord" / "screencast-tokens.json"


def screencast_note(environ: Mapping[str, str]) -> str | None:
    """`status`'s note: approval needed while no token is stored (a token the portal lost is
    forgotten by the first grab that finds it gone)."""
    try:
        stored = json.loads(screencast_tokens(environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return APPROVAL_NEEDED
    if not isinstance(stored, dict) or not stored.get("tokens"):
        return APPROVAL_NEEDED
    return None


def mutter_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why GNOME Shell's own ScreenCast cannot serve here (see _gnome_problem)."""
    return _gnome_problem(environ, platform, "mutter")


@dataclass(frozen=True, slots=True)
class BackendRow:
    """One capture backend: its name, where its class is, why it cannot work in a session, and
    the desktops "auto" gives it. Its name is what `capture.backend` accepts besides "auto",
    what `choose` returns and what `status` shows."""

    name: str
    impl: str
    """`module:Class` of its `Backend`, imported only when a session opens it: validating a
    config or telling the status must not import mss or jeepney."""
    problem: Callable[[Mapping[str, str], str], str | None]
    """Why this session cannot be captured with it (the environment and the platform only)."""
    chosen_on: tuple[str, ...] = ()
    """The `Desktop.kind`s that `choose` gives it when capture.backend is "auto"."""
    note: Callable[[Mapping[str, str]], str | None] | None = None
    """What `status` adds after the backend's name (from the environment and the user's files
    only): what the user has yet to do."""

    def load(self) -> type[Backend]:
        """The backend's class, its module imported now."""
        module, _, name = self.impl.partition(":")
        return getattr(importlib.import_module(module), name)


BACKENDS: dict[str, BackendRow] = {
    row.name: row
    for row in (
        BackendRow(
            "mss",
            "screenrecord.capture.mssbackend:MssBackend",
            x11_problem,
            ("x11", "native", "none"),
        ),
        BackendRow("grim", "screenrecord.capture.grim:GrimBackend", grim_problem, ("wlroots",)),
        BackendRow("portal", "screenrecord.capture.portal:PortalBackend", portal_problem, ("kde",)),
        BackendRow(
            "screencast",
            "screenrecord.capture.screencast:ScreencastBackend",
            screencast_problem,
            ("gnome",),
            screencast_note,
        ),
        BackendRow("mutter", "screenrecord.capture.mutter:MutterBackend", mutter_problem),
    )
}
"""The capture backends, by name: adding one is its module and a row here. "auto" picks the
first row whose `chosen_on` names the session's desktop; mss takes the sessions that are not
Wayland ("none" too, where its rule says that no display is named)."""
