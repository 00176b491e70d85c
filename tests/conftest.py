"""Shared fixtures: real X displays (Xvfb, and a two-monitor Xorg); the logic is in xserver.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import xserver
from xscreen import SIZE

MULTIHEAD_GEOMETRY = ((640, 480), (800, 600))
"""Two monitors of different sizes, small so that each decision stays cheap."""


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A real Xvfb server with one 1280x800 monitor (xscreen.SIZE); yields its DISPLAY, e.g. ":57"."""
    with xserver.start(SIZE) as x:
        yield x.display


@pytest.fixture
def multihead_display() -> Iterator[str]:
    """Xorg with the dummy driver showing two monitors, 640x480 and 800x600 side by side."""
    with xserver.start(*MULTIHEAD_GEOMETRY) as x:
        yield x.display
