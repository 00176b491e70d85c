"""SSIM between screen frames, fast on CPU, identical in value to pytorch_msssim."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

WIN = 11
SIGMA = 1.5
C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
TILE = 32
HALO = WIN - 1
COARSE = 8


def gauss_window() -> np.ndarray:
    """The 1-D Gaussian of pytorch_msssim (float32, normalised in float32)."""
    coords = np.arange(WIN, dtype=np.float32) - WIN // 2
    g = np.exp(-(coords**2) / np.float32(2 * SIGMA**2)).astype(np.float32)
    return g / g.sum(dtype=np.float32)


G = gauss_window()


def half_size(image: Image.Image) -> np.ndarray:
    w, h = image.size
    return np.asarray(image.convert("RGB").resize((w // 2, h // 2), Image.LANCZOS))


@dataclass(eq=False)
class Prepared:
    @property
    def nbytes(self) -> int:
        return self.padded.nbytes + self.blocks.nbytes + self.coarse.nbytes

    padded: np.ndarray  # (bh*T+HALO, bw*T+HALO, 3) uint8
    shape: tuple[int, int]
    blocks: np.ndarray  # (bh, bw) uint64 hash per input block
    digest: bytes
    coarse: np.ndarray


def block_hashes(padded: np.ndarray, bh: int, bw: int) -> np.ndarray:
    core = padded[: bh * TILE, : bw * TILE]
    tiles = np.ascontiguousarray(core.reshape(bh, TILE, bw, TILE * 3).transpose(0, 2, 1, 3))
    flat = tiles.reshape(bh * bw, -1)
    out = b"".join(hashlib.blake2b(row, digest_size=8).digest() for row in flat)
    return np.frombuffer(out, dtype=np.uint64).reshape(bh, bw)


def prepare(half: np.ndarray) -> Prepared:
    h, w = half.shape[:2]
    bh, bw = -(-(h - HALO) // TILE), -(-(w - HALO) // TILE)
    padded = np.zeros((bh * TILE + HALO, bw * TILE + HALO, 3), np.uint8)
    padded[:h, :w] = half
    blocks = block_hashes(padded, bh, bw)
    digest = hashlib.blake2b(blocks.tobytes() + repr((h, w)).encode(), digest_size=16).digest()
    gray = half.mean(axis=2, dtype=np.float32)
    ch, cw = h // COARSE, w // COARSE
    coarse = gray[: ch * COARSE, : cw * COARSE].reshape(ch, COARSE, cw, COARSE).mean(axis=(1, 3))
    return Prepared(padded, (h, w), blocks, digest, coarse.astype(np.float32))


def changed_tiles(a: Prepared, b: Prepared) -> np.ndarray:
    """Output tiles whose input patch (tile + halo) differs between a and b."""
    m = a.blocks != b.blocks
    out = m.copy()
    out[:-1, :] |= m[1:, :]
    out[:, :-1] |= m[:, 1:]
    out[:-1, :-1] |= m[1:, 1:]
    return np.argwhere(out)


def _tile_sums(a: Prepared, b: Prepared, tiles: np.ndarray) -> np.ndarray:
    k = len(tiles)
    p = TILE + HALO
    xa = np.empty((k, p, p, 3), np.uint8)
    xb = np.empty((k, p, p, 3), np.uint8)
    for n, (i, j) in enumerate(tiles):
        xa[n] = a.padded[i * TILE : i * TILE + p, j * TILE : j * TILE + p]
        xb[n] = b.padded[i * TILE : i * TILE + p, j * TILE : j * TILE + p]
    x = xa.astype(np.float32)
    y = xb.astype(np.float32)
    maps = np.concatenate([x, y, x * x, y * y, x * y], axis=3).reshape(k * p, p, 15)
    f = cv2.sepFilter2D(maps, -1, G, G, borderType=cv2.BORDER_CONSTANT)
    f = f.reshape(k, p, p, 15)[:, WIN // 2 : WIN // 2 + TILE, WIN // 2 : WIN // 2 + TILE]
    mu1, mu2 = f[..., 0:3], f[..., 3:6]
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = f[..., 6:9] - mu1_sq
    s2 = f[..., 9:12] - mu2_sq
    s12 = f[..., 12:15] - mu12
    cs = (2 * s12 + C2) / (s1 + s2 + C2)
    ssim = ((2 * mu12 + C1) / (mu1_sq + mu2_sq + C1)) * cs
    h, w = a.shape
    ho, wo = h - HALO, w - HALO
    rows = tiles[:, 0, None] * TILE + np.arange(TILE)
    cols = tiles[:, 1, None] * TILE + np.arange(TILE)
    valid = (rows < ho)[:, :, None] & (cols < wo)[:, None, :]
    return (ssim.sum(axis=3, dtype=np.float64) * valid).sum(axis=(1, 2)), valid.sum(axis=(1, 2))


def ssim(a: Prepared, b: Prepared) -> float:
    h, w = a.shape
    total = (h - HALO) * (w - HALO)
    tiles = changed_tiles(a, b)
    if len(tiles) == 0:
        return 1.0
    sums, counts = _tile_sums(a, b, tiles)
    return float((total - counts.sum() + sums.sum() / 3) / total)


class Engine:
    """Placeholder engine: exact reference semantics, tile SSIM, no pruning yet."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def prepare(self, image: Image.Image, prev=None) -> Prepared:
        return prepare(half_size(image))

    def decide(self, p: Prepared, ring):
        from screenrecord.models import Decision, Kind

        if len(ring) == 0:
            return Decision(Kind.NEW, None, None, 0), None
        best, best_i = -2.0, None
        for i, e in enumerate(ring):
            s = ssim(p, e.frame)
            if s > self.settings.duplicate_threshold:
                return Decision(Kind.DUPLICATE, s, e.name, i + 1), i
            if s > best:
                best, best_i = s, i
        kind = Kind.NEAR if best >= self.settings.near_threshold else Kind.NEW
        return Decision(kind, best, ring[best_i].name, len(ring)), best_i


def compare_files(a, b, device="auto") -> float:
    return ssim(prepare(half_size(Image.open(a))), prepare(half_size(Image.open(b))))


def _filter(a: np.ndarray) -> np.ndarray:
    """Gaussian-filter (H, W, C) float32 -> valid region (H-10, W-10, C)."""
    f = cv2.sepFilter2D(a, -1, G, G, borderType=cv2.BORDER_CONSTANT).reshape(a.shape)
    r = WIN // 2
    return f[r : f.shape[0] - r, r : f.shape[1] - r]


def ssim_many(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """SSIM (pytorch_msssim's definition, data_range 255) of image x against each image in ys.

    x: (H, W) or (H, W, C), ys: (N, H, W) or (N, H, W, C); any real dtype with values 0..255.
    Returns float64 scores of shape (N,). For batches of small images (thumbnails).
    """
    x = np.asarray(x, np.float32)
    ys = np.asarray(ys, np.float32)
    if x.ndim == 2:
        x, ys = x[..., None], ys[..., None]
    n, (h, w, c) = len(ys), x.shape
    if ys.shape[1:] != x.shape:
        raise ValueError(
            f"Input images should have the same dimensions, but got {x.shape} and {ys.shape[1:]}."
        )
    if n == 0:
        return np.zeros(0)
    if h < WIN or w < WIN:
        raise ValueError(f"images of {w}x{h} are smaller than the {WIN}-pixel SSIM window")
    mu1 = _filter(x)
    s1 = _filter(x * x) - mu1 * mu1
    ys_t = np.ascontiguousarray(ys.transpose(1, 2, 0, 3).reshape(h, w, n * c))
    xs = np.tile(x, (1, 1, n))
    out = np.empty(n)
    # cv2 filters at most 512 channels at once
    step = max(1, 510 // c)
    for k in range(0, n, step):
        sl = slice(k * c, min(n, k + step) * c)
        yk = ys_t[..., sl]
        mu2 = _filter(np.ascontiguousarray(yk))
        s2 = _filter(yk * yk) - mu2 * mu2
        s12 = _filter(xs[..., sl] * yk) - np.tile(mu1, (1, 1, mu2.shape[2] // c)) * mu2
        m1 = np.tile(mu1, (1, 1, mu2.shape[2] // c))
        s1k = np.tile(s1, (1, 1, mu2.shape[2] // c))
        cs = (2 * s12 + C2) / (s1k + s2 + C2)
        m = ((2 * m1 * mu2 + C1) / (m1 * m1 + mu2 * mu2 + C1)) * cs
        out[k : k + mu2.shape[2] // c] = m.reshape(-1, mu2.shape[2] // c, c).mean(
            axis=(0, 2), dtype=np.float64
        )
    return out
