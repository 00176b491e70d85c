"""The capture daemon: an APScheduler interval job, one tick at a time, signals and reloads.

A tick grabs every wanted monitor and hands each frame to the pipeline, whose sink here is the
ArchiveWriter (kept frames become new files, written atomically) and whose records go into the
archive's catalog. Only this module reads the clock.
"""

from __future__ import annotations

import ctypes
import dataclasses
import itertools
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from screenrecord import capture
from screenrecord import config as configmod
from screenrecord.archive import ahead, catalog, images, lock, pause, store
from screenrecord.archive.catalog import Catalog, CatalogDamaged
from screenrecord.archive.writer import ArchiveWriter
from screenrecord.capture import activity
from screenrecord.capture.activity import privacy
from screenrecord.config import Config, units
from screenrecord.errors import CaptureError, ConfigError, ImageError, ScreenrecordError, StoreError
from screenrecord.models import NO_FRAME, Activity, Frame, Kind, Record
from screenrecord.pipeline import KeepPolicy, Pipeline
from screenrecord.retention import prune

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

JOB_ID = "tick"
RETRY_FIRST_S = 2.0
"""First retry after the display went away; doubles up to the interval."""


class Recorder:
    """The daemon's driver of the pipeline: frames from the capture backend, kept by an
    ArchiveWriter, recorded in the archive's catalog. Not thread-safe: use it from one thread."""

    def __init__(self, cfg: Config, environ: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.environ = environ
        self.root = cfg.root
        try:
            store.make_dirs(self.root)
        except OSError as e:
            raise StoreError(
                f"{self.root}: cannot create the archive root ({e.strerror}); fix `root` in the config"
            ) from None
        lock.acquire(self.root)  # before anything touches the archive's temp files or catalog
        try:
            for tmp in store.remove_temp_files(self.root):
                log.warning("%s: removed, left by a write that was cut short", tmp)
            self.catalog = self._open_catalog()
            # a changed tick can afford ~4 ms more per monitor (~40 with a ring of 1,000) for
            # rings that hold 50 KB less a 1080p frame, for months
            self.pipeline = Pipeline(
                cfg.dedup_settings(),
                keep_policy(cfg),
                ArchiveWriter(self.root, cfg.storage),
                self.catalog,
                keep_coarse_stats=False,
            )
            self._record_unrecorded()
        except BaseException:
            lock.release(self.root)
            raise
        self.capture_down: str | None = None
        self.reader = activity.open_reader(environ)
        self.rules = privacy.Rules.of(cfg.privacy.exclude_apps, cfg.privacy.exclude_titles)
        self.skipping: Kind | None = None
        """Why the last tick took no screenshot (locked, idle, excluded), to log changes once."""

    def reconfigure(self, cfg: Config) -> None:
        """Take a config whose root, dedup settings and monitors are unchanged (a SIGHUP)."""
        self.cfg = cfg
        self.pipeline.policy = keep_policy(cfg)
        self.pipeline.sink = ArchiveWriter(self.root, cfg.storage)
        self.rules = privacy.Rules.of(cfg.privacy.exclude_apps, cfg.privacy.exclude_titles)

    def close(self) -> None:
        try:
            self.reader.close()
            self.catalog.close()
        finally:
            lock.release(self.root)

    def _open_catalog(self) -> Catalog:
        """The archive's catalog; a damaged one is set aside and a new one rebuilt from the
        archive, so that a disk hiccup in derived data never stops the recording of frames."""
        try:
            return Catalog.open(self.root, check=True)
        except CatalogDamaged as e:
            damage = e
        aside = catalog.set_aside(self.root, datetime.now())
        cat = Catalog.open(self.root)
        try:
            n = cat.record_many(self._kept_records(store.newest_frames(self.root)))
        except BaseException:
            cat.close()
            raise
        log.error(
            "%s; kept as %s, new catalog rebuilt from the %d frames of the archive "
            "(the repeats skipped before now are not in it)",
            damage,
            aside.name,
            n,
        )
        return cat

    def _kept_records(self, found: Iterable[store.ArchiveFile]) -> Iterator[Record]:
        """A record for each kept frame found on disk: new, or near in `similar/` (unreadable
        files are logged and left out)."""
        for f in found:
            try:
                size = f.path.stat().st_size
                width, height = images.size(f.path)
            except (OSError, ImageError) as e:  # not ours to judge here: warm-up skips them
                log.warning("%s: not recorded (%s)", f.path, e)
                continue
            kind = Kind.NEAR if f.path.parent.name == store.SIMILAR else Kind.NEW
            rel = f.path.relative_to(self.root).as_posix()
            yield Record(f.taken, f.monitor, width, height, kind, path=rel, bytes=size)

    def _record_unrecorded(self) -> None:
        """Record frames written by the last tick before a crash but not yet in the catalog.

        A frame is linked into place before its decision is recorded, so a kill -9 between the
        two leaves a complete file the catalog does not know. Only frames at or after the newest
        recorded decision can be such files; an archive without catalog rows is left alone.
        """
        latest = self.catalog.latest_taken()
        if latest is None:
            return
        unrecorded = itertools.takewhile(
            lambda f: f.taken >= latest, store.newest_frames(self.root)
        )
        for rec in self._kept_records(
            f
            for f in unrecorded
            if self.catalog.find(f.path.relative_to(self.root).as_posix()) is None
        ):
            self.pipeline.record(rec)
            log.warning("%s: recorded now, written just before the daemon stopped", rec.path)

    def warm_up(self, monitors: list[capture.Monitor]) -> int:
        """Refill each attached monitor's ring from its newest kept frames on disk, oldest first.

        Only frames of the monitor's current size count (other sizes are other streams), so a
        restart does not write a repeat of what is already there. Unreadable files are skipped.
        Frames are picked by their headers, then decoded in a second thread, two ahead of the
        one being prepared: a ring of 100 1080p frames is never 600 MB of pixels at once.
        """
        start = time.perf_counter()
        sizes = {m.number: (m.width, m.height) for m in monitors if self.cfg.wants(m.number)}
        want = self.cfg.dedup.ring_size
        picked: dict[int, list[store.ArchiveFile]] = {n: [] for n in sizes}
        for f in store.newest_frames(self.root, monitors=None):
            self.pipeline.last_kept.setdefault(f.monitor, f.taken)
            if all(len(v) >= want for v in picked.values()):
                break
            if f.monitor not in sizes or len(picked[f.monitor]) >= want:
                continue
            try:
                if images.size(f.path) != sizes[f.monitor]:
                    continue
            except ImageError as e:
                self._skip_while_refilling(f.path, e)
                continue
            picked[f.monitor].append(f)
        n = 0
        oldest_first = [f for files in picked.values() for f in reversed(files)]
        decode = ahead.prefetch(lambda f: images.load_or_error(f.path), oldest_first, depth=2)
        for f, decoded in decode:  # oldest first, so the newest ends in front
            pixels = decoded.result()
            if isinstance(pixels, ImageError):
                self._skip_while_refilling(f.path, pixels)
                continue
            name = f.path.relative_to(self.root).as_posix()
            self.pipeline.remember(Frame(f.monitor, pixels, f.taken, name, f.path))
            n += 1
        if n:
            log.info(
                "refilled the rings with %s from %s in %.1f s",
                units.count(n, "kept frame"),
                self.root,
                time.perf_counter() - start,
            )
        return n

    @staticmethod
    def _skip_while_refilling(path: Path, e: ImageError) -> None:
        """Any unreadable image is skipped, never fatal."""
        reason = str(e).removeprefix(f"{path}: ")
        log.warning("%s: skipped while refilling the ring (%s)", path, reason)

    def tick(self, now: datetime) -> list[Record]:
        """Read what the user is doing, then grab every wanted monitor once (unless the screen is
        locked, the user idle or an excluded window focused where windows cannot be painted),
        paint excluded windows over and put each frame through the pipeline."""
        seen = self.reader.read(windows=bool(self.rules))  # the list only matters for rules
        seen = privacy.judge(seen, self.rules, self.cfg.activity.record_titles)
        skip = self._skip(seen)
        self._log_skip(skip)
        shots, failures, wanted = self._grab(now, skip is None)
        seen = _on_monitor(seen, wanted)
        records = []
        if skip is not None:
            records = [self.pipeline.record(_no_frame(now, m, skip, seen)) for m in wanted]
        for s in shots:
            m = s.monitor
            frame, gone = privacy.mask(s.frame, m.left, m.top, m.width, m.height, seen, self.rules)
            if gone:  # nothing of the monitor is left to keep
                records.append(
                    self.pipeline.record(_no_frame(now, m, Kind.EXCLUDED, seen, s.capture_ms))
                )
            else:
                records.append(
                    self.pipeline.process(frame, monitor=m, capture_ms=s.capture_ms, activity=seen)
                )
        for fail in failures:
            m = fail.monitor
            log.error("monitor %d: grab failed (%s)", m.number, fail.error)
            records.append(
                self.pipeline.failed(
                    now,
                    m.number,
                    f"grab failed: {fail.error}",
                    (m.width, m.height),
                    (m.left, m.top),
                )
            )
        log_tick(records)
        del shots  # the frames' pixels, before handing freed memory back
        _release_memory()
        return records

    def _grab(
        self, now: datetime, grab: bool
    ) -> tuple[list[capture.Shot], list[capture.Failure], list[capture.Monitor]]:
        """Grab every wanted monitor (or, when not `grab`, only list them); also the monitors.

        Raises CaptureError where the screen cannot be read, and says once when it can again.
        """
        shots: list[capture.Shot] = []
        failures: list[capture.Failure] = []
        backend = self.cfg.capture.backend
        try:
            if grab:
                shots, failures = capture.grab(
                    self.environ, now, self.cfg.wanted, self.cfg.storage.ext, backend
                )
                wanted = [s.monitor for s in shots] + [f.monitor for f in failures]
            else:
                listed = capture.monitors(self.environ, backend)
                wanted = [m for m in listed if self.cfg.wants(m.number)]
            if capture.looks_unpermitted(shots):
                raise CaptureError(
                    "every monitor came back black: allow Screen Recording for screenrecord in "
                    "System Settings > Privacy & Security > Screen Recording"
                )
        except CaptureError as e:
            self.capture_down = str(e)  # the caller says it once: at start it is fatal
            raise
        if self.capture_down is not None:
            log.warning("capturing again after: %s", self.capture_down)
            self.capture_down = None
        return shots, failures, wanted

    def _skip(self, seen: Activity) -> Kind | None:
        """Why this tick takes no screenshot at all, or None to take one."""
        a = self.cfg.activity
        if a.skip_when_locked and seen.locked:
            return Kind.LOCKED
        if privacy.skip_whole_tick(seen):
            return Kind.EXCLUDED
        if (
            a.skip_when_idle
            and seen.idle_s is not None
            and seen.idle_s >= a.idle_after.total_seconds()
        ):
            return Kind.IDLE
        return None

    def _log_skip(self, skip: Kind | None) -> None:
        """One line when ticks start or stop taking no screenshot, not one per tick."""
        if skip == self.skipping:
            return
        if skip is not None:
            log.info("%s: no screenshots until that changes", _SKIP_REASONS[skip][0])
        elif self.skipping is not None:
            log.info("%s: capturing again", _SKIP_REASONS[self.skipping][1])
        self.skipping = skip


_SKIP_REASONS = {
    Kind.LOCKED: ("the screen is locked", "the screen is unlocked"),
    Kind.IDLE: ("no input for activity.idle_after", "input again"),
    Kind.EXCLUDED: ("an excluded window is focused", "no excluded window is focused"),
}
"""Why ticks take no screenshot, and what ends it: for the log."""


def _no_frame(
    now: datetime,
    m: capture.Monitor,
    kind: Kind,
    seen: Activity,
    capture_ms: float | None = None,
) -> Record:
    """The record of a monitor whose pixels were kept out on purpose (locked, idle, excluded)."""
    assert kind in NO_FRAME
    ms = None if capture_ms is None else round(capture_ms, 3)
    return Record(
        now, m.number, m.width, m.height, kind, x=m.left, y=m.top, capture_ms=ms, activity=seen
    )


def _on_monitor(seen: Activity, monitors: list[capture.Monitor]) -> Activity:
    """`seen` with the number of the monitor that holds the focused window's centre."""
    focused = next((w for w in seen.windows if w.focused), None)
    if focused is None:
        return seen
    cx, cy = focused.left + focused.width // 2, focused.top + focused.height // 2
    for m in monitors:
        if m.left <= cx < m.left + m.width and m.top <= cy < m.top + m.height:
            return dataclasses.replace(seen, monitor=m.number)
    return seen


def start(cfg: Config, environ: Mapping[str, str], warn_missing: bool = False) -> Recorder:
    """A Recorder for `cfg`, its rings refilled for the monitors attached now; fails early,
    with what to do, where no screen can be captured. `warn_missing`: say which configured
    monitors are not attached (the daemon captures them once they appear)."""
    capture.check_session(environ, setting=cfg.capture.backend)
    monitors = capture.monitors(environ, cfg.capture.backend)
    missing = sorted(set(cfg.wanted or ()) - {m.number for m in monitors})
    if warn_missing and missing:
        log.warning("monitors %s are not attached now; they are captured once they appear", missing)
    recorder = Recorder(cfg, environ)
    try:
        recorder.warm_up(monitors)
    except BaseException:
        recorder.close()
        raise
    return recorder


def once(cfg: Config, environ: Mapping[str, str], now: datetime) -> list[Record]:
    """Capture every wanted monitor once (`screenrecord once`): start, one tick, close."""
    recorder = start(cfg, environ)
    try:
        return recorder.tick(now)
    finally:
        recorder.close()


def keep_policy(cfg: Config) -> KeepPolicy:
    return KeepPolicy(cfg.dedup.near_action, cfg.keep_at_least_every)


def _release_memory() -> None:
    """Give freed heap memory back to the system after a tick (glibc keeps it otherwise).

    A tick allocates and frees tens of MB of short-lived arrays; between ticks, minutes apart,
    the daemon should hold only its rings. Elsewhere the allocator returns large blocks itself.
    """
    if _libc is not None:
        _libc.malloc_trim(0)


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only (not musl)
        return libc
    except (OSError, AttributeError):
        return None


_libc = _glibc()


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
            new = configmod.load(path)
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
