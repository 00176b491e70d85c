"""The daemon's loop: one tick at a time on a clock the wall clock cannot move, signals, reloads.

Ticks are timed on the monotonic clock (CLOCK_BOOTTIME on Linux, which also runs while the
machine sleeps), never on the wall clock: an NTP correction or a clock set back an hour by hand
does not hold the next tick back for that hour, and a clock set forward brings no burst. The
wall clock only dates the frames (their names are local time: see store.frame_name).

Ticks missed while the machine slept (or the process was stopped) give one catch-up tick, not
a burst; after a failed capture the next try comes sooner, backing off up to the interval.
SIGTERM/SIGINT stop it after the tick in progress, or within STOP_GRACE_S without it where that
tick is stuck (a display that does not answer); SIGHUP reads the config again; SIGCONT (after a
SIGSTOP) wakes the loop to catch up at once, as a wait's timeout may not count the time
stopped. The pause file is read before each tick, and the daily retention run
(retention.prune.Daily) is offered each tick that could read the screen.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from screenrecord import config as configmod
from screenrecord.archive import pause
from screenrecord.config import Config
from screenrecord.daemon.recorder import Recorder, start
from screenrecord.errors import CaptureError, ConfigError, ScreenrecordError
from screenrecord.retention import prune

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_FIRST_S = 2.0
"""First retry after the display went away; doubles up to the interval."""
STUCK_AFTER_S = 10.0
"""A tick still running after this long is stuck (an X server that is stopped or frozen never
answers the grab): it is logged as not captured, and no tick starts until it ends. A normal
tick takes well under a second, a first one on a slow disk a few."""
STOP_GRACE_S = 3.0
"""How long SIGTERM waits for the tick in progress before exiting without it."""
WAIT_SLICE_S = 1.0
"""Longest single wait: waits time out on a clock that stops while the machine sleeps, so the
loop looks at CLOCK_BOOTTIME at least this often to notice a wake-up."""


def clock() -> float:
    """Seconds on a clock that only moves forward, also across a suspend where it can."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


class Worker:
    """One thread that runs the Recorder's work in order (SQLite connections belong to the
    thread that opened them). A daemon thread: a call stuck in a display that never answers
    cannot keep the process from exiting."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name="screenrecord-tick", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        fut: Future[T] = Future()
        self._calls.put((fut, lambda: fn(*args)))
        return fut

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            fut, fn = call
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # handed to the waiting caller
                fut.set_exception(e)

    def shutdown(self) -> None:
        """End the thread after the calls queued (a stuck one is left behind)."""
        self._calls.put(None)


class Alarm:
    """What wakes the main loop early: a signal (its handler rings, and signal.set_wakeup_fd
    writes a byte even before that) or the end of a call on the worker.

    A socket pair rather than a threading.Event: a signal handler that takes a lock the main
    thread may hold at that moment (Event.set inside Event.wait) deadlocks the daemon.
    """

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)

    def fileno(self) -> int:
        """The end that signal.set_wakeup_fd writes to."""
        return self._w.fileno()

    def ring(self) -> None:
        with contextlib.suppress(OSError):  # full: it is ringing already
            self._w.send(b"\0")

    def wait(self, seconds: float) -> None:
        """Until rung, or `seconds` passed."""
        ready, _, _ = select.select([self._r], [], [], max(0.0, seconds))
        if ready:
            with contextlib.suppress(OSError):
                while self._r.recv(4096):
                    pass

    def close(self) -> None:
        self._r.close()
        self._w.close()


class Daemon:
    """Runs Recorder.tick on an interval until SIGTERM/SIGINT; SIGHUP reloads the config.

    All Recorder work happens on one worker thread; this loop, on the main thread, decides when
    a tick is due, hands it over, and answers signals meanwhile.
    """

    def __init__(self, cfg: Config, environ: Mapping[str, str], config_path: Path | None) -> None:
        self.cfg = cfg
        self.environ = environ
        self.config_path = config_path
        self.worker = Worker()
        self.recorder: Recorder | None = None
        self.stop = False
        self.reload = False
        """Set by the signal handlers; read by the main loop only."""
        self.alarm = Alarm()
        self.failures = 0
        self.paused: tuple[bool, datetime | None] = (False, None)
        self.retention = prune.Daily()
        self.next_at = 0.0
        """When the next tick is due, on `clock()`."""
        self.stuck: tuple[datetime, float] | None = None
        """The tick that did not end (its wall-clock time, and its start on `clock()`)."""
        self.abandoned = False
        """A stop gave up on the worker's call in progress: the worker is not to be used."""

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
            self.reload = True
        elif signum != signal.SIGCONT:  # SIGCONT only wakes the loop, to catch up at once
            self.stop = True
        self.alarm.ring()

    def _start(self, cfg: Config) -> Recorder:
        return start(cfg, self.environ, warn_missing=True)

    def _tick(self, now: datetime) -> float | None:
        """One tick on the worker; returns how soon to try again after a failed capture."""
        assert self.recorder is not None
        if self._is_paused():
            return None
        try:
            self.recorder.tick(now)
        except CaptureError as e:
            if self.failures == 0:
                log.error("cannot capture: %s; retrying", e)
            self.failures += 1
            delay = min(self.cfg.interval_seconds, RETRY_FIRST_S * 2 ** (self.failures - 1))
            return delay if delay < self.cfg.interval_seconds else None
        except ScreenrecordError as e:  # never let one tick end the daemon
            log.error("%s", e)
        self.failures = 0
        self.retention.after_tick(self.cfg, now)
        return None

    def _wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, or until a signal or the end of a call wakes the loop."""
        self.alarm.wait(min(seconds, WAIT_SLICE_S))

    def _finish(self, fut: Future[T], what: str, started: float) -> bool:
        """Wait for a call on the worker; False when a stop asked meanwhile gave up on it
        after STOP_GRACE_S (saying so), True once it ended."""
        fut.add_done_callback(lambda _f: self.alarm.ring())
        given_up_at: float | None = None
        while not fut.done():
            if self.stop:
                if given_up_at is None:
                    given_up_at = clock() + STOP_GRACE_S
                if clock() >= given_up_at:
                    log.warning(
                        "stopping without %s, running for %.0f s (the display does not answer?); "
                        "nothing of it is stored",
                        what,
                        clock() - started,
                    )
                    self.abandoned = True
                    return False
                self._wait(given_up_at - clock())
            else:
                self._wait(WAIT_SLICE_S)
        return True

    def run(self) -> int:
        wakeup = signal.set_wakeup_fd(self.alarm.fileno(), warn_on_full_buffer=False)
        handlers = {
            s: signal.signal(s, self._on_signal)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCONT)
        }
        try:
            starting = self.worker.submit(self._start, self.cfg)
            if not self._finish(starting, "the start", clock()):
                return 0
            self.recorder = starting.result()
            log.info(
                "capturing %s every %gs into %s (config: %s)",
                "all monitors"
                if self.cfg.monitors == "all"
                else f"monitors {list(self.cfg.monitors)}",
                self.cfg.interval_seconds,
                self.cfg.root,
                self.cfg.source or "built-in defaults",
            )
            if self.stop:
                return 0
            # The first tick runs now, on the worker; a display that fails here fails the start.
            if not self._is_paused():
                first = datetime.now()
                tick = self.worker.submit(self.recorder.tick, first)
                if not self._finish(tick, f"the tick of {first:%H:%M:%S}", clock()):
                    return 0
                tick.result()
            self.next_at = clock() + self.cfg.interval_seconds
            self._loop()
            return 0
        finally:
            if self.recorder is not None and not self.abandoned:
                self.worker.submit(self.recorder.close).result()
            self.worker.shutdown()
            for s, h in handlers.items():
                signal.signal(s, h)
            signal.set_wakeup_fd(wakeup)
            self.alarm.close()

    def _loop(self) -> None:
        """Ticks until a stop."""
        running: Future[float | None] | None = None
        began = (datetime.now(), 0.0)
        while not self.stop:
            if self.reload and running is None:
                self.reload = False
                self._reload()
                continue
            now = clock()
            if running is not None and running.done():
                try:
                    retry = running.result()
                except Exception:  # a bug: said with its traceback, and the next tick comes
                    log.exception("the tick of %s failed", f"{began[0]:%H:%M:%S}")
                    retry = None
                if self.stuck is not None:
                    log.warning(
                        "the tick of %s ended after %.0f s: capturing again",
                        f"{began[0]:%H:%M:%S}",
                        now - began[1],
                    )
                    self.stuck = None
                running = None
                if retry is not None:
                    self.next_at = min(self.next_at, now + retry)
            if running is not None:
                if self.stuck is None and now - began[1] >= STUCK_AFTER_S:
                    self.stuck = began
                    log.error(
                        "the tick of %s has not ended after %.0f s (the display does not "
                        "answer?): not captured, and no new tick until it ends",
                        f"{began[0]:%H:%M:%S}",
                        now - began[1],
                    )
                self._wait(began[1] + STUCK_AFTER_S - now if self.stuck is None else WAIT_SLICE_S)
                continue
            if now < self.next_at:
                self._wait(self.next_at - now)
                continue
            # Due: one tick, however many were missed (a suspend); the next one on the grid.
            interval = self.cfg.interval_seconds
            self.next_at += interval * (math.floor((now - self.next_at) / interval) + 1)
            began = (datetime.now(), now)
            running = self.worker.submit(self._tick, began[0])
            running.add_done_callback(lambda _f: self.alarm.ring())
        log.info("stopping after the tick in progress")
        if running is not None:
            self._finish(running, f"the tick of {began[0]:%H:%M:%S}", began[1])

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

        swapping = self.worker.submit(swap)
        if not self._finish(swapping, "the reload", clock()):
            return
        try:
            swapping.result()
        except ScreenrecordError as e:
            log.error("config not reloaded, keeping the old one: %s", e)
            return
        if new.interval_seconds != self.cfg.interval_seconds:
            self.next_at = clock() + new.interval_seconds
        self.cfg = new
        log.info("config reloaded from %s", new.source or "built-in defaults")
