"""The one place where a frame's fate is decided, for the daemon and for `dedup` alike.

    prepare -> decide against its stream's ring -> the keep policy places it -> a sink stores it
    -> the ring remembers it under the name it is stored under -> one Record, returned and recorded

The two drivers differ only in where frames come from (a capture backend, an archive walk) and
in the sink that keeps them (`archive.writer.ArchiveWriter` writes new files, `dedup.Mover` plans
journaled moves). Nothing here calls up into a driver, and a store that fails leaves the ring as
it was: the next frame is decided against what is really kept.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from screenrecord.engine import CoarseStack, Engine, NoiseMask, Prepared, Previous, Ring
from screenrecord.errors import StoreError
from screenrecord.models import (
    Activity,
    Box,
    DedupSettings,
    Frame,
    Kind,
    Placement,
    Record,
    Stored,
)

if TYPE_CHECKING:
    from screenrecord.archive.catalog import Catalog
    from screenrecord.capture import Monitor

log = logging.getLogger(__name__)

StreamKey = tuple[int, int, int]
"""(monitor, width, height): frames of different size never match."""

NEAR_PLACEMENT = {
    "keep": Placement.ARCHIVE,
    "separate": Placement.SIMILAR,
    "drop": Placement.SKIP,
}
"""Where a near-duplicate goes for each `near_action` of the config."""


@dataclass(frozen=True, slots=True)
class KeepPolicy:
    """Where a decided frame goes: the whole answer to "is this frame kept, and where"."""

    near_action: str = "separate"
    """keep | separate | drop: a near-duplicate kept in its day folder, in `similar/`, or not."""
    keep_at_least_every: timedelta | None = None
    """Keep a duplicate anyway when the monitor has kept nothing for this long."""

    def place(self, kind: Kind, taken: datetime, last_kept: datetime | None) -> Placement:
        if kind is Kind.NEW:
            return Placement.ARCHIVE
        if kind is Kind.NEAR:
            return NEAR_PLACEMENT[self.near_action]
        every = self.keep_at_least_every
        if every is not None and (last_kept is None or taken - last_kept >= every):
            return Placement.HEARTBEAT
        return Placement.SKIP


class Sink(Protocol):
    """Keeps a frame where the keep policy placed it."""

    def store(self, frame: Frame, placement: Placement) -> Stored | None:
        """Store `frame` as `placement` says; return where it is now, or None if nowhere.

        Called for every decided frame, SKIP included (a sink may set skipped frames aside).
        Raises StoreError when it cannot; the frame is then recorded as not stored.
        """
        ...


class InPlace:
    """A sink for frames that already have a home: each stays under its own name (tests, bench,
    and `dedup` without --apply)."""

    def store(self, frame: Frame, placement: Placement) -> Stored | None:
        return Stored(frame.name)


@dataclass
class Stream:
    """One monitor at one size: its ring, the coarse-pass stack kept for that ring, the
    previous frame (preparing the next one reuses its work), and its noise mask with the last
    frame decided (what the mask learns from)."""

    ring: Ring[Prepared]
    coarse: CoarseStack
    prev: Previous | None = field(default=None)
    noise: NoiseMask = field(default_factory=NoiseMask)
    last: Prepared | None = field(default=None)


class Pipeline:
    """Decides frames against the ring of their stream, keeps them through a sink, records them.

    Not thread-safe, except that `prepare` may run in another thread one frame ahead of
    `process` (archive dedup overlaps the two on two cores).
    """

    def __init__(
        self,
        settings: DedupSettings | None = None,
        policy: KeepPolicy | None = None,
        sink: Sink | None = None,
        catalog: Catalog | None = None,
        engine: Engine | None = None,
        compact: bool = True,
        keep_coarse_stats: bool = True,
    ) -> None:
        """`compact=False` has the engine made here keep ring frames whole, as before the tile
        store: the same decisions and scores at ~10x the memory (the baseline of tests and
        bench/); a given `engine` keeps them as it was made to.
        `keep_coarse_stats=False` computes the coarse pass's statistics of ring frames again at
        every pass instead of keeping them (`CoarseStack`): the same decisions and
        scores, 50 KB less a 1080p ring frame, about 4 ms more a coarse pass over 100 frames."""
        self.settings = settings or DedupSettings()
        self.policy = policy or KeepPolicy()
        self.sink: Sink = sink or InPlace()
        self.catalog = catalog
        self.engine = engine or Engine(self.settings, compact=compact)
        self.streams: dict[StreamKey, Stream] = {}
        self.keep_coarse_stats = keep_coarse_stats
        self.last_kept: dict[int, datetime] = {}
        """Capture time of each monitor's newest kept frame (for keep_at_least_every)."""

    def _stream(self, frame: Frame) -> Stream:
        key = (frame.monitor, *frame.size)
        if key not in self.streams:
            size = self.settings.ring_size
            coarse = CoarseStack(size, self.keep_coarse_stats)
            self.streams[key] = Stream(Ring(size), coarse)
        return self.streams[key]

    def prepare(self, frame: Frame) -> Prepared:
        """Half-size and hash a frame, reusing its stream's previous frame.

        Frames of one stream must be prepared in capture order.
        """
        stream = self._stream(frame)
        known = [e.frame for e in list(stream.ring)]  # a snapshot: process() may run meanwhile
        prepared, stream.prev = self.engine.prepare(frame.image, stream.prev, known)
        return prepared

    def process(
        self,
        frame: Frame,
        prepared: Prepared | None = None,
        monitor: Monitor | None = None,
        capture_ms: float | None = None,
        activity: Activity | None = None,
    ) -> Record:
        """Decide, place, store, remember and record one frame; returns its record.

        `monitor` is where the frame was grabbed (its geometry goes into the record);
        without it the frame's own size is recorded. `activity`, what the tick saw, is recorded
        with it.
        """
        start = time.perf_counter()
        if prepared is None:
            prepared = self.prepare(frame)
        stream = self._stream(frame)
        self._learn(stream, prepared)
        decision, index = self.engine.decide(prepared, stream.ring, stream.coarse)
        regions: tuple[Box, ...] = ()
        reason = None
        if self.settings.keep_local_changes:
            decision, index, regions, reason = self.engine.look_closer(
                prepared, stream.ring, decision, index, stream.noise.cells
            )
        compare_ms = (time.perf_counter() - start) * 1000
        placement = self.policy.place(decision.kind, frame.taken, self.last_kept.get(frame.monitor))
        start = time.perf_counter()
        error = None
        try:
            stored = self.sink.store(frame, placement)
        except StoreError as e:
            stored, error = None, str(e)
            log.error("monitor %d: frame not written: %s", frame.monitor, e)
        write_ms = (time.perf_counter() - start) * 1000
        if error is None:
            self._remember(stream, frame, prepared, decision.kind, placement, stored, index)
        width, height = frame.size if monitor is None else (monitor.width, monitor.height)
        return self.record(
            Record(
                frame.taken,
                frame.monitor,
                width,
                height,
                decision.kind,
                decision.score,
                decision.match,
                path=None if stored is None else stored.path,
                bytes=None if stored is None else stored.bytes,
                x=0 if monitor is None else monitor.left,
                y=0 if monitor is None else monitor.top,
                capture_ms=None if capture_ms is None else round(capture_ms, 3),
                compare_ms=round(compare_ms, 3),
                write_ms=None if placement is Placement.SKIP else round(write_ms, 3),
                error=error,
                source=None if frame.path is None else str(frame.path),
                compared=decision.compared,
                activity=activity,
                regions=regions,
                reason=reason,
            )
        )

    def _learn(self, stream: Stream, prepared: Prepared) -> None:
        """The stream's noise mask learns from this frame against the one decided before it."""
        if self.settings.keep_local_changes:
            stream.noise.learn(prepared, stream.last)
            stream.last = prepared

    def _remember(
        self,
        stream: Stream,
        frame: Frame,
        prepared: Prepared,
        kind: Kind,
        placement: Placement,
        stored: Stored | None,
        index: int | None,
    ) -> None:
        """Bring the ring up to date with what was really kept."""
        if placement in (Placement.ARCHIVE, Placement.SIMILAR) and stored is not None:
            self._push(stream, stored.path, prepared)
        elif kind is Kind.DUPLICATE and index is not None:
            stream.ring.touch(index)  # the kept frame it repeats moves to the front
        if placement is not Placement.SKIP and stored is not None:
            self.last_kept[frame.monitor] = frame.taken

    def remember(self, frame: Frame, prepared: Prepared | None = None) -> None:
        """Put a frame already kept under `frame.name` at the front of its ring, undecided
        (the daemon's warm-up, frames `dedup` finds in `similar/`); its stream's noise mask
        learns from it too."""
        stream = self._stream(frame)
        prepared = prepared or self.prepare(frame)
        self._learn(stream, prepared)
        self._push(stream, frame.name, prepared)

    def _push(self, stream: Stream, name: str, prepared: Prepared) -> None:
        """Put a frame at the front of a ring, compact; the frame that falls out lets go of its
        tiles."""
        self.engine.push(stream.ring, name, prepared)

    def failed(
        self,
        taken: datetime,
        monitor: int,
        error: str,
        size: tuple[int, int] = (0, 0),
        position: tuple[int, int] = (0, 0),
        source: str | None = None,
    ) -> Record:
        """Record a frame no decision could be made for (a failed grab, an unreadable file)."""
        return self.record(
            Record(
                taken,
                monitor,
                *size,
                Kind.ERROR,
                x=position[0],
                y=position[1],
                error=error,
                source=source,
            )
        )

    def record(self, rec: Record) -> Record:
        """Write `rec` to the catalog, if there is one, and return it with its row id; a catalog
        that fails is logged, and the frame's fate stands (its file, if any, is recorded after a
        restart)."""
        if self.catalog is not None:
            try:
                return dataclasses.replace(rec, id=self.catalog.record(rec))
            except (sqlite3.Error, StoreError) as e:
                log.error("%s: decision not recorded (%s)", self.catalog.path, e)
        return rec

    def memory(self) -> RingMemory:
        """What the rings hold, term by term (each shared tile once)."""
        streams = self.streams.values()
        store = self.engine.tiles
        return RingMemory(
            frames=sum(len(s.ring) for s in streams),
            tiles=0 if store is None else store.tile_bytes,
            distinct_tiles=0 if store is None else len(store),
            cache=0 if store is None else store.nbytes - store.tile_bytes,
            own=sum(e.frame.own_nbytes for s in streams for e in s.ring),
            coarse=sum(s.coarse.nbytes for s in streams),
            previous=sum(s.prev.full.nbytes + s.prev.prepared.own_nbytes for s in streams if s.prev)
            + sum(
                s.last.own_nbytes
                for s in streams
                if s.last is not None and (s.prev is None or s.last is not s.prev.prepared)
            ),
        )

    def ring_bytes(self) -> int:
        """Memory held by all rings: their frames, the tiles they share (each once), the block
        cache and the coarse-pass stacks kept for them."""
        return self.memory().ring


@dataclass(frozen=True)
class RingMemory:
    """Bytes held for the rings of a pipeline, by term."""

    frames: int
    """Ring entries."""
    tiles: int
    """Compressed tiles, each once: the blobs they are packed in (whole, while any of their tiles
    is used), and the store's index."""
    distinct_tiles: int
    cache: int
    """The tile store's cache of whole blocks, counted full."""
    own: int
    """What the ring frames hold themselves: block hashes, thumbnails, references to their tiles
    (or, for whole frames, their planes)."""
    coarse: int
    """The coarse pass's statistics and work arrays."""
    previous: int
    """Each stream's previous frame, full size and prepared: not part of a ring, but held for
    the next frame's preparation; and the last frame decided, where it is another (what the
    noise mask learns from)."""

    @property
    def ring(self) -> int:
        return self.tiles + self.cache + self.own + self.coarse
