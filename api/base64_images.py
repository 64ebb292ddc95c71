"""Pictures sent inside JSON, as A1111's API takes them: raw base64 or a ``data:image/...;base64,`` URL."""

from __future__ import annotations

import base64

from core.errors import InvalidInput

MAX_IMAGE_BASE64 = 48 * 1024 * 1024


def image_bytes(text: str, field: str = "image") -> bytes:
    """The picture's bytes (image URLs are not fetched); ``field`` names it in the error."""
    text = text.strip()
    if text.startswith(("http://", "https://")):
        raise InvalidInput(f"{field}: image URLs are not fetched here: send the image as base64")
    if text.startswith("data:"):
        _, sep, text = text.partition(",")
        if not sep:
            raise InvalidInput(f"{field}: malformed data: URL: expected data:image/png;base64,<data>")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:  # not base64, or a character outside ASCII
        raise InvalidInput(f"{field}: the image is not valid base64") from None


def as_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
