"""Checking an uploaded picture and turning it into our PNG.

Only PNG, JPEG and WebP are accepted, decided by the content.  The file is
verified, Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) is
enforced before any pixel is decoded, and the picture is re-encoded as a PNG
that keeps only A1111's ``parameters`` text (EXIF, GPS and other chunks are
dropped).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from core.blurhash import blurhash_of
from core.errors import InvalidInput, TooLarge
from core.generation.pnginfo import png_bytes, read_parameters

MAX_IMAGE_BYTES = 30 * 1024 * 1024
MAX_POST_IMAGES = 20  # pictures uploaded together as one post
MAX_POST_BYTES = 100 * 1024 * 1024  # all of a post's pictures together (each one still at most MAX_IMAGE_BYTES)
FORMATS = ("PNG", "JPEG", "WEBP")


@dataclass(frozen=True)
class DecodedImage:
    png: bytes
    width: int
    height: int
    parameters: str
    blurhash: str


def _open(data: bytes):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"the image has too many pixels (this site's limit is {Image.MAX_IMAGE_PIXELS:,})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput("not a PNG, JPEG or WebP image") from None
    _check_pixels(image.width, image.height)
    return image


def _check_pixels(width: int, height: int) -> None:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise TooLarge(f"the image is {width}x{height}: more pixels than this site's limit of {limit:,}")


def _verified(data: bytes):
    """The image opened again after ``verify()`` (which leaves the first one unusable), fully decoded."""
    from PIL import ImageOps

    try:
        _open(data).verify()
        image = _open(data)
        image.load()
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError):
        raise InvalidInput("the image file is damaged or truncated") from None


def read_image_file(path: Path) -> bytes:
    """The bytes of an uploaded image file; a file over the size limit is refused before it is read."""
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise TooLarge(f"images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


def decode_upload(data: bytes) -> DecodedImage:
    """Check an uploaded PNG/JPEG/WebP and re-encode it as a PNG with its A1111 parameters kept."""
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLarge(f"images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("the image file is empty")
    parameters = read_parameters(_open(data)) or ""
    image = _verified(data)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    pixels = image.convert("RGBA" if has_alpha else "RGB")
    return DecodedImage(png_bytes(pixels, parameters or None), pixels.width, pixels.height, parameters,
                        blurhash_of(pixels))
