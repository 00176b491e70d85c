"""The score: pytorch_msssim's SSIM, its Gaussian window and its constants, in float32 with cv2.

The score is `pytorch_msssim.ssim(x, y, data_range=255)` (Gaussian window 11, sigma 1.5, K1 0.01,
K2 0.03) of RGB frames at half width and height. These are its parts, shared by the exact
comparison (`exact`), the coarse pass (`coarse`), and `ssim_many` for batches of small images
(highlights' thumbnails).
"""

from __future__ import annotations

import cv2
import numpy as np

WIN = 11
SIGMA = 1.5
C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
HALO = WIN - 1


def gauss_window() -> np.ndarray:
    """The 1-D Gaussian of pytorch_msssim, normalised in float32 as it does."""
    coords = np.arange(WIN, dtype=np.float32) - WIN // 2
    g = np.exp(-(coords**2) / np.float32(2 * SIGMA**2)).astype(np.float32)
    return g / g.sum(dtype=np.float32)


G = gauss_window()


def filter_valid(a: np.ndarray) -> np.ndarray:
    """Gaussian-filter (H, W, C) float32 and keep the valid region (H-10, W-10, C).

    cv2's separable filter gives torch conv2d's numbers (float32) several times faster.
    """
    h, w, c = a.shape
    f = cv2.sepFilter2D(a, -1, G, G, borderType=cv2.BORDER_CONSTANT).reshape(h, w, c)
    r = WIN // 2
    return f[r : h - r, r : w - r]


def ssim_map(mu1: np.ndarray, mu2: np.ndarray, sq: np.ndarray, xy2: np.ndarray) -> np.ndarray:
    """pytorch_msssim's SSIM map from filtered x, y, x*x + y*y and 2*x*y; overwrites mu2, sq and
    xy2 (mu1 may be a broadcast view) and returns the map in a new array.

    The sums and the doubling are folded into the filtered maps and the rest is done in place:
    these are full-size passes over every compared window, fewer and without temporaries.
    """
    m12 = mu1 * mu2
    m12 += m12  # 2 mu1 mu2
    mu2 *= mu2
    mu2 += mu1 * mu1  # mu1^2 + mu2^2
    sq -= mu2
    sq += np.float32(C2)  # sigma1^2 + sigma2^2 + C2
    mu2 += np.float32(C1)
    mu2 *= sq
    xy2 -= m12
    xy2 += np.float32(C2)  # 2 sigma12 + C2
    m12 += np.float32(C1)
    m12 *= xy2
    m12 /= mu2
    return m12


def _filter_planes(a: np.ndarray) -> np.ndarray:
    """Gaussian-filter a 2-D float32 array of images laid side by side / stacked (no border use)."""
    return cv2.sepFilter2D(a, -1, G, G, borderType=cv2.BORDER_CONSTANT)


def ssim_many(x: np.ndarray, ys: np.ndarray, chunk: int = 256) -> np.ndarray:
    """SSIM of image x against each image in ys, for batches of small images (thumbnails).

    x: (H, W) or (H, W, C); ys: (N, H, W) or (N, H, W, C); values 0..255. Returns (N,) float64.
    Images are laid side by side in one wide plane per channel, so one filter call serves a whole
    chunk and neighbours never reach a valid window.
    """
    x = np.asarray(x, np.float32)
    ys = np.asarray(ys, np.float32)
    if x.ndim == 2:
        x, ys = x[..., None], ys[..., None]
    if ys.shape[1:] != x.shape:
        raise ValueError(
            f"Input images should have the same dimensions, but got {x.shape} and {ys.shape[1:]}."
        )
    n, (h, w, c) = len(ys), x.shape
    if h < WIN or w < WIN:
        raise ValueError(f"images of {w}x{h} are smaller than the {WIN}-pixel SSIM window")
    out = np.empty(n)
    r = WIN // 2
    xp = np.ascontiguousarray(x.transpose(2, 0, 1)).reshape(c * h, w)

    def valid(f: np.ndarray, m: int) -> np.ndarray:
        return f.reshape(c, h, m, w)[:, r : h - r, :, r : w - r]

    mu1 = valid(_filter_planes(xp), 1)
    xx = valid(_filter_planes(xp * xp), 1)
    for k in range(0, n, chunk):
        m = min(n, k + chunk) - k
        y = np.ascontiguousarray(ys[k : k + m].transpose(3, 1, 0, 2)).reshape(c * h, m * w)
        xy2 = np.tile(xp + xp, (1, m))
        np.multiply(xy2, y, out=xy2)
        sq = valid(_filter_planes(y * y), m)
        sq += xx
        s = ssim_map(mu1, valid(_filter_planes(y), m), sq, valid(_filter_planes(xy2), m))
        out[k : k + m] = s.mean(axis=(0, 1, 3), dtype=np.float64)
    return out
