"""The daemon's loop: an APScheduler interval job, one tick at a time, signals and reloads.

SIGTERM/SIGINT stop it after the tick in progress, SIGHUP reads the config again; the pause
file is read before each tick, and the daily retention run (retention.prune.Daily) is offered
each tick that could read the screen.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from screenrecord import config as configmod
from screenrecord.archive import pause
from screenrecord.config import Config
from screenrecord.daemon.recorder import Recorder, start
from screenrecord.errors import CaptureError, ConfigError, ScreenrecordError
from screenrecord.retention import prune

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

JOB_ID = "tick"
RETRY_FIRST_S = 2.0
"""First retry after the display went away; doubles up to the interval."""


class Daemon:
    """Runs Recorder.tick on an interval until SIGTERM/SIGINT; SIGHUP reloads the config.

    All Recorder work happens on one worker thread (SQLite connections belong to the thread
    that opened them); APScheduler's job only hands the tick to it and waits.
    """

    def __init__(self, cfg: Config, environ: Mapping[str, str], config_path: Path | None) -> None:
        self.cfg = cfg
        self.environ = environ
        self.config_path = config_path
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screenrecord-tick")
        self.recorder: Recorder | None = None
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.wake = threading.Event()
        self.failures = 0
        self.scheduler: BackgroundScheduler | None = None
        self.paused: tuple[bool, datetime | None] = (False, None)
        self.retention = prune.Daily()

    def _is_paused(self) -> bool:
        """Read the pause file (see pause.py); log when the state changes, not every tick."""
        now = pause.state(self.cfg.root)
        if now != self.paused:
            if now[0]:
                log.info(
                    "%s: no screenshots (`screenrecord resume` captures again)",
                    pause.describe(*now),
                )
            else:
                log.info("pause over: capturing again")
            self.paused = now
        return now[0]

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload.set()
        else:
            self.stop.set()
        self.wake.set()

    def _start(self, cfg: Config) -> Recorder:
        return start(cfg, self.environ, warn_missing=True)

    def _tick(self) -> None:
        assert self.recorder is not None
        if self._is_paused():
            return
        now = datetime.now()
        try:
            self.recorder.tick(now)
        except CaptureError as e:
            if self.failures == 0:
                log.error("cannot capture: %s; retrying", e)
            self.failures += 1
            self._retry_soon()
            return
        except ScreenrecordError as e:  # never let one tick end the daemon
            log.error("%s", e)
        self.failures = 0
        self.retention.after_tick(self.cfg, now)

    def _retry_soon(self) -> None:
        """After a failed capture, try again sooner than the interval, backing off."""
        delay = min(self.cfg.interval_seconds, RETRY_FIRST_S * 2 ** (self.failures - 1))
        if self.scheduler is not None and delay < self.cfg.interval_seconds:
            job = self.scheduler.get_job(JOB_ID)
            if job is not None:
                job.modify(next_run_time=datetime.now().astimezone() + timedelta(seconds=delay))

    def _job(self) -> None:
        self.worker.submit(self._tick).result()

    def run(self) -> int:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        handlers = {
            s: signal.signal(s, self._on_signal)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            self.recorder = self.worker.submit(self._start, self.cfg).result()
            log.info(
                "capturing %s every %gs into %s (config: %s)",
                "all monitors"
                if self.cfg.monitors == "all"
                else f"monitors {list(self.cfg.monitors)}",
                self.cfg.interval_seconds,
                self.cfg.root,
                self.cfg.source or "built-in defaults",
            )
            if self.stop.is_set():
                return 0
            # The first tick runs now, on the worker; a display that fails here fails the start.
            if not self._is_paused():
                self.worker.submit(self.recorder.tick, datetime.now()).result()
            scheduler = BackgroundScheduler(
                executors={"default": {"type": "threadpool", "max_workers": 1}},
                job_defaults={
                    "max_instances": 1,  # at most one tick at a time
                    "coalesce": True,  # ticks missed during sleep collapse into one...
                    "misfire_grace_time": None,  # ...which runs however late it is, not dropped
                },
            )
            scheduler.add_job(
                self._job, IntervalTrigger(seconds=self.cfg.interval_seconds), id=JOB_ID
            )
            scheduler.start()
            self.scheduler = scheduler
            while not self.stop.is_set():
                self.wake.wait()
                self.wake.clear()
                if self.reload.is_set() and not self.stop.is_set():
                    self.reload.clear()
                    self._reload()
            log.info("stopping after the tick in progress")
            return 0
        finally:
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            if self.recorder is not None:
                self.worker.submit(self.recorder.close).result()
            self.worker.shutdown(wait=True)
            for s, h in handlers.items():
                signal.signal(s, h)

    def _reload(self) -> None:
        """SIGHUP: read the config again; a bad one is reported and the old one kept."""
        path = self.config_path or self.cfg.source
        try:
            new = configmod.load(path).with_every(self.cfg.every)  # `run --every` stays
        except ConfigError as e:
            log.error("config not reloaded, keeping the old one: %s", e)
            return
        if new == self.cfg:
            log.info("config reloaded from %s: unchanged", new.source or "built-in defaults")
            return
        rebuild = (new.root, new.dedup, new.monitors) != (
            self.cfg.root,
            self.cfg.dedup,
            self.cfg.monitors,
        )

        def swap() -> None:
            assert self.recorder is not None
            if rebuild:
                fresh = self._start(new)
                self.recorder.close()
                self.recorder = fresh
            else:
                self.recorder.reconfigure(new)

        try:
            self.worker.submit(swap).result()
        except ScreenrecordError as e:
            log.error("config not reloaded, keeping the old one: %s", e)
            return
        if new.interval_seconds != self.cfg.interval_seconds and self.scheduler is not None:
            from apscheduler.triggers.interval import IntervalTrigger

            self.scheduler.reschedule_job(
                JOB_ID, trigger=IntervalTrigger(seconds=new.interval_seconds)
            )
        self.cfg = new
        log.info("config reloaded from %s", new.source or "built-in defaults")
