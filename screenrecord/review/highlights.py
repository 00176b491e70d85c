"""The most unusual frames of a period: far from every other frame of the same monitor.

Novelty of a frame = 1 - the best SSIM (at thumbnail size) to any *other* frame of its monitor in
the period. A screen that stays or keeps coming back (lock screen, idle desktop, a clock ticking)
has a near twin somewhere, so its novelty is close to 0 however much its clock digits move; a screen
seen once scores high. Picks are greedy by novelty with diversity: a candidate is skipped when it
is close in time (10 minutes) or in looks to a frame already picked.

Memory stays bounded for months of frames: frames are decoded one at a time (two threads), and
only an 80x45 grayscale thumbnail (3.6 kB) per frame is kept, in a temporary file mapped into
memory, plus a 16x9 vector per frame in RAM to find each frame's likely twins. Exact all-pairs
SSIM would cost N^2 comparisons; instead each frame is compared with its nearest vectors and its
time neighbours, and a candidate is compared with many more before it is picked.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import logging
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from screenrecord.archive import images, store
from screenrecord.engine.ssim import ssim_many
from screenrecord.errors import ImageError, StoreError
from screenrecord.models import Period, Progress

log = logging.getLogger(__name__)

THUMB_W = 80
"""Thumbnail width for novelty: at 80 px a screen's layout decides, not each glyph (80 vs 160 px
ranked the same top frames on the corpus, 4x cheaper)."""
VEC_SHRINK = 5
"""The twin-finding vector is the thumbnail shrunk 5x (16x9 for 16:9 screens)."""
NEIGHBOURS = 8
"""Nearest vectors every frame is compared with, besides its time neighbours."""
REFINE = 128
"""Nearest vectors a candidate is compared with before it is picked."""
MIN_NOVELTY = 0.05
"""A frame within 0.95 SSIM (the engine's near threshold) of another frame is never unusual."""
SPREAD = timedelta(minutes=10)
"""No two picks of one monitor closer in time than this: one moment (a window being dragged, a
page being scrolled) gives one pick, and the picks spread over the period."""
DIVERSITY = 0.8
"""No two picks of one monitor with thumbnail SSIM at or above this (the same-looking screen)."""
BATCH = 128
"""Largest batch handed to ssim_many at once (bounds the memory of one batch)."""


@dataclass(frozen=True, slots=True)
class Highlight:
    """One picked frame."""

    rank: int
    path: Path
    taken: datetime
    monitor: int
    novelty: float
    """1 - best thumbnail SSIM to any other frame of its monitor in the period."""
    nearest: Path | None
    """The frame that came closest (None when it is its monitor's only frame)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A frame file to consider."""

    path: Path
    taken: datetime
    monitor: int


def sources(
    paths: Iterable[Path], since: datetime | None = None, until: datetime | None = None
) -> list[Source]:
    """Frame files under `paths` taken in [since, until), in capture order (names only, no decoding)."""
    period = Period(since, until)
    found = []
    for p in store.walk(paths):
        parsed = store.parse_name(p.name)
        if parsed is None:
            continue
        taken, monitor = parsed
        if taken in period:
            found.append(Source(p, taken, monitor))
    found.sort(key=lambda s: (s.taken, s.monitor, s.path.name))
    return found


def thumbnail(path: Path, width: int = THUMB_W) -> np.ndarray:
    """Grayscale uint8 thumbnail `width` wide, keeping the aspect ratio (ImageError if unreadable).

    At least 11 rows high, the SSIM window, so that even a very wide screen can be compared.
    """
    return np.asarray(images.thumbnail(path, width, gray=True, min_height=11))


def _empty(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.uint8)


@dataclass
class _Stream:
    """Frames of one monitor (and one thumbnail shape): thumbnails on disk, vectors in RAM.

    Filled by `add`, then `seal` maps the thumbnails back from the file and stacks the vectors;
    `close` lets go of both.
    """

    monitor: int
    shape: tuple[int, int]
    file: io.BufferedRandom
    items: list[Source] = field(default_factory=list)
    vecs: np.ndarray = field(default_factory=lambda: _empty(0, 0))
    """One twin-finding vector per frame, a row each (after `seal`)."""
    thumbs: np.ndarray = field(default_factory=lambda: _empty(0, 0, 0))
    """The thumbnails, mapped from `file` (after `seal`)."""
    _rows: list[np.ndarray] = field(default_factory=list)

    def add(self, src: Source, thumb: np.ndarray) -> None:
        self.file.write(thumb.tobytes())
        self.items.append(src)
        h, w = self.shape
        v = thumb[: h - h % VEC_SHRINK, : w - w % VEC_SHRINK].astype(np.float32)
        v = v.reshape(h // VEC_SHRINK, VEC_SHRINK, w // VEC_SHRINK, VEC_SHRINK).mean(axis=(1, 3))
        self._rows.append(v.ravel())

    def seal(self) -> None:
        self.file.flush()
        n, (h, w) = len(self.items), self.shape
        self.thumbs = np.memmap(self.file.name, np.uint8, "r", shape=(n, h, w))
        self.vecs, self._rows = np.stack(self._rows), []

    def close(self) -> None:
        self.thumbs = _empty(0, 0, 0)  # unmapped before the file goes (Windows cannot delete it)
        self.file.close()


def _read(src: Source) -> tuple[Source, np.ndarray | None]:
    try:
        return src, thumbnail(src.path)
    except ImageError as e:
        reason = str(e).removeprefix(f"{src.path}: ")  # the path leads the line already
        log.warning("%s: cannot read (%s), left out of highlights", src.path, reason)
        return src, None


def _thumbnails(found: list[Source], workers: int) -> Iterator[tuple[Source, np.ndarray | None]]:
    """Decode in `workers` threads (PIL releases the GIL), in order, a bounded window ahead."""
    with ThreadPoolExecutor(workers) as pool:
        window = 4 * workers
        pending = [pool.submit(_read, s) for s in found[:window]]
        for k in range(len(found)):
            done = pending.pop(0).result()
            if k + window < len(found):
                pending.append(pool.submit(_read, found[k + window]))
            yield done


def _ssim(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [ssim_many(x, ys[k : k + BATCH]) for k in range(0, len(ys), BATCH)] or [np.zeros(0)]
    )


class _Scores:
    """Best known SSIM of each frame of a stream to another frame, and which frame."""

    def __init__(self, st: _Stream, floor: dict[Path, float]) -> None:
        self.st = st
        n = len(st.items)
        self.best = np.array([floor.get(s.path, -1.0) for s in st.items])
        self.match = np.full(n, -1)
        self.norms = (st.vecs**2).sum(axis=1)

    def compare(self, i: int, others: np.ndarray) -> None:
        others = others[others != i]
        if len(others) == 0:
            return
        s = _ssim(self.st.thumbs[i], self.st.thumbs[others])
        for j, v in zip(others, s, strict=True):
            if v > self.best[i]:
                self.best[i], self.match[i] = v, j
            if v > self.best[j]:
                self.best[j], self.match[j] = v, i

    def nearest(self, rows: slice | np.ndarray, k: int) -> np.ndarray:
        """Indices of the k nearest vectors (self included) of each row, by squared distance."""
        v = self.st.vecs
        d = self.norms[rows, None] + self.norms[None, :] - 2 * v[rows] @ v.T
        k = min(k, d.shape[1])
        return np.argpartition(d, k - 1, axis=1)[:, :k]


def _first_pass(sc: _Scores, tick: Callable[[int], None]) -> None:
    """Compare every frame with its nearest vectors and the next capture, each pair once."""
    n = len(sc.st.items)
    block = max(1, (1 << 24) // max(n, 1))  # distance block of at most 16M floats
    done: set[tuple[int, int]] = set()
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        near = sc.nearest(rows, NEIGHBOURS + 1)
        for r, i in enumerate(range(rows.start, rows.stop)):
            pairs = {(min(i, j), max(i, j)) for j in near[r].tolist() + [i + 1] if j != i and j < n}
            todo = sorted(pairs - done)
            done |= pairs
            sc.compare(i, np.array([j if j != i else k for k, j in todo], dtype=int))
            tick(1)


def find(
    paths: Iterable[Path],
    since: datetime | None = None,
    until: datetime | None = None,
    n: int = 20,
    catalog_scores: dict[Path, float] | None = None,
    on_progress: Progress | None = None,
    workers: int | None = None,
) -> list[Highlight]:
    """The n most unusual frames under `paths` in [since, until), most unusual first.

    `catalog_scores` maps a kept frame's path to the best score of a skipped frame that matched it
    (from the catalog): those skipped frames were frames of the period too, so a still screen whose
    repeats were never written is still known to be a repeat. `on_progress` is told of two steps
    per frame (its thumbnail, its comparisons).
    """
    found = sources(paths, since, until)
    if on_progress is not None:
        on_progress.start(2 * len(found))
    advance = on_progress.advance if on_progress is not None else _nothing
    with _scored(found, catalog_scores or {}, advance, workers) as scored:
        return _pick(_candidates(scored), scored, n)


def rank(
    found: list[Source], n: int, catalog_scores: dict[Path, float] | None = None
) -> tuple[list[Highlight], dict[Path, float]]:
    """The n highlights of `found` (as `find` picks them) and every frame's novelty, for
    retention: the frames it keeps are the highlights, then the most novel. A frame that cannot
    be read has no novelty."""
    with _scored(found, catalog_scores or {}, _nothing, None) as scored:
        novelty = {
            st.items[i].path: _novelty(float(sc.best[i]), len(st.items))
            for sc in scored
            for st in [sc.st]
            for i in range(len(st.items))
        }
        return _pick(_candidates(scored), scored, n), novelty


def _novelty(best: float, frames: int) -> float:
    """1 - the best SSIM to another frame; 1 for a stream's only frame."""
    return round(1 - max(best, 0.0), 6) if frames > 1 else 1.0


@contextlib.contextmanager
def _scored(
    found: list[Source],
    catalog_scores: dict[Path, float],
    advance: Callable[[int], None],
    workers: int | None,
) -> Iterator[list[_Scores]]:
    """Thumbnails of `found`, a stream per monitor and shape, each frame compared with its
    likely twins; the thumbnails' files go when the block ends."""
    workers = workers or min(2, os.cpu_count() or 1)
    streams: dict[tuple[int, tuple[int, int]], _Stream] = {}
    with tempfile.TemporaryDirectory(prefix="screenrecord-highlights-") as tmp:
        try:
            for src, thumb in _thumbnails(found, workers):
                advance(1)
                if thumb is None:
                    continue
                h, w = thumb.shape
                key = (src.monitor, (h, w))
                if key not in streams:
                    f = open(Path(tmp) / f"{len(streams)}.u8", "w+b")  # noqa: SIM115 closed below
                    streams[key] = _Stream(src.monitor, (h, w), f)
                streams[key].add(src, thumb)
            scored = []
            for st in streams.values():
                st.seal()
                sc = _Scores(st, catalog_scores)
                _first_pass(sc, advance)
                scored.append(sc)
            yield scored
        finally:
            for st in streams.values():
                st.close()


def _candidates(scored: list[_Scores]) -> list[tuple[float, int, int, int]]:
    """The heap `_pick` starts from: (best SSIM, refined, stream, index) of every frame."""
    heap = [
        (float(sc.best[i]) if len(sc.st.items) > 1 else -1.0, 0, k, i)
        for k, sc in enumerate(scored)
        for i in range(len(sc.st.items))
    ]
    heapq.heapify(heap)
    return heap


def _nothing(n: int = 1) -> None:
    """Progress reported to no one."""


def _pick(
    heap: list[tuple[float, int, int, int]], scored: list[_Scores], n: int
) -> list[Highlight]:
    """Greedy: lowest best-SSIM first; compare a candidate widely before trusting its score."""
    picked: dict[int, list[int]] = defaultdict(list)
    out: list[Highlight] = []
    while heap and len(out) < n:
        best, refined, k, i = heapq.heappop(heap)
        if 1 - best < MIN_NOVELTY:
            break
        sc = scored[k]
        if not refined and len(sc.st.items) > 1:
            sc.compare(i, sc.nearest(np.array([i]), REFINE + 1)[0])
            heapq.heappush(heap, (float(sc.best[i]), 1, k, i))
            continue
        mine = picked[k]
        taken = sc.st.items[i].taken
        if any(abs(taken - sc.st.items[j].taken) < SPREAD for j in mine):
            continue
        if mine and _ssim(sc.st.thumbs[i], sc.st.thumbs[np.array(mine)]).max() >= DIVERSITY:
            continue
        mine.append(i)
        src = sc.st.items[i]
        m = int(sc.match[i])
        out.append(
            Highlight(
                rank=len(out) + 1,
                path=src.path,
                taken=src.taken,
                monitor=src.monitor,
                novelty=_novelty(float(best), len(sc.st.items)),
                nearest=sc.st.items[m].path if m >= 0 else None,
            )
        )
    return out


def repeats(root: Path, since: datetime | None, until: datetime | None) -> dict[Path, float]:
    """From ROOT's catalog, if any: kept frame -> best score of a skipped repeat of it in the period."""
    from screenrecord.archive.catalog import FILE_NAME, Catalog

    if not (root / FILE_NAME).exists():
        return {}
    with Catalog.open(root, create=False) as cat:
        return {root / rel: score for rel, score in cat.repeats(Period(since, until)).items()}


def copy_frames(picks: Iterable[Highlight], folder: Path) -> None:
    """Copy picked frames into `folder` under their own names; never overwrites another file."""
    try:
        store.make_dirs(folder)
        for h in picks:
            dest = folder / h.path.name
            data = h.path.read_bytes()
            if dest.exists() and dest.read_bytes() == data:
                continue  # copied by an earlier run
            store.write_atomic(dest, data)
    except OSError as e:  # a folder that cannot be made or written (`/proc/1`, read-only)
        where = e.filename or folder
        raise StoreError(
            f"--copy-to {folder}: cannot copy there ({where}: {e.strerror}); give a folder you can write"
        ) from e


def to_json(h: Highlight) -> dict:
    return {
        "rank": h.rank,
        "path": str(h.path),
        "taken": h.taken.isoformat(timespec="microseconds"),
        "monitor": h.monitor,
        "novelty": h.novelty,
        "nearest": str(h.nearest) if h.nearest else None,
    }
