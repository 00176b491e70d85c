"""Shared helpers for tests: the shipped screenshots, the shared corpus, a reference engine."""

from __future__ import annotations

import csv
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA = Path(__file__).resolve().parents[1] / "data"
SEQ = sorted((DATA / "seq").glob("*.png"))
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
"""The labelled corpus beside the repository (../shared/corpus): optional, a plain clone has none."""
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "manifest.csv").exists(),
    reason=f"optional corpus ../shared/corpus absent ({CORPUS}): a plain clone has none",
)


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def make_archive(
    root: Path, arrays: list[np.ndarray], day="2026-03-10", monitor=1, start=0
) -> list[Path]:
    """The cron script's layout: frame n of `arrays` at 09:00 + n minutes on `day`, as PNG."""
    paths = []
    for n, a in enumerate(arrays, start):
        folder = root / day[:7] / day
        folder.mkdir(parents=True, exist_ok=True)
        p = folder / f"{day}_{9 + n // 60:02d}.{n % 60:02d}.00.{n:06d}_{monitor}.png"
        Image.fromarray(a).save(p, compress_level=1)
        paths.append(p)
    return paths


def boxed(a: np.ndarray) -> np.ndarray:
    """The screen with a 160x80 box over it: a near-duplicate of it (SSIM ~0.97)."""
    out = a.copy()
    out[100:180, 100:260] = (40, 90, 200)
    return out


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming huge dimensions, with almost no data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + png_chunk(b"IEND", b"")
    )


def manifest() -> list[dict]:
    with open(CORPUS / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """The original script's score: PIL LANCZOS half size, float32 tensors, pytorch_msssim."""
    import torch
    from pytorch_msssim import ssim

    def tensor(x: np.ndarray):
        im = Image.fromarray(x)
        half = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)
        return torch.from_numpy(np.asarray(half).astype(np.float32)).permute(2, 0, 1)[None]

    return float(ssim(tensor(a), tensor(b), data_range=255, size_average=True).item())


def reference_decisions(
    frames: list[np.ndarray], ring_size=100, dup=0.99, near=0.95
) -> list[tuple[str, float | None, int | None]]:
    """The reference loop of the corpus README: MRU ring, first match over `dup` wins."""
    ring: list[int] = []
    out = []
    for i, f in enumerate(frames):
        best, best_j, kind = None, None, "new"
        for pos, j in enumerate(ring):
            s = reference_ssim(f, frames[j]) if frames[j].shape == f.shape else 0.0
            if s > dup:
                best, best_j, kind = s, j, "duplicate"
                ring.insert(0, ring.pop(pos))
                break
            if best is None or s > best:
                best, best_j = s, j
        if kind != "duplicate":
            kind = "near" if best is not None and best >= near else "new"
            ring.insert(0, i)
            del ring[ring_size:]
        out.append((kind, best, best_j))
    return out


SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg",
    "5": "acdfg", "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}  # fmt: skip
"""The lit segments of each digit of a seven-segment display (a top, b top right, c bottom
right, d bottom, e bottom left, f top left, g middle)."""


def seven_segment(
    a: np.ndarray, text: str, x: int, y: int, width: int = 28, gap: int = 6
) -> np.ndarray:
    """The screen with `text` (digits) drawn at (x, y) as a seven-segment display, each digit
    `width` wide and twice as tall, `gap` apart: a clock or a counter that ticks."""
    out = a.copy()
    t, h = 4, 2 * width
    for n, digit in enumerate(text):
        x0 = x + n * (width + gap)
        out[y : y + h, x0 : x0 + width] = (16, 16, 24)
        boxes = {
            "a": (0, 0, width, t),
            "b": (width - t, 0, width, h // 2),
            "c": (width - t, h // 2, width, h),
            "d": (0, h - t, width, h),
            "e": (0, h // 2, t, h),
            "f": (0, 0, t, h // 2),
            "g": (0, h // 2 - t // 2, width, h // 2 + t // 2),
        }
        for s in SEGMENTS[digit]:
            bx0, by0, bx1, by1 = boxes[s]
            out[y + by0 : y + by1, x0 + bx0 : x0 + bx1] = (90, 240, 120)
    return out


def typed(a: np.ndarray, text: str, x: int, y: int) -> np.ndarray:
    """The screen with a line of text typed at (x, y), in PIL's own font (`typed_box`)."""
    from PIL import ImageDraw

    im = Image.fromarray(a)
    ImageDraw.Draw(im).text((x, y), text, fill=(235, 235, 235))
    return np.asarray(im)


def typed_box(text: str, x: int, y: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels `typed` draws."""
    from PIL import ImageDraw

    return ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((x, y), text)
