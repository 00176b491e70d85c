"""The stages ahead of `dedup`'s decisions: decode, then prepare, each a few frames ahead.

Three stages on two cores: a thread decodes files, another prepares the frames (half size,
hashes) in capture order, and the caller decides each one against its stream's ring.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from concurrent.futures import Future

import numpy as np

from screenrecord.archive import images
from screenrecord.archive.ahead import prefetch
from screenrecord.dedup.walk import Item
from screenrecord.engine.prepared import Prepared
from screenrecord.errors import ImageError
from screenrecord.models import Frame
from screenrecord.pipeline import Pipeline


class Decoded:
    """A decoded frame's pixels (or why they could not be read), until the stage that prepares
    them takes them: a 4K frame is 25 MB, and the futures that carry it live on for a while."""

    def __init__(self, item: Item) -> None:
        self._pixels: np.ndarray | ImageError | None = images.load_or_error(item.file.path)

    def take(self) -> np.ndarray | ImageError:
        pixels, self._pixels = self._pixels, None
        assert pixels is not None, "taken twice"
        return pixels


AHEAD_BYTES = 64_000_000
"""Decoded pixels each stage may work ahead of the next: four 1920x1080 frames (6.2 MB each;
with two, `dedup` of the corpus is 10% slower, as frame costs vary), two 3840x2160 ones (25 MB
each: with four, a 4K stream held 100 MB more at its peak) for the preparing stage, and the
decoding stage one 3840x2160 frame ahead of it (see `ahead`)."""


def ahead(first: Item | None) -> tuple[int, int]:
    """Frames the decoding and the preparing stages work ahead, by the size of the first frame.

    Each frame the preparing stage has ahead (2 to 4) waits there decoded, so decoding works
    ahead by what is left of the budget, at least one and at most as far: for frames of more
    than a quarter of it (4K, 5K), one, and such a run holds one full frame fewer."""
    try:
        w, h = images.size(first.file.path) if first is not None else (1, 1)
    except ImageError:
        w, h = 1, 1
    frames = AHEAD_BYTES // (w * h * 3)
    prepare = max(2, min(4, frames))
    return min(prepare, max(1, frames - (prepare - 1))), prepare


def _shape_only(frame: Frame) -> Frame:
    """The frame without its pixels, once prepared: dedup's sinks move files and never read
    them; a zero-strided view stands in, so that the frame keeps its size."""
    width, height = frame.size
    stand_in = np.broadcast_to(np.zeros((), np.uint8), (height, width, 3))
    return dataclasses.replace(frame, image=stand_in)


Ready = tuple[Frame, Prepared] | ImageError
"""A frame ready to decide, or why it cannot be."""


def ready(listing: Iterator[Item], pipeline: Pipeline) -> Iterator[tuple[Item, Ready]]:
    """Each item of `listing`, in order, with its frame prepared by `pipeline` (or the error)."""

    def prepare(job: tuple[Item, Future[Decoded]]) -> Ready:
        """Second stage, one thread, capture order: decoded pixels -> frame -> prepared frame.
        Only the stream's previous frame keeps its pixels after this (see Pipeline.prepare)."""
        item, fut = job
        pixels = fut.result().take()
        if isinstance(pixels, ImageError):
            return pixels
        f = item.file
        frame = Frame(f.monitor, pixels, f.taken, str(f.path), f.path)
        try:
            return _shape_only(frame), pipeline.prepare(frame)
        except ImageError as e:
            return e

    first = next(listing, None)
    decode_depth, prepare_depth = ahead(first)
    listing = itertools.chain([] if first is None else [first], listing)
    decoded = prefetch(Decoded, listing, workers=1, depth=decode_depth)
    for (item, _), fut in prefetch(prepare, decoded, workers=1, depth=prepare_depth):
        yield item, fut.result()
