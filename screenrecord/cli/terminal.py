"""Progress on the terminal."""

from __future__ import annotations

from typing import Any


class TerminalBar:
    """A tqdm progress bar on stderr (a `models.Progress`), drawn only when `enabled`."""

    def __init__(self, desc: str, enabled: bool, unit: str = "frame") -> None:
        self.desc = desc
        self.enabled = enabled
        self.unit = unit
        self._bar: Any = None  # tqdm ships no types

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.close()
        if self.enabled:
            self._bar = tqdm(
                total=total, desc=self.desc, unit=self.unit, leave=False, dynamic_ncols=True
            )

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
