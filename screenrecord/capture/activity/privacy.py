"""Exclusions that keep pixels out: which windows match a rule, and painting them over.

A rule matches a window by application or executable name (`exclude_apps`, case-insensitive,
the whole name; `KeePassXC` also matches `keepassxc.exe`) or by a regular expression searched in
its title (`exclude_titles`, case-insensitive). The daemon paints the visible part of every
matching window, frame and title bar included, in one flat colour in each monitor's frame
*before* the frame is compared or stored: an excluded window never reaches the ring or the
archive, and cannot make a frame count as new.

The visible part is the window's rectangle less the rectangles of the opaque windows above it
in stacking order (the readers list windows bottom to top): an excluded window hidden behind a
full-screen one, or the lock screen, is not painted at all, so the screen looks as it did
before and is recognised. A window that may be translucent (`Window.opaque` False: a 32-bit
X window or one with `_NET_WM_WINDOW_OPACITY`, a macOS window with alpha below 1 or outside
the normal layer) covers nothing, since the excluded one would show through it. What this
cannot know: a window drawn with rounded corners or a shadow inside its rectangle may show a
few pixels of the corner of an excluded window just below it.

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
    """Paint over the visible part of every excluded window in `frame`, the monitor at
    (left, top) of size (width, height) on the virtual screen; returns the frame and whether
    nothing of the monitor is left (every pixel painted).

    Window rectangles are in the virtual screen's units; a frame with more pixels than the
    monitor has units (macOS Retina) is painted to scale: rounded outwards where painted,
    inwards where covered, so a pixel in doubt is painted.
    """
    if not any(rules.matches(w) for w in seen.windows):
        return frame, False
    image = np.asarray(frame.image)
    if not image.flags.writeable:  # a PIL image's view; a grabbed array is painted in place
        image = image.copy()
    fh, fw = image.shape[:2]
    sx, sy = fw / width, fh / height
    painted = np.zeros((fh, fw), dtype=bool)
    covered = np.zeros((fh, fw), dtype=bool)
    for w in reversed(seen.windows):  # top first: `covered` is what the windows above hide
        x0, x1 = (w.left - left) * sx, (w.left + w.width - left) * sx
        y0, y1 = (w.top - top) * sy, (w.top + w.height - top) * sy
        if rules.matches(w):
            box = _box(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)), fw, fh)
            visible = ~covered[box]
            image[box][visible] = FILL
            painted[box] |= visible
        if w.opaque:
            covered[_box(int(np.ceil(x0)), int(np.ceil(y0)), int(x1), int(y1), fw, fh)] = True
    if not painted.any():
        return frame, False
    return dataclasses.replace(frame, image=image), bool(painted.all())


def _box(x0: int, y0: int, x1: int, y1: int, fw: int, fh: int) -> tuple[slice, slice]:
    """The rows and columns of a rectangle within a frame of fw x fh pixels (maybe empty)."""
    return slice(max(0, y0), max(0, min(fh, y1))), slice(max(0, x0), max(0, min(fw, x1)))


def skip_whole_tick(seen: Activity) -> bool:
    """Where only the focused window is known, an excluded one keeps the whole tick out."""
    return seen.excluded is not None and not seen.lists_windows
