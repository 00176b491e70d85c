"""Deduper.process(frame) -> Decision: the one place where compare, keep and remember meet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from screenrecord import similarity
from screenrecord.models import Decision, DedupSettings, Frame, Kind
from screenrecord.ring import Ring

log = logging.getLogger(__name__)

StreamKey = tuple[int, int, int]
"""(monitor, width, height): frames of different size never match."""

Store = Callable[[Frame, Decision], "str | None"]


@dataclass
class Stream:
    ring: Ring
    prev: similarity.Previous | None = field(default=None)


class Deduper:
    """Decides each frame against the ring of its monitor stream and keeps the rings up to date."""

    def __init__(self, settings: DedupSettings | None = None) -> None:
        self.settings = settings or DedupSettings()
        self.engine = similarity.Engine(self.settings)
        self.streams: dict[StreamKey, Stream] = {}

    def _stream(self, frame: Frame) -> Stream:
        key = (frame.monitor, *frame.size)
        if key not in self.streams:
            self.streams[key] = Stream(Ring(self.settings.ring_size))
        return self.streams[key]

    def prepare(self, frame: Frame) -> similarity.Prepared:
        """Half-size and hash a frame, reusing its stream's previous frame.

        Frames of one stream must be prepared in capture order; this may run in another thread
        than `process`, one frame ahead (archive dedup overlaps the two on two cores).
        """
        stream = self._stream(frame)
        known = [e.frame for e in list(stream.ring)]  # a snapshot: process() may run meanwhile
        prepared, stream.prev = self.engine.prepare(frame.image, stream.prev, known)
        return prepared

    def process(
        self, frame: Frame, store: Store | None = None, prepared: similarity.Prepared | None = None
    ) -> Decision:
        """Decide `frame`; a kept frame is handed to `store`, and enters the ring once stored.

        `store(frame, decision)` returns the name the ring should know the frame by, or None to
        leave it out of the ring; if it raises, the ring is left as it was and the error propagates.
        Without `store`, kept frames enter the ring under `frame.name`.
        """
        if prepared is None:
            prepared = self.prepare(frame)
        stream = self._stream(frame)
        decision, index = self.engine.decide(prepared, stream.ring)
        if decision.kind is Kind.DUPLICATE:
            stream.ring.touch(index)
            return decision
        name = frame.name if store is None else store(frame, decision)
        if name is not None:
            stream.ring.push(name, prepared)
        return decision

    def remember(self, frame: Frame, prepared: similarity.Prepared | None = None) -> None:
        """Put an already kept frame at the front of its ring without deciding (warm-up)."""
        self._stream(frame).ring.push(frame.name, prepared or self.prepare(frame))

    def ring_bytes(self) -> int:
        """Memory held by all rings, with what the engine keeps for them."""
        frames = sum(e.frame.nbytes for s in self.streams.values() for e in s.ring)
        return frames + self.engine.cache_bytes
