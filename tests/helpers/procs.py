"""The one way tests stop a subprocess they started: a signal, a wait, SIGKILL if it hangs on."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

P = TypeVar("P", bound=subprocess.Popen)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> tuple[int, str]:
    """Send `sig` (unless it has already exited), wait up to `timeout` s, then SIGKILL it.

    Returns its exit status (-9 if it had to be killed) and its stderr ("" when not piped). The
    pipes are drained and closed, so no ResourceWarning follows the process.
    """
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err or ""


@contextmanager
def running(proc: P) -> Iterator[P]:
    """`with running(Popen(...)) as proc:` stops proc on leaving, however the block ends."""
    try:
        yield proc
    finally:
        stop(proc)
