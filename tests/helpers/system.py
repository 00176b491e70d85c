"""What a test needs from the machine (Debian packages, root, a display, a browser), and what
happens when it is missing.

On a developer's machine a missing package or permission skips the test with a reason naming what
to install. Under CI (the `CI` variable that CI services set) it fails instead: .ci/run installs
every package the tests use and runs as root, so a skip there would hide a broken CI setup.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

MARKERS = {
    "display": "a real display server: Xvfb or Xorg, or a Wayland compositor",
    "compositor": "a headless Wayland compositor (sway; also marked display)",
    "gnome": "a headless GNOME Shell with its desktop portal (also marked display)",
    "browser": "the system Chromium, headless, driven by Playwright",
    "daemon": "the daemon (`screenrecord run`) as a subprocess",
}
"""What a test may need beyond Python, as pytest markers (pyproject registers them), so that
`pytest -m "not display and not browser"` runs on a machine with nothing but Python."""

marked: frozenset[str] | None = None
"""The markers of the test now running (conftest sets it before each test's set-up)."""


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason` here; fail it under CI, which provides everything."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI provides it (see .ci/run)", pytrace=False)
    pytest.skip(reason)


def require(package: str, *commands: str, files: tuple[str, ...] = ()) -> None:
    """The Debian `package` must provide each of `commands` (on PATH) and `files`."""
    missing = [c for c in commands if shutil.which(c) is None]
    missing += [f for f in files if not Path(f).exists()]
    if missing:
        unavailable(f"{', '.join(missing)} missing: install the Debian package {package}")


def claim(marker: str, what: str) -> None:
    """The running test starts `what`: it must carry `marker`, or selecting by markers would run
    it where `what` cannot be had (the helpers that start each thing call this)."""
    if marked is not None and marker not in marked:
        pytest.fail(f"this test starts {what} but is not marked {marker!r}", pytrace=False)
