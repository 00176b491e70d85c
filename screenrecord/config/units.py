"""How numbers read to a person: sizes, durations and scores, one formatter of each.

Sizes are decimal (1 kB = 1000 bytes, the unit `ls -h --si`, disk makers and the README's MB
figures use); durations are rounded to the unit a reader wants; `-` stands for a value that is
not known, in every formatter.
"""

from __future__ import annotations

import re

UNKNOWN = "-"


def size(n: int | float | None) -> str:
    """`512 B`, `7.0 kB`, `1.6 MB`, `3.2 GB`, `1.1 TB` (decimal units), or `-` when unknown."""
    if n is None:
        return UNKNOWN
    value = float(n)
    if value < 1000:
        return f"{value:.0f} B"
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if round(value, 1) < 1000:  # 999.96 kB reads as 1.0 MB, not 1000.0 kB
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} TB"


def duration(seconds: float | None) -> str:
    """`45 s`, `3 min`, `2 h 5 min`, `4 days`, or `-` when unknown; negative counts as 0."""
    if seconds is None:
        return UNKNOWN
    s = max(round(seconds), 0)  # 4.998 s between two ticks of a 5 s interval reads as 5 s
    if s < 90:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    if s < 2 * 86400:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{s // 86400} days"


def score(value: float | None, places: int = 4) -> str:
    """An SSIM score, `0.9876`, or `-` where nothing was compared.

    Four places by default: the thresholds sit at 0.99 and 0.95, and 0.9895 must not read as
    0.990, a duplicate.
    """
    return UNKNOWN if value is None else f"{value:.{places}f}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 frame`, `0 frames`, `2 frames`: a number and its noun, agreeing."""
    return f"{n} {nouns(n, noun, plural)}"


def nouns(n: int | None, noun: str, plural: str | None = None) -> str:
    """The noun that agrees with `n` (`plural`, where adding an s is wrong); an unknown count
    takes the plural (`- frames`)."""
    return noun if n == 1 else plural or noun + "s"


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str) -> int:
    """`50GB`, `800 MB`, `1.5T`, `2GiB`, `1000` (bytes) -> bytes; decimal units as `size` writes
    them, binary ones with `i`; anything else -> ValueError."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(text)
    unit = (m[2] or "").lower()
    factor = 1024 ** (" kmgt".index(unit[0])) if unit.endswith("i") else _SIZE_UNITS[unit]
    return int(float(m[1]) * factor)
