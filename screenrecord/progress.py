"""How long jobs (highlights, day pages) say how far they are, without printing anything.

A library function takes an optional `Progress` and calls it; what it is drawn as, if at all, is
the caller's business (the CLI draws a bar on a terminal).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told the size of a stage of work, then each piece done."""

    def start(self, total: int) -> None:
        """A stage of `total` steps begins (a later call begins another)."""

    def advance(self, n: int = 1) -> None:
        """`n` more steps are done."""
