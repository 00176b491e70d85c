"""Shared fixtures: a private HOME for every test; real X displays (the logic is in
helpers/xserver.py); the system Chromium and a watched tab in it (helpers/pages.py) for the browse
tests; a headless sway (helpers/sway.py) for the Wayland tests. And the markers of what a test
needs (helpers/system.py's MARKERS): given by the fixtures a test uses, or written on the test,
and checked by the helper that starts each thing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import gnome, retention_archive, sway, system, xserver
from helpers.xscreen import SIZE

if TYPE_CHECKING:  # playwright is imported by the browse tests only
    from helpers.pages import Watched
    from playwright.sync_api import Browser

FIXTURE_MARKERS = {
    "xvfb_display": ("display",),
    "multihead_display": ("display",),
    "sway_session": ("compositor",),
    "gnome_session": ("gnome",),
    "browser": ("browser",),
    "tab": ("browser",),
}
"""The markers a test gets from the fixtures it uses."""


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in system.MARKERS.items():
        config.addinivalue_line("markers", f"{name}: needs {meaning}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = {m for f in getattr(item, "fixturenames", ()) for m in FIXTURE_MARKERS.get(f, ())}
        if any(item.get_closest_marker(m) or m in names for m in ("compositor", "gnome")):
            names.add("display")  # a Wayland compositor is a display server
        for name in sorted(names - {m.name for m in item.iter_markers()}):
            item.add_marker(name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    system.marked = frozenset(m.name for m in item.iter_markers())


MULTIHEAD_GEOMETRY = ((640, 480), (800, 600))
"""Two monitors of different sizes, small so that each decision stays cheap."""


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG base folders point into an empty folder of this test's own, for the test
    and every command line it starts (as pipx's pipx_temp_env does): the user's config, archive
    and services are never read or written. A folder apart from tmp_path, which tests compare
    byte for byte."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in [
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ]:
        monkeypatch.setenv(var, str(home / sub))
    return home


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A real Xvfb server with one 1280x800 monitor (xscreen.SIZE); yields its DISPLAY, e.g. ":257"."""
    with xserver.start(SIZE) as x:
        yield x.display


@pytest.fixture
def multihead_display() -> Iterator[str]:
    """Xorg with the dummy driver showing two monitors, 640x480 and 800x600 side by side."""
    with xserver.start(*MULTIHEAD_GEOMETRY) as x:
        yield x.display


@pytest.fixture
def sway_session() -> Iterator[sway.Sway]:
    """Headless sway, no X server: HEADLESS-1 640x480 and HEADLESS-2 800x600 at scale 2."""
    with sway.running() as s:
        yield s


@pytest.fixture(scope="module")
def gnome_session() -> Iterator[gnome.Gnome]:
    """Headless GNOME Shell with its portal, one per test module: Meta-0 1280x800, Meta-1
    1024x768 (helpers/gnome.py)."""
    with gnome.running() as g:
        yield g


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium, headless, one per test module."""
    from helpers.pages import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def tab(browser: Browser) -> Iterator[Watched]:
    """A fresh page in its own context, recording its problems and requests."""
    from helpers.pages import watch

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield watch(context.new_page())
    context.close()


@pytest.fixture(scope="session")
def retention_template(tmp_path_factory: pytest.TempPathFactory) -> retention_archive.Built:
    """The ~200 days of the retention tests (retention_archive.py), built once: copy it."""
    return retention_archive.build(tmp_path_factory.mktemp("retention") / "archive", date.today())
