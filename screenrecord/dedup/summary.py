"""What a `dedup` run tells: its summary, and the `--json` line of each decided frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from screenrecord.models import Kind, Record


@dataclass
class Summary:
    """What a dedup run decided and did."""

    frames: int = 0
    duplicate: int = 0
    near: int = 0
    new: int = 0
    errors: int = 0
    ignored: int = 0
    """Files that are not images (left alone)."""
    freed: int = 0
    """Bytes of the duplicates (freed once dedup/ folders are deleted)."""
    finished: int = 0
    """Files moved first, to finish an earlier run that was interrupted (its plan complete)."""
    planned: int = 0
    """Moves this run planned (with --apply)."""
    moved: int = 0
    """Files this run moved, of those it planned."""
    applied: bool = False
    stage: str = "listing"
    """How far the run got: listing, finishing (an earlier run), deciding, moving, done."""
    interrupted: bool = False
    """Cut short by Ctrl-C (SIGINT) at `stage`: what was moved stays moved and journaled."""
    ring_bytes: int = 0
    """Memory the rings held at the end."""

    def count(self, rec: Record, size: int) -> None:
        self.frames += 1
        if rec.decision is Kind.ERROR:
            self.errors += 1
            return
        setattr(self, rec.decision.value, getattr(self, rec.decision.value) + 1)
        if rec.decision is Kind.DUPLICATE:
            self.freed += size


def to_json(rec: Record) -> dict[str, Any]:
    """The `--json` line of a decided frame: where it was, the decision, and where it went;
    where it changed against its match and why it was kept, when told (`regions`, `reason`)."""
    line: dict[str, Any] = {
        "path": rec.source,
        "decision": rec.decision.value,
        "score": None if rec.score is None else round(rec.score, 6),
        "match": rec.match,
        "error": rec.error,
        "moved_to": rec.path if rec.path != rec.source else None,
    }
    if rec.regions:  # where it changed against its match (keep_local_changes)
        line["regions"] = [[b.x, b.y, b.w, b.h] for b in rec.regions]
    if rec.reason:
        line["reason"] = rec.reason
    return line
