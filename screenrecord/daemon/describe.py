"""What a tick did, in words: a line per captured frame, and one log line per tick."""

from __future__ import annotations

import logging
from pathlib import Path

from screenrecord.config import units
from screenrecord.models import NO_FRAME, Kind, Record

log = logging.getLogger(__name__)


def describe(r: Record, root: Path | None = None) -> str:
    """What happened to a captured frame: `new, score 0.9120, 2026-03/2026-03-10/....png`;
    for a duplicate by score kept because a line of it changed, `near (duplicate by score
    0.9911; kept: 1 region 612x18 at 120,340 changed), ...`.

    With `root`, the path is given in full (for `once`, whose reader opens it).
    """
    if r.decision in NO_FRAME:
        return f"{r.decision.value}, no screenshot kept"
    score = units.score(r.score)
    what = r.decision.value + (" (keep_at_least_every)" if r.heartbeat else "")
    if r.reason:
        what += f" ({r.reason})"
    if r.path:
        where = r.path if root is None else str(root / r.path)
    else:
        where = f"not written: {r.error}" if r.error else "not written"
    return f"{what}, score {score}, {where}"


UNCHANGED_ONCE = (
    "nothing changed since the last frame: not stored (said only this once; -vv logs every tick)"
)
"""Said at the first tick that only saw repeats, so that a quiet log does not look like a hang."""


def unchanged(records: list[Record]) -> bool:
    """Whether a tick captured every monitor and found each the same as a kept frame."""
    return bool(records) and all(r.decision is Kind.DUPLICATE for r in records)


def log_tick(records: list[Record], say_unchanged: bool = False) -> None:
    """One INFO line per tick that kept or failed something; unchanged screens log at DEBUG,
    except that with `say_unchanged` an unchanged tick says so at INFO (UNCHANGED_ONCE)."""
    line = "; ".join(f"monitor {r.monitor}: {describe(r)}" for r in records)
    if any(r.path or r.error for r in records):
        log.info("%s", line)
    else:
        log.debug("%s", line or "no monitor to capture")
        if say_unchanged and unchanged(records):
            log.info("%s", UNCHANGED_ONCE)
