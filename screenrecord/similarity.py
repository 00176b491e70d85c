"""SSIM of screen frames against a ring of kept frames: pytorch_msssim's numbers, fast on a CPU.

The score is `pytorch_msssim.ssim(x, y, data_range=255)` (Gaussian window 11, sigma 1.5, K1 0.01,
K2 0.03) of RGB frames at half width and height. On a CPU it is computed without changing a decision:

- Every frame is cut into TILE x TILE output tiles, each hashed with the input pixels it reads
  (tile plus a 10-pixel halo). Where two frames agree on a tile, every SSIM window in it scores
  exactly 1, so only tiles that differ are filtered: a blinking cursor costs one tile, not a frame.
- Tiles that differ are scored in batches, most different first, and a comparison stops as soon as
  even a perfect score on the remaining tiles could not lift it over the bar it has to clear.
- A coarse pass (grayscale SSIM of 1/8-size thumbnails against the whole ring in one batch) picks
  the few ring frames worth an exact comparison. Over every pair of the test corpus the coarse
  score is never more than 0.03 below the exact one where the exact one is 0.95 or more; the
  margins below are four times that. A frame it would wrongly skip is kept, never lost.
- On CUDA or Apple MPS the ring is scored exactly, in batches, with pytorch_msssim itself.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from screenrecord import halfres
from screenrecord.errors import ImageError, UsageError
from screenrecord.models import DedupSettings, Decision, Kind

log = logging.getLogger(__name__)

WIN = 11
SIGMA = 1.5
C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
HALO = WIN - 1
TILE = 32
COARSE = 8
"""Thumbnail scale of the coarse pass, relative to the half-size frame."""
DUP_MARGIN = 0.10
NEAR_MARGIN = 0.12
"""How far below a threshold a coarse score may be and the ring frame still be compared exactly."""


def gauss_window() -> np.ndarray:
    """The 1-D Gaussian of pytorch_msssim, normalised in float32 as it does."""
    coords = np.arange(WIN, dtype=np.float32) - WIN // 2
    g = np.exp(-(coords**2) / np.float32(2 * SIGMA**2)).astype(np.float32)
    return g / g.sum(dtype=np.float32)


G = gauss_window()


def _filter(a: np.ndarray) -> np.ndarray:
    """Gaussian-filter (H, W, C) float32 and keep the valid region (H-10, W-10, C).

    cv2's separable filter gives torch conv2d's numbers (float32) several times faster.
    """
    f = cv2.sepFilter2D(a, -1, G, G, borderType=cv2.BORDER_CONSTANT).reshape(a.shape)
    r = WIN // 2
    return f[r : f.shape[0] - r, r : f.shape[1] - r]


def _ssim_map(mu1, mu2, xx, yy, xy):
    """pytorch_msssim's SSIM map from filtered x, y, x*x, y*y, x*y."""
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    cs = (2 * (xy - mu12) + C2) / ((xx - mu1_sq) + (yy - mu2_sq) + C2)
    return ((2 * mu12 + C1) / (mu1_sq + mu2_sq + C1)) * cs


def ssim_many(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """SSIM of image x against each image in ys, for batches of small images (thumbnails).

    x: (H, W) or (H, W, C); ys: (N, H, W) or (N, H, W, C); values 0..255. Returns (N,) float64.
    """
    x = np.asarray(x, np.float32)
    ys = np.asarray(ys, np.float32)
    if x.ndim == 2:
        x, ys = x[..., None], ys[..., None]
    if ys.shape[1:] != x.shape:
        raise ValueError(f"Input images should have the same dimensions, but got {x.shape} and {ys.shape[1:]}.")
    n, (h, w, c) = len(ys), x.shape
    if h < WIN or w < WIN:
        raise ValueError(f"images of {w}x{h} are smaller than the {WIN}-pixel SSIM window")
    out = np.empty(n)
    if n == 0:
        return out
    mu1, xx = _filter(x), _filter(x * x)
    step = max(1, 510 // c)  # cv2 filters at most 512 channels at once
    for k in range(0, n, step):
        m = min(n, k + step) - k
        y = np.ascontiguousarray(ys[k : k + m].transpose(1, 2, 0, 3).reshape(h, w, m * c))
        xs = np.tile(x, (1, 1, m))
        s = _ssim_map(np.tile(mu1, (1, 1, m)), _filter(y), np.tile(xx, (1, 1, m)), _filter(y * y), _filter(xs * y))
        out[k : k + m] = s.reshape(-1, m, c).mean(axis=(0, 2), dtype=np.float64)
    return out


@dataclass(eq=False)
class Prepared:
    """A half-size frame ready for comparison: padded planar pixels, block hashes, thumbnail."""

    planes: np.ndarray
    """(3, rows*TILE, cols*TILE) uint8: R, G, B planes with the frame at the top left, zeros elsewhere."""
    shape: tuple[int, int]
    """(height, width) of the half-size frame."""
    blocks: np.ndarray
    """(rows, cols) uint64 hash of each TILE x TILE block of `planes`."""
    digest: bytes
    coarse: Coarse | None
    _device: object = field(default=None, repr=False)

    @property
    def half(self) -> np.ndarray:
        """The half-size frame as an (H, W, 3) view."""
        h, w = self.shape
        return self.planes[:, :h, :w].transpose(1, 2, 0)

    @property
    def nbytes(self) -> int:
        return self.planes.nbytes + self.blocks.nbytes + (self.coarse.nbytes if self.coarse is not None else 0)

    @property
    def windows(self) -> int:
        h, w = self.shape
        return (h - HALO) * (w - HALO)


@dataclass(eq=False)
class Previous:
    """What a stream keeps of its last frame: full-size pixels, half-size pixels, prepared form."""

    full: np.ndarray
    half: np.ndarray
    prepared: Prepared


def _hash_blocks(planes: np.ndarray, blocks: np.ndarray, which: Sequence[tuple[int, int]] | None) -> None:
    if which is None:
        rows, cols = blocks.shape
        t = planes.reshape(3, rows, TILE, cols, TILE).transpose(1, 3, 0, 2, 4).reshape(rows * cols, -1)
        t = np.ascontiguousarray(t)
        raw = b"".join(hashlib.blake2b(b, digest_size=8).digest() for b in t)
        blocks[:] = np.frombuffer(raw, np.uint64).reshape(blocks.shape)
        return
    for i, j in which:
        b = planes[:, i * TILE : (i + 1) * TILE, j * TILE : (j + 1) * TILE].tobytes()
        blocks[i, j] = np.frombuffer(hashlib.blake2b(b, digest_size=8).digest(), np.uint64)[0]


@dataclass(eq=False)
class Coarse:
    """A grayscale thumbnail (1/COARSE of the half-size frame) and its filtered mean and square."""

    pixels: np.ndarray
    mu: np.ndarray
    sq: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.pixels.nbytes + self.mu.nbytes + self.sq.nbytes


def _coarse(half: np.ndarray) -> Coarse | None:
    h, w = half.shape[:2]
    ch, cw = h // COARSE, w // COARSE
    if ch < WIN or cw < WIN:
        return None
    gray = cv2.cvtColor(np.ascontiguousarray(half[: ch * COARSE, : cw * COARSE]), cv2.COLOR_RGB2GRAY)
    x = cv2.resize(gray, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float32)
    return Coarse(x, _filter(x[..., None])[..., 0].copy(), _filter((x * x)[..., None])[..., 0].copy())


def coarse_scores(x: Coarse, ys: Sequence[Coarse]) -> np.ndarray:
    """SSIM of thumbnail x against each of ys (all the same size), in one wide filtering pass."""
    n = len(ys)
    h, w = x.pixels.shape
    wide = np.concatenate([y.pixels for y in ys], axis=1)  # (h, n*w): images side by side
    xy = np.tile(x.pixels, (1, n))
    np.multiply(xy, wide, out=xy)
    r = WIN // 2
    f = cv2.sepFilter2D(xy, -1, G, G, borderType=cv2.BORDER_CONSTANT).reshape(h, n, w)[r : h - r, :, r : w - r]
    mu2 = np.stack([y.mu for y in ys], axis=1)
    sq2 = np.stack([y.sq for y in ys], axis=1)
    s = _ssim_map(x.mu[:, None], mu2, x.sq[:, None], sq2, f)
    return s.mean(axis=(0, 2), dtype=np.float64)


def prepare_half(half: np.ndarray, prev: Prepared | None = None, rects: halfres.Rects | None = None) -> Prepared:
    """Prepare a half-size (H, W, 3) frame; given the prepared previous frame of the stream and
    the rectangles where `half` differs from it, redo only the blocks those touch."""
    h, w = half.shape[:2]
    if h < WIN or w < WIN:
        raise ImageError(f"frame of {2 * w}x{2 * h} is too small to compare (at least {2 * WIN}x{2 * WIN})")
    if prev is not None and rects == [] and prev.shape == (h, w):
        return prev
    rows, cols = -(-(h - HALO) // TILE) + 1, -(-(w - HALO) // TILE) + 1
    if prev is not None and rects is not None and prev.shape == (h, w):
        planes = prev.planes.copy()
        blocks = prev.blocks.copy()
        which = set()
        for y0, y1, x0, x1 in rects:
            planes[:, y0:y1, x0:x1] = half[y0:y1, x0:x1].transpose(2, 0, 1)
            which.update(
                (i, j)
                for i in range(y0 // TILE, (y1 - 1) // TILE + 1)
                for j in range(x0 // TILE, (x1 - 1) // TILE + 1)
            )
        _hash_blocks(planes, blocks, sorted(which))
    else:
        planes = np.zeros((3, rows * TILE, cols * TILE), np.uint8)
        planes[:, :h, :w] = half.transpose(2, 0, 1)
        blocks = np.empty((rows, cols), np.uint64)
        _hash_blocks(planes, blocks, None)
    digest = hashlib.blake2b(blocks.tobytes() + f"{h}x{w}".encode(), digest_size=16).digest()
    return Prepared(planes, (h, w), blocks, digest, _coarse(half))


def prepare(image: Image.Image | np.ndarray) -> Prepared:
    """Prepare a full-size RGB frame (PIL image or (H, W, 3) uint8 array) on its own."""
    half, _ = halfres.half_size(halfres.as_array(image))
    return prepare_half(half)


def _changed_tiles(a: Prepared, b: Prepared) -> np.ndarray:
    """Output tiles whose input pixels (tile + halo, within blocks i..i+1, j..j+1) differ."""
    m = a.blocks != b.blocks
    out = m[:-1, :-1] | m[1:, :-1] | m[:-1, 1:] | m[1:, 1:]
    return np.argwhere(out)


class Pair:
    """An exact SSIM comparison, computed tile batch by tile batch until it is decided."""

    FIRST_BATCH = 24
    BATCH = 96

    def __init__(self, a: Prepared, b: Prepared) -> None:
        self.a, self.b = a, b
        h, w = a.shape
        self.total = a.windows
        tiles = _changed_tiles(a, b)
        if len(tiles) and a.coarse is not None:  # most different first: the bound drops fastest
            d = np.abs(a.coarse.pixels - b.coarse.pixels)
            k = TILE // COARSE
            ti = np.minimum(tiles[:, 0] * k + k // 2, d.shape[0] - 1)
            tj = np.minimum(tiles[:, 1] * k + k // 2, d.shape[1] - 1)
            tiles = tiles[np.argsort(-d[ti, tj], kind="stable")]
        self.tiles = tiles
        self.rows = np.minimum(TILE, h - HALO - tiles[:, 0] * TILE)
        self.cols = np.minimum(TILE, w - HALO - tiles[:, 1] * TILE)
        counts = self.rows * self.cols
        self.done = 0
        self.sum = float(self.total - counts.sum())  # unchanged windows score exactly 1
        self.remaining = float(counts.sum())

    @property
    def exact(self) -> bool:
        return self.done == len(self.tiles)

    @property
    def bound(self) -> float:
        """The score if every tile not yet computed scored 1: an upper bound, exact when done."""
        return (self.sum + self.remaining) / self.total

    def run(self, cutoff: float = -math.inf) -> float:
        """Compute until the score is exact or provably at most `cutoff`; return the bound."""
        while not self.exact and self.bound > cutoff:
            n = self.FIRST_BATCH if self.done == 0 else self.BATCH
            sl = slice(self.done, self.done + n)
            self.sum += _tile_sums(self.a, self.b, self.tiles[sl], self.rows[sl], self.cols[sl])
            self.remaining -= float((self.rows[sl] * self.cols[sl]).sum())
            self.done = min(len(self.tiles), self.done + n)
        return self.bound


def _tile_sums(a: Prepared, b: Prepared, tiles: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Sum over the given tiles of the SSIM map (mean over channels), valid windows only.

    Tiles sit side by side in wide planes (5 maps x 3 channels stacked vertically), the layout in
    which cv2 filters fastest; the halo keeps neighbours from leaking into valid windows.
    """
    k, p = len(tiles), TILE + HALO
    maps = np.empty((5, 3, p, k, p), np.float32)
    for n, (i, j) in enumerate(tiles):
        y, x = i * TILE, j * TILE
        maps[0, :, :, n] = a.planes[:, y : y + p, x : x + p]
        maps[1, :, :, n] = b.planes[:, y : y + p, x : x + p]
    np.multiply(maps[0], maps[0], out=maps[2])
    np.multiply(maps[1], maps[1], out=maps[3])
    np.multiply(maps[0], maps[1], out=maps[4])
    f = cv2.sepFilter2D(maps.reshape(15 * p, k * p), -1, G, G, borderType=cv2.BORDER_CONSTANT)
    r = WIN // 2
    f = f.reshape(5, 3, p, k, p)[:, :, r : r + TILE, :, r : r + TILE]
    s = _ssim_map(*f).sum(axis=0)  # (TILE, k, TILE), summed over channels
    if (rows < TILE).any() or (cols < TILE).any():  # tiles at the bottom and right edges
        valid = (np.arange(TILE)[:, None] < rows[None, :])[:, :, None] & (np.arange(TILE)[None, None, :] < cols[None, :, None])
        s = s * valid
    return float(s.sum(dtype=np.float64)) / 3


def ssim(a: Prepared, b: Prepared) -> float:
    """Exact SSIM of two prepared frames of the same size."""
    if a.shape != b.shape:
        raise ValueError(f"Input images should have the same dimensions, but got {a.shape} and {b.shape}.")
    return Pair(a, b).run()


def _accelerator_possible() -> bool:
    """Whether CUDA or MPS could exist here, decided without importing torch (slow, ~200 MB)."""
    import platform
    import shutil

    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def resolve_device(name: str) -> str:
    """`auto` -> cuda, then mps, then cpu; an explicit device must be available."""
    if name not in ("auto", "cpu", "cuda", "mps"):
        raise UsageError(f"device {name!r} is not one of auto, cpu, cuda, mps")
    if name == "cpu" or (name == "auto" and not _accelerator_possible()):
        return "cpu"
    try:
        import torch
    except ImportError:
        torch = None
    cuda = torch is not None and torch.cuda.is_available()
    mps = torch is not None and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UsageError(f"device {name!r} is not available here; use device = \"auto\" or \"cpu\"")
    return name


class Engine:
    """Prepares frames and decides them against a ring, on the CPU or on a torch device."""

    def __init__(self, settings: DedupSettings | None = None) -> None:
        self.settings = settings or DedupSettings()
        if self.settings.scale != 2:
            raise UsageError(f"scale {self.settings.scale} is not supported; frames are compared at half size (scale = 2)")
        self.device = resolve_device(self.settings.device)
        self._torch = TorchScorer(self.device) if self.device != "cpu" else None

    def prepare(self, image: Image.Image | np.ndarray, prev: Previous | None = None) -> tuple[Prepared, Previous]:
        """Prepare a full-size frame, reusing the work done for the stream's previous frame.

        Returns the prepared frame and what the stream keeps for its next frame."""
        full = halfres.as_array(image)
        if prev is None:
            half, rects = halfres.half_size(full)
            p = prepare_half(half)
        else:
            half, rects = halfres.half_size(full, prev.full, prev.half)
            p = prepare_half(half, prev.prepared if rects is not None else None, rects)
        return p, Previous(full, half, p)

    def decide(self, p: Prepared, ring) -> tuple[Decision, int | None]:
        """Decision for p against the ring (most recent first), and the index of the ring frame it
        matched (duplicate) or scored best against (near, new)."""
        if len(ring) == 0:
            return Decision(Kind.NEW, None, None, 0), None
        if self._torch is not None:
            return self._decide_scores(self._torch.scores(p, ring), ring)
        return self._decide_cpu(p, ring)

    def _kind(self, score: float) -> Kind:
        s = self.settings
        if score > s.duplicate_threshold:
            return Kind.DUPLICATE
        return Kind.NEAR if score >= s.near_threshold else Kind.NEW

    def _decide_scores(self, scores: np.ndarray, ring) -> tuple[Decision, int | None]:
        """Reference semantics from exact scores: the first ring frame over the duplicate
        threshold wins, else the best one decides."""
        over = np.flatnonzero(scores > self.settings.duplicate_threshold)
        i = int(over[0]) if len(over) else int(np.argmax(scores))
        s = float(scores[i])
        return Decision(self._kind(s), s, ring[i].name, len(scores)), i

    def _decide_cpu(self, p: Prepared, ring) -> tuple[Decision, int | None]:
        s = self.settings
        n = len(ring)
        frames = [e.frame for e in ring]
        same = [f.shape == p.shape for f in frames]
        coarse = _coarse_scores(p, frames, same)
        pairs: dict[int, Pair] = {}

        def pair(i: int) -> Pair:
            if i not in pairs:
                pairs[i] = Pair(p, frames[i])
            return pairs[i]

        # 1. the first ring frame, most recent first, over the duplicate threshold
        for i in range(n):
            if not same[i] or coarse[i] < s.duplicate_threshold - DUP_MARGIN:
                continue
            if frames[i].digest == p.digest:  # same pixels: SSIM is exactly 1
                return Decision(Kind.DUPLICATE, 1.0, ring[i].name, len(pairs)), i
            score = pair(i).run(s.duplicate_threshold)
            if score > s.duplicate_threshold:
                return Decision(Kind.DUPLICATE, score, ring[i].name, len(pairs)), i
        # 2. otherwise the best score among the frames worth comparing decides near / new
        cands = [i for i in range(n) if same[i] and coarse[i] >= s.near_threshold - NEAR_MARGIN]
        if not cands and any(same):  # nothing close: score the nearest, for the record
            cands = [int(np.argmax(np.where(same, coarse, -np.inf)))]
        best, best_i = -math.inf, None
        for i in sorted(cands, key=lambda i: -coarse[i]):
            bound = pair(i).run(best)
            if pair(i).exact and bound > best:
                best, best_i = bound, i
        if best_i is None:
            return Decision(Kind.NEW, None, None, len(pairs)), None
        return Decision(self._kind(best), best, ring[best_i].name, len(pairs)), best_i


def _coarse_scores(p: Prepared, frames: list[Prepared], same: list[bool]) -> np.ndarray:
    """Coarse score of p against every ring frame (+inf where there is no thumbnail to compare)."""
    out = np.full(len(frames), -np.inf)
    idx = [i for i, f in enumerate(frames) if same[i]]
    if not idx:
        return out
    if p.coarse is None:
        out[idx] = np.inf
        return out
    out[idx] = coarse_scores(p.coarse, [frames[i].coarse for i in idx])
    return out


class TorchScorer:
    """Exact scores of a frame against the whole ring with pytorch_msssim on a torch device."""

    CHUNK = 16

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def _tensor(self, p: Prepared):
        if p._device is None:
            h, w = p.shape
            p._device = self.torch.from_numpy(np.ascontiguousarray(p.planes[:, :h, :w])).to(self.device)
        return p._device

    def scores(self, p: Prepared, ring) -> np.ndarray:
        from pytorch_msssim import ssim as torch_ssim

        torch = self.torch
        out = np.full(len(ring), -np.inf)
        x = self._tensor(p).float()[None]
        idx = [i for i, e in enumerate(ring) if e.frame.shape == p.shape]
        with torch.no_grad():
            for k in range(0, len(idx), self.CHUNK):
                part = idx[k : k + self.CHUNK]
                ys = torch.stack([self._tensor(ring[i].frame) for i in part]).float()
                s = torch_ssim(x.expand(len(part), -1, -1, -1), ys, data_range=255, size_average=False)
                out[part] = s.double().cpu().numpy()
        return out


def load_image(path: Path) -> np.ndarray:
    """Decode an image file to RGB pixels, or raise ImageError with a one-line reason."""
    from screenrecord import images

    return images.load(path)


def compare_files(a: Path, b: Path, device: str = "auto") -> float:
    """SSIM of two image files at half size (the `compare` command)."""
    pa, pb = prepare(load_image(a)), prepare(load_image(b))
    if pa.shape != pb.shape:
        raise UsageError(f"{a} and {b} differ in size ({pa.shape[1] * 2}x{pa.shape[0] * 2} vs {pb.shape[1] * 2}x{pb.shape[0] * 2}); frames of different size never match")
    if resolve_device(device) != "cpu":
        return float(TorchScorer(resolve_device(device)).scores(pa, [_Named(pb)])[0])
    return ssim(pa, pb)


@dataclass
class _Named:
    frame: Prepared
    name: str = ""
