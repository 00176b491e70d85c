"""Real filesystems for tests: an exFAT drive (a loop device, FUSE's exFAT) and a folder turned
read-only by a bind mount. Mounting needs root, which CI has; elsewhere the test is skipped with
the reason (helpers.system.unavailable)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from helpers.system import require, unavailable


@contextlib.contextmanager
def exfat(tmp: Path, size: str = "64M") -> Iterator[Path]:
    """A fresh exFAT filesystem mounted at `tmp/exfat` (no hard links there: the USB drive case):
    an image file made with truncate, formatted by mkfs.exfat, attached to a loop device and
    mounted with mount.exfat-fuse; unmounted and detached afterwards."""
    require("exfatprogs", "mkfs.exfat")
    require("exfat-fuse", "mount.exfat-fuse")
    require("mount", "losetup", "umount")
    image, point = tmp / "exfat.img", tmp / "exfat"
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    subprocess.run(["mkfs.exfat", str(image)], check=True, capture_output=True)
    point.mkdir()
    r = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True)
    if r.returncode != 0:
        unavailable(f"cannot attach a loop device here ({r.stderr.strip()}): needs root")
    device = r.stdout.strip()
    try:
        r = subprocess.run(["mount.exfat-fuse", device, str(point)], capture_output=True, text=True)
        if r.returncode != 0:
            unavailable(f"cannot mount exFAT here ({r.stderr.strip()}): needs root and /dev/fuse")
        try:
            yield point
        finally:
            if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(point)], check=False)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` made read-only by a read-only bind mount over itself (tests run as root, and
    chmod does not stop root), until the block ends."""
    r = subprocess.run(
        ["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True
    )
    if r.returncode != 0:
        unavailable(f"cannot bind-mount here ({r.stderr.strip()}): needs root")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
