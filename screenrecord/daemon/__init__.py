"""The capture daemon: the archive's recorder driven on an interval. Only this package reads
the clock.

    recorder  the Recorder (frames from the capture backend, kept by the ArchiveWriter,
              recorded in the catalog), one tick of it; `start` and `once`
    recovery  what a start repairs: temp files, a damaged catalog, frames a crash left unrecorded
    warmup    the rings refilled from the archive's newest kept frames
    scheduler the Daemon: the interval job, signals, reloads, pause, the daily retention run
    describe  what a tick did, in words and in the log
    memory    freed memory handed back to the system after a tick
"""

from __future__ import annotations

from screenrecord.daemon.describe import describe, log_tick
from screenrecord.daemon.recorder import Recorder, keep_policy, once, start
from screenrecord.daemon.scheduler import Daemon

__all__ = ["Daemon", "Recorder", "describe", "keep_policy", "log_tick", "once", "start"]
