"""Turning whatever a caller hands over (PIL image, path, array) into an RGB image.

Odd but valid images work: greyscale, RGBA (composited on white), CMYK, palette,
16-bit and float arrays. Unreadable or degenerate ones raise `ValueError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 8
MAX_SIDE = 4096
FLOAT_SLACK = 1 / 512  # rounding noise around [0, 1] in float arrays: half an 8-bit step


def load_image(value: Any, name: str = "image") -> Image.Image:
    if value is None:
        raise ValueError(f"{name} is missing; give an image (a PIL image, a file path or an array)")
    if isinstance(value, (str, os.PathLike)):
        image = _open(Path(value), name)
    elif isinstance(value, Image.Image):
        _check_size(value.size, name)  # a lazily opened image knows its size before its pixels are read
        image = _loaded(value, name)
    elif isinstance(value, np.ndarray):
        image = _from_array(value, name)
    else:
        raise ValueError(f"{name} must be a PIL image, a file path or an array, got {type(value).__name__}")
    _check_size(image.size, name)
    return _to_rgb(image)


def _check_size(size: tuple[int, int], name: str) -> None:
    width, height = size
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise ValueError(
            f"{name} is {width}x{height}; each side must be between {MIN_SIDE} and {MAX_SIDE} pixels"
        )


def _open(path: Path, name: str) -> Image.Image:
    if not path.is_file():
        raise ValueError(f"{name} file {path.name!r} does not exist")
    unreadable = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)
    try:
        image = Image.open(path)
    except unreadable as error:
        raise _unreadable(path, name, error) from error
    with image:
        # The header gives the size: a 12000x12000 PNG of a few hundred KB is refused before it is decoded.
        _check_size(image.size, name)
        try:
            image = ImageOps.exif_transpose(image)
            image.load()
            return image
        except unreadable as error:
            raise _unreadable(path, name, error) from error


def _unreadable(path: Path, name: str, error: Exception) -> ValueError:
    # PIL's message holds the full path; the server's folders are none of the caller's business.
    reason = str(error).replace(str(path), path.name)
    return ValueError(f"{name} file {path.name!r} could not be read as an image ({reason})")


def _loaded(image: Image.Image, name: str) -> Image.Image:
    """`image` with its pixels read: a PIL image opened lazily from a damaged file fails here, named."""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"{name} could not be read as an image ({error})") from error
    return image


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"{name} array must have shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.dtype == np.uint8:
        pass
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} array contains NaN or infinite values")
        low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
        if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:  # 0-255 floats would all turn white, silently
            raise ValueError(f"{name} array of floats must hold values in [0, 1], got {low:g} to {high:g}; "
                             "divide 0-255 values by 255 (or give uint8)")
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    elif array.dtype == np.uint16:
        array = (array // 257).astype(np.uint8)
    else:
        raise ValueError(f"{name} array must be uint8, uint16 or float in [0, 1], got {array.dtype}")
    return Image.fromarray(array)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: PIL's own conversion clips to 255, so scale the range down first.
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 or image.mode.startswith("I;16") else 255.0
        image = Image.fromarray((np.clip(array / peak, 0, 1) * 255).round().astype(np.uint8))
    elif image.mode == "F":
        # PIL's float images hold 0-255 (its own L -> F conversion keeps them); a float image of [0, 1] is scaled up.
        array = np.asarray(image, dtype=np.float64)
        scale = 255.0 if array.size and array.max() <= 1.0 else 1.0
        image = Image.fromarray(np.clip(array * scale, 0, 255).round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
