"""Whether this graphical session can be captured at all: the one rule, for the daemon and `service`.

Only the environment is read (it is passed in): no display is opened here. On Linux and the BSDs
an X display must be named; a Wayland session with XWayland (a DISPLAY beside WAYLAND_DISPLAY) is
let through, and opening the display then decides.
"""

from __future__ import annotations

from collections.abc import Mapping


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
            f"Wayland session ({wayland}) without an X display: screenrecord captures through X11; "
            "log in to an X11 (Xorg) session, or run it where DISPLAY points at a usable X server"
        )
    if not display:
        return (
            "no display: DISPLAY is not set; run screenrecord inside your graphical session "
            "(for a service, pass DISPLAY and XAUTHORITY in its environment)"
        )
    return None
