"""Checking an uploaded picture and turning it into our PNG.

The picture is read safely by ``core.pictures`` (PNG, JPEG or WebP, verified,
decompression bombs refused) and re-encoded as a PNG that keeps only A1111's
``parameters`` text (EXIF, GPS and other chunks are dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.blurhash import blurhash_of
from core.generation.pnginfo import png_bytes, read_parameters
from core.pictures import decode_picture, open_picture

MAX_POST_IMAGES = 20  # pictures uploaded together as one post
MAX_POST_BYTES = 100 * 1024 * 1024  # all of a post's pictures together (each one still at most MAX_IMAGE_BYTES)


@dataclass(frozen=True)
class DecodedImage:
    png: bytes
    width: int
    height: int
    parameters: str
    blurhash: str


def decode_upload(data: bytes) -> DecodedImage:
    """Check an uploaded PNG/JPEG/WebP and re-encode it as a PNG with its A1111 parameters kept."""
    image = decode_picture(data)
    parameters = read_parameters(open_picture(data)) or ""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    pixels = image.convert("RGBA" if has_alpha else "RGB")
    return DecodedImage(png_bytes(pixels, parameters or None), pixels.width, pixels.height, parameters,
                        blurhash_of(pixels))
