"""Where frames are scored: the CPU, or CUDA or Apple MPS through torch and pytorch_msssim.

On a torch device the ring is scored exactly, in batches, with pytorch_msssim itself. torch comes
with the `gpu` extra and is imported only when such a device is asked for: the CPU engine never
loads it (~200 MB).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from screenrecord.errors import UsageError

if TYPE_CHECKING:
    from screenrecord.engine.prepared import Prepared
    from screenrecord.engine.ring import Ring

log = logging.getLogger(__name__)


def _accelerator_possible() -> bool:
    """Whether CUDA or MPS could exist here, decided without importing torch (slow, ~200 MB)."""
    import platform
    import shutil

    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def resolve_device(name: str) -> str:
    """`auto` -> cuda, then mps, then cpu; an explicit device must be available.

    torch and pytorch_msssim come with the `gpu` extra; without it `auto` is the CPU and an
    explicit cuda or mps is a UsageError naming the extra."""
    if name not in ("auto", "cpu", "cuda", "mps"):
        raise UsageError(f"device {name!r} is not one of auto, cpu, cuda, mps")
    if name == "cpu" or (name == "auto" and not _accelerator_possible()):
        return "cpu"
    try:
        import pytorch_msssim  # noqa: F401  (TorchScorer's; torch alone cannot score)
        import torch
    except ImportError:  # installed without the gpu extra: the CPU engine is all there is
        if name == "auto":
            log.debug("torch or pytorch_msssim is not installed: scoring on the CPU")
            return "cpu"
        # From the clone: the "screenrecord" on PyPI is another project.
        raise UsageError(
            f"device {name!r} needs the gpu extra (torch, pytorch-msssim): in screenrecord's"
            " clone, pip install '.[gpu]' (or pipx install --force '.[gpu]');"
            ' or use device = "auto" or "cpu"'
        ) from None
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UsageError(f'device {name!r} is not available here; use device = "auto" or "cpu"')
    return name


class TorchScorer:
    """Exact scores of a frame against the whole ring with pytorch_msssim on a torch device.

    A compact ring frame is decompressed once, when first scored, into a tensor on the device
    that stays with the frame: the device holds the ring's pixels whole (1.7 MB a 1080p frame
    on a GPU), the host only its compressed tiles."""

    CHUNK = 16

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def _tensor(self, p: Prepared) -> Any:  # a torch.Tensor on self.device
        if p._device is None:
            h, w = p.shape
            p._device = self.torch.from_numpy(np.ascontiguousarray(p.planes[:, :h, :w])).to(
                self.device
            )
        return p._device

    def scores(self, p: Prepared, ring: Ring[Prepared]) -> np.ndarray:
        from pytorch_msssim import ssim as torch_ssim

        torch = self.torch
        out = np.full(len(ring), -np.inf)
        x = self._tensor(p).float()[None]
        idx = [i for i, e in enumerate(ring) if e.frame.shape == p.shape]
        with torch.no_grad():
            for k in range(0, len(idx), self.CHUNK):
                part = idx[k : k + self.CHUNK]
                ys = torch.stack([self._tensor(ring[i].frame) for i in part]).float()
                s = torch_ssim(
                    x.expand(len(part), -1, -1, -1), ys, data_range=255, size_average=False
                )
                out[part] = s.double().cpu().numpy()
        return out
