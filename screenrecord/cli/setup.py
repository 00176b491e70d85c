"""`setup`: the one approval a desktop asks for before screenrecord may capture it (GNOME)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from screenrecord.cli.common import Shared, load_config

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_setup(sub: Subparsers, shared: Shared) -> None:
    s = sub.add_parser(
        "setup",
        help="give the one approval the desktop asks for (GNOME on Wayland)",
        description="Where the desktop asks once before a program may capture its screen "
        "(GNOME on Wayland: the ScreenCast portal's Screen Share dialog), asks now, and keeps "
        "the approval for the daemon. Elsewhere there is nothing to approve.",
        parents=[shared.config],
    )
    s.set_defaults(func=do_setup)


def do_setup(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from screenrecord.capture import screencast

    cfg = load_config(args.config)
    try:
        cgroup = Path("/proc/self/cgroup").read_text()
    except OSError:
        cgroup = ""
    tell = lambda text: print(text, flush=True)  # noqa: E731 - before the dialog waits
    done = screencast.setup(os.environ, sys.platform, cfg.capture.backend, cgroup, tell)
    if not done.monitors:
        print(f"nothing to approve: the {done.backend} backend needs no approval")
        return 0
    names = ", ".join(f"{d.connector} {d.width}x{d.height}" for d in done.monitors)
    print(f"approved: {names}; `screenrecord run` (or the service) captures them from now on")
    return 0
