"""Screenshots of every physical monitor, as RGB frames, through one backend chosen once.

A backend knows one way of reading the screen: mss (X11, macOS, Windows), grim (wlroots
compositors on Wayland), the desktop portal's Screenshot (KDE Plasma on Wayland). Which one a
session gets is decided in one place, `_choose_impl(environ, platform, setting)`, the way
python-mss picks its implementation, by the rule of `session.choose`, importing the class that
the backend's row in `session.BACKENDS` names; everything else talks to the `Backend`
interface. The module functions below (`check_session`, `monitors`, `grab`,
`looks_unpermitted`) are what the daemon and the CLI call; `setting` is `capture.backend`.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeVar

import numpy as np

from screenrecord.capture import session
from screenrecord.errors import CaptureError
from screenrecord.models import Frame

B = TypeVar("B", bound="Backend")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Monitor:
    """One physical monitor; `number` counts from 1 (mss.monitors[1:]), in the backend's order."""

    number: int
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Shot:
    """A grabbed monitor: the frame, where the monitor sits, and what the grab cost."""

    frame: Frame
    monitor: Monitor
    capture_ms: float


@dataclass(frozen=True, slots=True)
class Failure:
    """A monitor whose grab failed this tick (the others still count)."""

    monitor: Monitor
    error: str


class Backend(ABC):
    """One way of capturing the screens of a session.

    `monitors` and `grab` raise CaptureError, saying what to check, where the display cannot be
    opened; `grab` reads the monitor list again every time: monitors come and go between ticks.
    """

    name: ClassVar[str]
    """The backend's name in `capture.backend`: its row in `session.BACKENDS`."""

    @abstractmethod
    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        """A backend for the display `environ` names; what it holds is released by `close`."""

    @classmethod
    def check(cls, environ: Mapping[str, str], platform: str) -> None:
        """Raise CaptureError, saying what to do, where this session cannot be captured at all:
        the backend's rule in `session` (only the environment and the platform are looked at)."""
        problem = session.BACKENDS[cls.name].problem(environ, platform)
        if problem is not None:
            raise CaptureError(problem)

    @abstractmethod
    def monitors(self) -> list[Monitor]:
        """The physical monitors now attached."""

    @abstractmethod
    def grab(
        self, taken: datetime, wanted: Iterable[int] | None = None, ext: str = "png"
    ) -> tuple[list[Shot], list[Failure]]:
        """Grab every wanted monitor (all when None) once; frames are named for `ext` files.

        A display that went away raises CaptureError; a single monitor that fails is a Failure.
        """

    def close(self) -> None:  # noqa: B027 - a backend that holds nothing needs no clean-up
        """Release what the backend holds (a display connection, a portal session)."""

    def __enter__(self: B) -> B:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def numbered(listed: Iterable[T], wanted: Iterable[int] | None) -> Iterator[tuple[int, T]]:
    """The listed monitors, numbered from 1, that `wanted` names (all of them when None)."""
    wanted_set = None if wanted is None else set(wanted)
    for number, item in enumerate(listed, start=1):
        if wanted_set is None or number in wanted_set:
            yield number, item


def _choose_impl(environ: Mapping[str, str], platform: str, setting: str = "auto") -> type[Backend]:
    """The backend for this session: the one place that says which (`session.choose` holds
    the rule). Raises CaptureError, saying what to do, where auto finds none."""
    chosen = session.choose(environ, platform, setting)
    if chosen.backend is None:
        raise CaptureError(chosen.refusal)
    return session.BACKENDS[chosen.backend].load()


def open_backend(
    environ: Mapping[str, str], platform: str = sys.platform, setting: str = "auto"
) -> Backend:
    """The chosen backend for the display `environ` names; use it as a context manager."""
    return _choose_impl(environ, platform, setting)(environ, platform)


def check_session(
    environ: Mapping[str, str], platform: str = sys.platform, setting: str = "auto"
) -> None:
    """Fail early, with what to do, where no screen can be captured at all."""
    _choose_impl(environ, platform, setting).check(environ, platform)


def monitors(environ: Mapping[str, str], setting: str = "auto") -> list[Monitor]:
    """The physical monitors now attached to the display `environ` names."""
    with open_backend(environ, setting=setting) as backend:
        return backend.monitors()


def grab(
    environ: Mapping[str, str],
    taken: datetime,
    wanted: Iterable[int] | None = None,
    ext: str = "png",
    setting: str = "auto",
) -> tuple[list[Shot], list[Failure]]:
    """Grab every wanted monitor of the display `environ` names once (see Backend.grab)."""
    with open_backend(environ, setting=setting) as backend:
        return backend.grab(taken, wanted, ext)


def looks_unpermitted(shots: list[Shot], platform: str = sys.platform) -> bool:
    """macOS without Screen Recording permission returns black frames: all black on all monitors.

    A fact of macOS, not of one backend: every way of reading its screen gets the same black.
    """
    if platform != "darwin" or not shots:
        return False
    return all(not np.asarray(s.frame.image).any() for s in shots)
