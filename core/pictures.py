"""Reading a picture someone sends (an upload, an img2img init image, a mask): safely, before any pixel is used.

Only PNG, JPEG and WebP are accepted, decided by the content.  The file is
verified, and Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) is
enforced before any pixel is decoded; EXIF orientation is applied.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from core.errors import InvalidInput, TooLarge

MAX_IMAGE_BYTES = 30 * 1024 * 1024
FORMATS = ("PNG", "JPEG", "WEBP")


def open_picture(data: bytes):
    """The picture's header opened (pixels not decoded yet); a bomb or a non-picture is refused."""
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


def check_size(data: bytes) -> None:
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLarge(f"images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("the image file is empty")


def decode_picture(data: bytes):
    """The picture fully decoded (a PIL image, EXIF orientation applied) after ``verify()``."""
    from PIL import ImageOps

    check_size(data)
    try:
        open_picture(data).verify()  # leaves that image unusable: open it again
        image = open_picture(data)
        image.load()
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError):
        raise InvalidInput("the image file is damaged or truncated") from None


def read_image_file(path: Path) -> bytes:
    """The bytes of an uploaded image file; a file over the size limit is refused before it is read."""
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise TooLarge(f"images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()
