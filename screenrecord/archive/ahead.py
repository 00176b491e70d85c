"""Work done a few items ahead in a background thread, in order: the stages of `dedup` (decode,
prepare) and the daemon's ring warm-up (decode) overlap this way on two cores."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetch(
    fn: Callable[[T], R], it: Iterable[T], workers: int = 1, depth: int | None = None
) -> Iterator[tuple[T, Future[R]]]:
    """Run fn on items in background threads, `depth` ahead (by default 2 * workers + 2),
    yielding (item, future) in order."""
    depth = depth or 2 * workers + 2
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ahead") as pool:
        window: deque[tuple[T, Future[R]]] = deque()
        for x in it:
            window.append((x, pool.submit(fn, x)))
            if len(window) >= depth:
                yield window.popleft()
        while window:
            yield window.popleft()
