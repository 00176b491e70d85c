"""How long jobs (highlights, day pages) say how far they are, without printing anything.

A library function takes an optional `Progress` and calls it; what it is drawn as, if at all, is
the caller's business. `TerminalBar` is the one the CLI uses: a tqdm bar on stderr.
"""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """Told the size of a stage of work, then each piece done."""

    def start(self, total: int) -> None:
        """A stage of `total` steps begins (a later call begins another)."""

    def advance(self, n: int = 1) -> None:
        """`n` more steps are done."""


class TerminalBar:
    """A tqdm progress bar on stderr that disappears when done; for the CLI, not the library."""

    def __init__(self, desc: str, unit: str = "frame") -> None:
        self.desc = desc
        self.unit = unit
        self._bar: Any = None  # tqdm ships no types

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.close()
        self._bar = tqdm(total=total, desc=self.desc, unit=self.unit, leave=False)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TerminalBar:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
