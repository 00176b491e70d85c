"""What a tick did, in words: a line per captured frame, and one log line per tick."""

from __future__ import annotations

import logging
from pathlib import Path

from screenrecord.config import units
from screenrecord.models import NO_FRAME, Record

log = logging.getLogger(__name__)


def describe(r: Record, root: Path | None = None) -> str:
    """What happened to a captured frame: `new, score 0.9120, 2026-03/2026-03-10/....png`.

    With `root`, the path is given in full (for `once`, whose reader opens it).
    """
    if r.decision in NO_FRAME:
        return f"{r.decision.value}, no screenshot kept"
    score = units.score(r.score)
    what = r.decision.value + (" (keep_at_least_every)" if r.heartbeat else "")
    if r.path:
        where = r.path if root is None else str(root / r.path)
    else:
        where = f"not written: {r.error}" if r.error else "not written"
    return f"{what}, score {score}, {where}"


def log_tick(records: list[Record]) -> None:
    """One INFO line per tick that kept or failed something; unchanged screens log at DEBUG."""
    line = "; ".join(f"monitor {r.monitor}: {describe(r)}" for r in records)
    if any(r.path or r.error for r in records):
        log.info("%s", line)
    else:
        log.debug("%s", line or "no monitor to capture")
