"""A bounded most-recently-used ring of prepared frames, one per monitor stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Entry(Generic[T]):
    name: str
    frame: T


class Ring(Generic[T]):
    """Most recent first; a matched entry moves to the front, the oldest falls out."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"ring size must be at least 1, got {size}")
        self.size = size
        self._entries: list[Entry[T]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries)

    def __getitem__(self, i: int) -> Entry[T]:
        return self._entries[i]

    def push(self, name: str, frame: T) -> Entry[T] | None:
        """Put a frame at the front; return the entry that fell out, if any."""
        self._entries.insert(0, Entry(name, frame))
        return self._entries.pop() if len(self._entries) > self.size else None

    def touch(self, i: int) -> None:
        """Move entry i to the front."""
        self._entries.insert(0, self._entries.pop(i))
