"""A daemon subprocess whose wall clock a test moves: libfaketime, driven through a file.

The offset (`+0`, `-1h`) or the fixed time (`2026-11-01 01:30:00`) written to the file applies at
once (FAKETIME_NO_CACHE); the monotonic clock stays real (FAKETIME_DONT_FAKE_MONOTONIC), as an NTP
step or a clock set by hand leaves it.
"""

from __future__ import annotations

import glob
from pathlib import Path

from helpers.system import require

PATTERN = "/usr/lib/*/faketime/libfaketime.so.1"


class Clock:
    """The wall clock of the processes started with `env`."""

    def __init__(self, tmp: Path) -> None:
        found = sorted(glob.glob(PATTERN))
        if not found:
            require("libfaketime", files=(PATTERN.replace("*", "x86_64-linux-gnu"),))
        self.library = found[0]
        self.file = tmp / "faketime"
        self.set("+0")

    def set(self, value: str) -> None:
        """An offset from the real time (`-1h`, `+0`) or a fixed time (`2026-11-01 01:30:00`)."""
        self.file.write_text(value + "\n")

    @property
    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": self.library,
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
