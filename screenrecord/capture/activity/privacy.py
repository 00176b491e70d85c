"""Exclusions that keep pixels out: which windows match a rule, and painting them over.

A rule matches a window by application or executable name (`exclude_apps`, case-insensitive,
the whole name; `KeePassXC` also matches `keepassxc.exe`) or by a regular expression searched in
its title (`exclude_titles`, case-insensitive). The daemon paints every visible matching
window's rectangle, frame and title bar included, in one flat colour in each monitor's frame
*before* the frame is compared or stored: an excluded window never reaches the ring or the
archive, and cannot make a frame count as new. The whole rectangle is painted even where another
window covers part of it (a translucent window above would show it through).

`judge` decides what of a tick's activity may be stored: the title of an excluded focused window
never is (the rule that matched is), nor any title with `record_titles = false`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from screenrecord.models import Activity, Frame, Window

FILL = (128, 128, 128)
"""The flat colour excluded windows are painted with: mid grey."""


@dataclass(frozen=True)
class Rules:
    """The exclusions of a config, compiled once."""

    apps: tuple[str, ...] = ()
    titles: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, exclude_apps: Iterable[str], exclude_titles: Iterable[str]) -> Rules:
        """The rules of `[privacy] exclude_apps` and `exclude_titles`, as the config holds them."""
        return cls(
            tuple(exclude_apps),
            tuple(re.compile(t, re.IGNORECASE) for t in exclude_titles),
        )

    def __bool__(self) -> bool:
        return bool(self.apps or self.titles)

    def match(self, app: str | None, executable: str | None, title: str | None) -> str | None:
        """The rule that excludes a window with these names, as the config spells it, or None."""
        names = {n.casefold() for n in (app, executable) if n}
        names |= {PurePath(n).stem for n in names}  # keepassxc.exe -> keepassxc
        for a in self.apps:
            if a.casefold() in names:
                return f'exclude_apps "{a}"'
        if title:
            for t in self.titles:
                if t.search(title):
                    return f'exclude_titles "{t.pattern}"'
        return None

    def matches(self, w: Window) -> bool:
        return self.match(w.app, w.executable, w.title) is not None


def judge(seen: Activity, rules: Rules, record_titles: bool) -> Activity:
    """What of `seen` may be stored: an excluded focused window keeps only the rule's name.

    A kept title has its control characters (a newline in a window title) made spaces, so that
    every line that shows it stays one line.
    """
    rule = rules.match(seen.app, seen.executable, seen.title)
    if rule is not None:
        return dataclasses.replace(seen, app=None, executable=None, title=None, excluded=rule)
    if not record_titles or seen.title is None:
        return dataclasses.replace(seen, title=None)
    title = "".join(c if c.isprintable() else " " for c in seen.title)
    return seen if title == seen.title else dataclasses.replace(seen, title=title)


def mask(
    frame: Frame, left: int, top: int, width: int, height: int, seen: Activity, rules: Rules
) -> tuple[Frame, bool]:
    """Paint over every visible excluded window in `frame`, the monitor at (left, top) of size
    (width, height) on the virtual screen; returns the frame and whether nothing of the monitor
    is left (every pixel painted).

    Window rectangles are in the virtual screen's units; a frame with more pixels than the
    monitor has units (macOS Retina) is painted to scale.
    """
    hidden = [w for w in seen.windows if rules.matches(w)]
    if not hidden:
        return frame, False
    image = np.asarray(frame.image)
    if not image.flags.writeable:  # a PIL image's view; a grabbed array is painted in place
        image = image.copy()
    fh, fw = image.shape[:2]
    sx, sy = fw / width, fh / height
    painted = np.zeros((fh, fw), dtype=bool)
    for w in hidden:
        x0 = max(0, int((w.left - left) * sx))
        y0 = max(0, int((w.top - top) * sy))
        x1 = min(fw, int(np.ceil((w.left + w.width - left) * sx)))
        y1 = min(fh, int(np.ceil((w.top + w.height - top) * sy)))
        if x0 < x1 and y0 < y1:
            image[y0:y1, x0:x1] = FILL
            painted[y0:y1, x0:x1] = True
    if not painted.any():
        return frame, False
    return dataclasses.replace(frame, image=image), bool(painted.all())


def skip_whole_tick(seen: Activity) -> bool:
    """Where only the focused window is known, an excluded one keeps the whole tick out."""
    return seen.excluded is not None and not seen.lists_windows
