"""`dedup`'s run: the archive walk's frames decided by the pipeline, in time order.

The same pipeline as the daemon's, fed by the walk (walk.py) through the decoding and preparing
stages (stages.py); a dry run keeps every file in place, `--apply` plans a journaled move for
each frame set aside (mover.py) and carries them out once every frame is decided.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from screenrecord.archive import store
from screenrecord.archive.journaled import Archives
from screenrecord.config import units
from screenrecord.dedup import stages
from screenrecord.dedup.mover import Mover, Stopped, finish_interrupted
from screenrecord.dedup.summary import Summary
from screenrecord.dedup.walk import count_frames, items
from screenrecord.errors import ImageError, UsageError
from screenrecord.models import DedupSettings, Kind, Progress, Record
from screenrecord.pipeline import InPlace, KeepPolicy, Pipeline, Sink

log = logging.getLogger(__name__)

POLICY = KeepPolicy(near_action="separate", keep_at_least_every=None)
"""dedup never deletes: near-duplicates go to `similar/`, duplicates (not kept) to `dedup/`."""


def run(
    roots: list[Path],
    settings: DedupSettings,
    apply: bool = False,
    on_record: Callable[[Record], None] | None = None,
    on_progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> Summary:
    """Decide every image under `roots`; with `apply`, move repeats aside (journaled).

    `on_record(record)` is called for each decided frame, in order, as soon as it is decided;
    `on_progress` is told how many frames there are to decide (a listing of the folders before
    the run), then of each one decided. A frame that cannot be read is a record with
    decision ERROR, counted in `errors`; the run goes on.

    With `apply`, a run asked to `stop` (Ctrl-C: the CLI's handler of SIGINT) stops before its
    next frame or move, and so does one that KeyboardInterrupt cuts short: its summary is
    `interrupted` and says how far it got and what was moved (every move journaled, so that
    running again finishes them).
    """
    for p in roots:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    summary = Summary(applied=apply)
    try:
        if on_progress is not None:
            on_progress.start(count_frames(roots))
        folders = _dirs(roots)
        with Archives.holding(folders if apply else []) as archives:
            _run(
                roots,
                folders,
                settings,
                summary,
                archives if apply else None,
                on_record,
                on_progress,
                stop or (lambda: False),
            )
    except (KeyboardInterrupt, Stopped):
        if not apply:
            raise  # nothing to tell but that
        summary.interrupted = True  # every move done is journaled: a rerun finishes the rest
    return summary


def _run(
    roots: list[Path],
    folders: list[Path],
    settings: DedupSettings,
    summary: Summary,
    archives: Archives | None,
    on_record: Callable[[Record], None] | None,
    on_progress: Progress | None,
    stop: Callable[[], bool],
) -> None:
    """run(), its archives' locks held when it moves files (`archives`); fills in `summary`,
    its `stage` kept up to date so that an interruption can tell how far it got."""

    def finished_one() -> None:
        summary.finished += 1

    def moved_one() -> None:
        summary.moved += 1

    if archives is not None:
        summary.stage = "finishing"
        for root in folders:
            finish_interrupted(root, archives, finished_one, stop)
    summary.stage = "deciding"
    mover = Mover(folders, archives, moved_one, stop) if archives is not None else None
    try:
        _decide(roots, settings, summary, mover, on_record, on_progress, stop)
        if mover is not None:
            summary.planned = mover.planned
            summary.stage = "moving"
            mover.apply()
    finally:
        if mover is not None:
            mover.close()
    summary.stage = "done"


def _decide(
    roots: list[Path],
    settings: DedupSettings,
    summary: Summary,
    mover: Mover | None,
    on_record: Callable[[Record], None] | None,
    on_progress: Progress | None,
    stop: Callable[[], bool],
) -> None:
    """Each frame under `roots` decided by the pipeline, `mover` (if any) planning its moves."""
    sink: Sink = mover if mover is not None else InPlace()
    pipeline = Pipeline(settings, POLICY, sink)
    for item, got in stages.ready(items(roots, summary), pipeline):
        if item.known:
            if not isinstance(got, ImageError):
                pipeline.remember(*got)
            continue
        f = item.file
        if isinstance(got, ImageError):
            error = str(got) if str(f.path) in str(got) else f"{f.path}: {got}"
            log.warning("%s", error)
            rec = pipeline.failed(f.taken, f.monitor, error, source=str(f.path))
        else:
            frame, prepared = got
            rec = pipeline.process(frame, prepared)
        summary.count(rec, (store.file_size(f.path) or 0) if rec.decision is Kind.DUPLICATE else 0)
        if on_record is not None:
            on_record(rec)
        if on_progress is not None:
            on_progress.advance(1)
        if mover is not None and stop():
            raise Stopped
    summary.ring_bytes = _log_memory(pipeline, settings)


def _log_memory(pipeline: Pipeline, settings: DedupSettings) -> int:
    """Log what the rings hold at the end (-v); returns their bytes."""
    memory = pipeline.memory()
    log.info(
        "rings: %d streams, %.1f MB of frames (%d at most per stream)",
        len(pipeline.streams),
        memory.ring / 1e6,
        settings.ring_size,
    )
    log.info(
        "ring memory: %s per frame held (%d frames): tiles %s (%d distinct), block cache %s,"
        " coarse pass %s, hashes and thumbnails %s; besides the rings, previous frames %s",
        units.size(memory.ring // max(1, memory.frames)),
        memory.frames,
        units.size(memory.tiles),
        memory.distinct_tiles,
        units.size(memory.cache),
        units.size(memory.coarse),
        units.size(memory.own),
        units.size(memory.previous),
    )
    return memory.ring


def _dirs(roots: list[Path]) -> list[Path]:
    return [r if r.is_dir() else r.parent for r in roots]


def settings(
    base: DedupSettings | None = None,
    duplicate_threshold: float | None = None,
    near_threshold: float | None = None,
    ring_size: int | None = None,
    device: str | None = None,
    keep_local_changes: bool | None = None,
) -> DedupSettings:
    """`base` (a config's settings, else the defaults) with the given values instead, checked."""
    b = base or DedupSettings()
    s = dataclasses.replace(
        b,
        duplicate_threshold=b.duplicate_threshold
        if duplicate_threshold is None
        else duplicate_threshold,
        near_threshold=b.near_threshold if near_threshold is None else near_threshold,
        ring_size=b.ring_size if ring_size is None else ring_size,
        device=b.device if device is None else device,
        keep_local_changes=b.keep_local_changes
        if keep_local_changes is None
        else keep_local_changes,
    )
    if not 0 < s.near_threshold <= s.duplicate_threshold <= 1:
        raise UsageError(
            f"thresholds must satisfy 0 < near ({s.near_threshold}) <= duplicate ({s.duplicate_threshold}) <= 1"
        )
    if s.ring_size < 1:
        raise UsageError(f"--ring-size must be at least 1, got {s.ring_size}")
    return s
