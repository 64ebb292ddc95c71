"""BlurHash (https://blurha.sh): the short text a client draws as a blurred placeholder before an image loads.

The standard algorithm, as Civitai sends it for every image (4 x 3 components), computed from Pillow pixels
after shrinking the picture to at most ``SAMPLE_SIZE`` pixels a side (the hash keeps only the lowest
frequencies, so the shrinking changes next to nothing and keeps the cost tiny).
"""

from __future__ import annotations

import math

from PIL import Image as PILImage

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
SAMPLE_SIZE = 64


def _base83(value: int, length: int) -> str:
    return "".join(BASE83[(value // 83 ** (length - 1 - i)) % 83] for i in range(length))


def _to_linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _to_srgb(value: float) -> int:
    value = min(max(value, 0.0), 1.0)
    if value <= 0.0031308:
        return int(value * 12.92 * 255 + 0.5)
    return int((1.055 * value ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _sign_pow(value: float, exponent: float) -> float:
    return math.copysign(abs(value) ** exponent, value)


def _component(linear: list[list[tuple[float, float, float]]], i: int, j: int) -> tuple[float, float, float]:
    height, width = len(linear), len(linear[0])
    scale = (1 if i == j == 0 else 2) / (width * height)
    red = green = blue = 0.0
    for y, row in enumerate(linear):
        vertical = math.cos(math.pi * j * y / height)
        for x, (r, g, b) in enumerate(row):
            basis = math.cos(math.pi * i * x / width) * vertical
            red, green, blue = red + basis * r, green + basis * g, blue + basis * b
    return red * scale, green * scale, blue * scale


def encode_pixels(rows: list[list[tuple[int, int, int]]], x_components: int = 4, y_components: int = 3) -> str:
    """The BlurHash of an image given as rows of (r, g, b) 0-255 pixels."""
    linear = [[(_to_linear(r), _to_linear(g), _to_linear(b)) for r, g, b in row] for row in rows]
    factors = [_component(linear, i, j) for j in range(y_components) for i in range(x_components)]
    dc, ac = factors[0], factors[1:]
    text = _base83((x_components - 1) + (y_components - 1) * 9, 1)
    if ac:
        quantised_max = max(0, min(82, math.floor(max(abs(v) for f in ac for v in f) * 166 - 0.5)))
        maximum = (quantised_max + 1) / 166
    else:
        quantised_max, maximum = 0, 1.0
    text += _base83(quantised_max, 1)
    text += _base83((_to_srgb(dc[0]) << 16) + (_to_srgb(dc[1]) << 8) + _to_srgb(dc[2]), 4)
    for factor in ac:
        r, g, b = (max(0, min(18, math.floor(_sign_pow(v / maximum, 0.5) * 9 + 9.5))) for v in factor)
        text += _base83(r * 19 * 19 + g * 19 + b, 2)
    return text


def blurhash_of(picture: PILImage.Image) -> str:
    """Civitai's 4 x 3 BlurHash of a Pillow image."""
    small = picture.convert("RGB")
    small.thumbnail((SAMPLE_SIZE, SAMPLE_SIZE))
    width, height = small.size
    pixels = list(small.getdata())
    return encode_pixels([pixels[y * width:(y + 1) * width] for y in range(height)])
