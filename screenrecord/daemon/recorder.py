"""The recorder: the daemon's driver of the pipeline, and one tick of it.

A tick reads what the user is doing, grabs every wanted monitor and hands each frame to the
pipeline, whose sink here is the ArchiveWriter (kept frames become new files, written
atomically); the tick's records then go into the archive's catalog together (recovery.Ledger:
a busy catalog never holds the tick up).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime

from screenrecord import capture
from screenrecord.archive import lock, store
from screenrecord.archive.writer import ArchiveWriter
from screenrecord.capture import activity
from screenrecord.capture.activity import privacy
from screenrecord.config import Config
from screenrecord.daemon import memory, recovery
from screenrecord.daemon.describe import log_tick, unchanged
from screenrecord.daemon.warmup import warm_up
from screenrecord.errors import ApprovalNeeded, CaptureError, ScreenLocked, StoreError
from screenrecord.models import NO_FRAME, Activity, Kind, Record
from screenrecord.pipeline import KeepPolicy, Pipeline

log = logging.getLogger(__name__)


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
        lock.note(self.root, None)  # a recorder rebuilt by a reload starts with a clean slate
        try:
            recovery.remove_temp_files(self.root)
            self.ledger = recovery.Ledger(self.root)
            # no catalog here: the tick's records go to the ledger together (`tick`).
            # A changed tick can afford ~4 ms more per monitor (~40 with a ring of 1,000) for
            # rings that hold 50 KB less a 1080p frame, for months
            self.pipeline = Pipeline(
                cfg.dedup_settings(),
                keep_policy(cfg),
                ArchiveWriter(self.root, cfg.storage),
                keep_coarse_stats=False,
            )
        except BaseException:
            lock.release(self.root)
            raise
        self.capture_down: str | None = None
        self.reader = activity.open_reader(environ)
        self.rules = privacy.Rules.of(cfg.privacy.exclude_apps, cfg.privacy.exclude_titles)
        self.skipping: Kind | None = None
        """Why the last tick took no screenshot (locked, idle, excluded), to log changes once."""
        self.withheld = False
        """Whether macOS withholds the screen (Screen Recording withdrawn), to log changes once."""
        self.unstored = Unstored()
        self.told_unchanged = False
        """Whether the log said once that a tick found nothing changed (describe.UNCHANGED_ONCE)."""

    def reconfigure(self, cfg: Config) -> None:
        """Take a config whose root, dedup settings and monitors are unchanged (a SIGHUP)."""
        self.cfg = cfg
        self.pipeline.policy = keep_policy(cfg)
        self.pipeline.sink = ArchiveWriter(self.root, cfg.storage)
        self.rules = privacy.Rules.of(cfg.privacy.exclude_apps, cfg.privacy.exclude_titles)

    def close(self) -> None:
        try:
            self.reader.close()
            self.ledger.close()
        finally:
            lock.release(self.root)

    def warm_up(self, monitors: list[capture.Monitor]) -> int:
        """Refill each attached monitor's ring from its newest kept frames on disk (warmup.py)."""
        return warm_up(self.pipeline, self.cfg, self.root, monitors)

    def tick(self, now: datetime) -> list[Record]:
        """Read what the user is doing, then grab every wanted monitor once (unless the screen is
        locked, the user idle or an excluded window focused where windows cannot be painted),
        paint excluded windows over and put each frame through the pipeline."""
        seen = self.reader.read(windows=bool(self.rules))  # the list only matters for rules
        seen = privacy.judge(seen, self.rules, self.cfg.activity.record_titles)
        skip = self._skip(seen)
        try:
            shots, failures, wanted = self._grab(now, skip is None)
        except ScreenLocked:  # the desktop refuses while locked (GNOME): a locked tick
            skip = Kind.LOCKED
            shots, failures, wanted = self._grab(now, False)
        except ApprovalNeeded as e:  # recorded as not captured, then told as a capture error
            self._not_approved(now, str(e))
            raise
        self._log_skip(skip)
        seen = _on_monitor(seen, wanted)
        records = []
        if skip is not None:
            records = [self.pipeline.record(_no_frame(now, m, skip, seen)) for m in wanted]
        shots, withheld = self._permitted(seen, shots)
        for m in withheld:
            size, at = (m.width, m.height), (m.left, m.top)
            records.append(self.pipeline.failed(now, m.number, SCREEN_RECORDING, size, at))
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
        self.ledger.write(records)
        log_tick(records, say_unchanged=not self.told_unchanged)
        self.told_unchanged = self.told_unchanged or unchanged(records)
        if self.unstored.after(records):
            lock.note(self.root, self.unstored.trouble())
        del shots  # the frames' pixels, before handing freed memory back
        memory.release()
        return records

    def _not_approved(self, now: datetime, why: str) -> None:
        """Record each wanted monitor as not captured for want of the desktop's approval."""
        try:
            listed = capture.monitors(self.environ, self.cfg.capture.backend)
        except CaptureError:
            return  # the monitors cannot be listed either: nothing to record them against
        self.ledger.write(
            [
                self.pipeline.failed(now, m.number, why, (m.width, m.height), (m.left, m.top))
                for m in listed
                if self.cfg.wants(m.number)
            ]
        )

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
        except ScreenLocked:
            raise
        except CaptureError as e:
            self.capture_down = str(e)  # the caller says it once: at start it is fatal
            raise
        if self.capture_down is not None:
            log.warning("capturing again after: %s", self.capture_down)
            self.capture_down = None
        return shots, failures, wanted

    def _permitted(
        self, seen: Activity, shots: list[capture.Shot]
    ) -> tuple[list[capture.Shot], list[capture.Monitor]]:
        """The shots to keep, and the monitors whose frames are only the wallpaper because macOS
        withdrew Screen Recording; says so once, and once when it is allowed again."""
        if not shots:
            return shots, []
        denied = seen.screen_recording is False
        if denied != self.withheld:
            if denied:
                log.error("%s; nothing is recorded until then", SCREEN_RECORDING)
            else:
                log.warning("Screen Recording is allowed again: capturing")
            self.withheld = denied
        return ([], [s.monitor for s in shots]) if denied else (shots, [])

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


SCREEN_RECORDING = (
    "macOS shows screenrecord only the wallpaper: Screen Recording is not allowed (it lapses "
    "each month on macOS 15, and with a new Python); allow it again in System Settings > "
    "Privacy & Security > Screen Recording"
)
"""The error of a tick whose frames macOS withheld (the catalog's row, status, the log)."""


class Unstored:
    """Ticks in a row that could not store the frames they kept, and why the last one could not:
    what `status` tells through the archive's lock (lock.note), since a catalog on a read-only
    or full archive may not be written either."""

    def __init__(self) -> None:
        self.ticks = 0
        self.why = ""

    def after(self, records: list[Record]) -> bool:
        """Count a tick's records; True if what `status` should say changed. A tick that kept
        nothing (repeats, a locked screen) neither counts nor ends the run of failures."""
        failed = [r.error for r in records if r.error and r.decision is not Kind.ERROR]
        if failed:
            self.ticks += 1
            self.why = _why(failed[-1])
            return True
        if self.ticks and any(r.path for r in records):
            self.ticks = 0
            return True
        return False

    def trouble(self) -> str | None:
        """`the last 5 ticks could not write (Read-only file system)`, or None."""
        if not self.ticks:
            return None
        ticks = "the last tick" if self.ticks == 1 else f"the last {self.ticks} ticks"
        return f"{ticks} {self.why}"


def _why(error: str) -> str:
    """A store's error without the file's name: `could not write (No space left on device)`."""
    m = re.search(r": cannot write (\(.*\))$", error)
    return f"could not write {m[1]}" if m else f"could not store a frame ({error})"


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


def once(cfg: Config, environ: Mapping[str, str], now: datetime, ask: bool = False) -> list[Record]:
    """Capture every wanted monitor once (`screenrecord once`): start, one tick, close.

    `ask`: a person is there (a terminal) to answer a desktop's approval dialog, which is
    then opened where the approval is missing (GNOME's ScreenCast portal); never otherwise.
    """
    if ask:
        from screenrecord.capture import screencast

        screencast.approve_if_needed(environ, sys.platform, cfg.capture.backend)
    recorder = start(cfg, environ)
    try:
        return recorder.tick(now)
    finally:
        recorder.close()


def keep_policy(cfg: Config) -> KeepPolicy:
    return KeepPolicy(cfg.dedup.near_action, cfg.keep_at_least_every)
