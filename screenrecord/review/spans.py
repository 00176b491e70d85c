"""How long a tick stands for: the one rule by which `report`, its time by application and the
site's lanes count time.

A tick stands for the time since the previous tick of its stream, when that gap is at most
MAX_GAP capture intervals: that time is the previous tick's (a tick's change shows in the time
up to it; its focused application is taken to stay in front until the next tick). After a longer
gap (the machine slept, the recorder stopped) the tick starts a session and stands for one
interval from its own time on, with what it saw itself, so a night of sleep is not counted at all.
"""

from __future__ import annotations

MAX_GAP = 2
"""Capture intervals between two ticks beyond which the later one starts a session."""


def span(gap: float, interval: float) -> tuple[float, bool]:
    """The seconds a tick stands for, `gap` seconds after the previous tick of its stream
    (`math.inf` for the first), and whether it starts a session: then the span is `interval`
    from the tick on and its own, otherwise the `gap` before it, the previous tick's."""
    if gap > MAX_GAP * interval:
        return interval, True
    return gap, False
