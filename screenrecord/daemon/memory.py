"""Handing the memory a tick freed back to the system, where the allocator keeps it (glibc)."""

from __future__ import annotations

import ctypes
import sys


def release() -> None:
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
