"""Reading image files safely: every failure becomes one line naming the file and the reason."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from screenrecord.archive import store
from screenrecord.errors import ImageError

MAX_PIXELS = 16384 * 16384
"""Larger images are refused before decoding (decompression bombs); no monitor is this big."""
FAST = {"PNG", "JPEG", "WEBP", "BMP", "TIFF"}
"""Formats OpenCV decodes 2-3x faster than PIL, to the same pixels."""

READ_ERRORS = (
    OSError,  # missing, unreadable, truncated, not an image (UnidentifiedImageError)
    SyntaxError,  # PIL's parsers raise it for malformed headers
    ValueError,
    Image.DecompressionBombWarning,  # an error inside _bombs_refused
    Image.DecompressionBombError,
)
"""What reading an image file may raise that is the file's fault; anything else is a bug."""


cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def load(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB pixels.

    Palette, grayscale, 16-bit and RGBA images are converted to RGB (alpha dropped), as the
    original script's `convert("RGB")` did.
    """
    try:
        data = store.read_regular(path)
        with _bombs_refused(), _open(io.BytesIO(data), path) as im:
            w, h = im.size
            if im.format in FAST:
                rgb = _cv2_rgb(data)
                if rgb is not None and rgb.shape[:2] == (h, w):
                    return rgb
            im.load()  # let PIL say what is wrong
            return _rgb(im)
    except READ_ERRORS as e:
        raise _error(path, e) from None


def load_or_error(path: Path) -> np.ndarray | ImageError:
    """`load`, its ImageError returned instead of raised: for a decoding thread whose caller
    takes each frame in order and handles a reason where the frame would be (dedup's first
    stage, the ring warm-up)."""
    try:
        return load(path)
    except ImageError as e:
        return e


def size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file, read from its header: nothing is decoded.

    The same checks and one-line ImageErrors as `load`, so a file that `size` accepts is one
    `load` would try to decode.
    """
    try:
        with _bombs_refused(), store.open_regular(path) as f, _open(f, path) as im:
            return im.size
    except READ_ERRORS as e:
        raise _error(path, e) from None


def thumbnail(path: Path, width: int, gray: bool = False, min_height: int = 1) -> Image.Image:
    """A `width`-wide thumbnail of an image file, RGB (or `gray`), keeping the aspect ratio.

    Box-filtered, the mean of the pixels each thumbnail pixel covers: a screen's layout shows,
    single glyphs do not flicker. The height is at least `min_height` (very wide images). 16-bit
    images keep their high byte, as in `load`.
    """
    try:
        with _bombs_refused(), store.open_regular(path) as f, _open(f, path) as im:
            w, h = im.size
            if im.mode.startswith("I"):  # 16-bit: PIL's convert would clip to white
                im.load()
                src = Image.fromarray(_rgb(im))
            elif im.mode in ("RGB", "L"):
                src = im
            else:
                src = im.convert("RGB")
            new = (width, max(min_height, round(width * h / w)))
            small = src.resize(new, Image.Resampling.BOX, reducing_gap=3.0)
            return small.convert("L" if gray else "RGB")
    except READ_ERRORS as e:
        raise _error(path, e) from None


def jpeg_thumbnail(path: Path, width: int, quality: int) -> bytes:
    """A `width`-wide thumbnail of an image file (see `thumbnail`), encoded as JPEG."""
    buf = io.BytesIO()
    thumbnail(path, width).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@contextlib.contextmanager
def _bombs_refused() -> Iterator[None]:
    """PIL's decompression-bomb warning as an error, so that such a file is refused, not read."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _error(path: Path, e: BaseException) -> ImageError:
    """One line naming the file and what is wrong with it."""
    if isinstance(e, store.NotRegularFile):
        return ImageError(f"{path}: not a regular file ({e.kind}), not read as an image")
    if isinstance(e, FileNotFoundError):
        return ImageError(f"{path}: no such file")
    if isinstance(e, IsADirectoryError):
        return ImageError(f"{path}: is a folder, not an image")
    if isinstance(e, PermissionError):
        return ImageError(f"{path}: permission denied")
    if isinstance(e, UnidentifiedImageError):
        return ImageError(
            f"{path}: {'empty file' if store.file_size(path) == 0 else 'not an image'}"
        )
    if isinstance(e, Image.DecompressionBombWarning | Image.DecompressionBombError):
        return ImageError(f"{path}: absurd dimensions, refused before decoding ({e})")
    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
    return ImageError(f"{path}: cannot decode ({reason})")


def _open(source: BinaryIO, path: Path) -> Image.Image:
    """Image.open, refusing dimensions no monitor has before anything is decoded."""
    im = Image.open(source)
    w, h = im.size
    if w * h > MAX_PIXELS or w <= 0 or h <= 0:
        im.close()
        raise ImageError(f"{path}: absurd dimensions {w}x{h}, not decoded")
    return im


def _rgb(im: Image.Image) -> np.ndarray:
    """A loaded PIL image as (H, W, 3) uint8 RGB; 16-bit grayscale keeps its high byte."""
    if im.mode == "RGB":
        return np.asarray(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: keep the high byte rather than clipping at 255
        a = np.asarray(im, dtype=np.uint32) >> (8 if im.mode != "I" or _max(im) > 255 else 0)
        return np.repeat(np.clip(a, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def _cv2_rgb(data: bytes) -> np.ndarray | None:
    """OpenCV's decode straight to RGB where it can (4.10+), else BGR converted."""
    buf = np.frombuffer(data, np.uint8)
    if hasattr(cv2, "IMREAD_COLOR_RGB"):
        return cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _max(im: Image.Image) -> int:
    """The largest value of a one-band image."""
    extrema = im.getextrema()
    high = extrema[1]
    if isinstance(high, tuple):  # several bands: (min, max) per band
        raise ValueError(f"expected one band, got mode {im.mode}")
    return int(high)
