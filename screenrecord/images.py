"""Reading image files safely: every failure becomes one line naming the file and the reason."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from screenrecord.errors import ImageError

MAX_PIXELS = 16384 * 16384
"""Larger images are refused before decoding (decompression bombs); no monitor is this big."""
FAST = {"PNG", "JPEG", "WEBP", "BMP", "TIFF"}
"""Formats OpenCV decodes 2-3x faster than PIL, to the same pixels."""

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def load(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB pixels.

    Palette, grayscale, 16-bit and RGBA images are converted to RGB (alpha dropped), as the
    original script's `convert("RGB")` did.
    """
    try:
        data = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > MAX_PIXELS or w <= 0 or h <= 0:
                    raise ImageError(f"{path}: absurd dimensions {w}x{h}, not decoded")
                if im.format in FAST:
                    rgb = _cv2_rgb(data)
                    if rgb is not None and rgb.shape[:2] == (h, w):
                        return rgb
                im.load()  # let PIL say what is wrong
                if im.mode == "RGB":
                    return np.asarray(im)
                if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                    # 16-bit grayscale: keep the high byte rather than clipping at 255
                    a = np.asarray(im, dtype=np.uint32) >> (
                        8 if im.mode != "I" or a_max(im) > 255 else 0
                    )
                    return np.repeat(np.clip(a, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
                return np.asarray(im.convert("RGB"))
    except Exception as e:
        raise _error(path, e) from None


def size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file from its header, without decoding the pixels; the same
    limits and one-line errors as `load`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
    except Exception as e:
        raise _error(path, e) from None
    if w * h > MAX_PIXELS or w <= 0 or h <= 0:
        raise ImageError(f"{path}: absurd dimensions {w}x{h}, not decoded")
    return w, h


def _error(path: Path, e: Exception) -> Exception:
    """The one-line ImageError for what reading `path` raised (anything else as it is)."""
    if isinstance(e, ImageError):
        return e
    if isinstance(e, FileNotFoundError):
        return ImageError(f"{path}: no such file")
    if isinstance(e, IsADirectoryError):
        return ImageError(f"{path}: is a folder, not an image")
    if isinstance(e, PermissionError):
        return ImageError(f"{path}: permission denied")
    if isinstance(e, UnidentifiedImageError):
        return ImageError(f"{path}: {'empty file' if _size(path) == 0 else 'not an image'}")
    if isinstance(e, Image.DecompressionBombWarning | Image.DecompressionBombError):
        return ImageError(f"{path}: absurd dimensions, refused before decoding ({e})")
    if isinstance(e, OSError | SyntaxError | ValueError):
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        return ImageError(f"{path}: cannot decode ({reason})")
    return e


def _cv2_rgb(data: bytes) -> np.ndarray | None:
    """OpenCV's decode straight to RGB where it can (4.10+), else BGR converted."""
    buf = np.frombuffer(data, np.uint8)
    if hasattr(cv2, "IMREAD_COLOR_RGB"):
        return cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def a_max(im: Image.Image) -> int:
    return int(im.getextrema()[1])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1
