"""Frames loaded from image files and compared: the library side of the `compare` command."""

from __future__ import annotations

from pathlib import Path

from screenrecord.engine.device import TorchScorer, resolve_device
from screenrecord.engine.exact import ssim
from screenrecord.engine.prepared import Prepared, prepare
from screenrecord.engine.ring import Ring
from screenrecord.errors import UsageError


def compare_files(a: Path, b: Path, device: str = "auto") -> float:
    """SSIM of two image files at half size (the `compare` command)."""
    from screenrecord.archive import images

    pa, pb = prepare(images.load(a)), prepare(images.load(b))
    if pa.shape != pb.shape:
        raise UsageError(
            f"{a} and {b} differ in size ({pa.shape[1] * 2}x{pa.shape[0] * 2} vs {pb.shape[1] * 2}x{pb.shape[0] * 2}); frames of different size never match"
        )
    if resolve_device(device) != "cpu":
        ring: Ring[Prepared] = Ring(1)
        ring.push(str(b), pb)
        return float(TorchScorer(resolve_device(device)).scores(pa, ring)[0])
    return ssim(pa, pb)
