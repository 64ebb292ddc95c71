"""A1111's ``parameters`` infotext: write it into our PNGs, read it from anyone's.

The format (AUTOMATIC1111 ``modules/infotext_utils.py``)::

    <prompt, may span lines>
    Negative prompt: <negative prompt, may span lines>
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 0123456789, Model: name

The last line is ``key: value`` pairs separated by ``", "``; a value that
contains ``,``, ``:`` or a newline is JSON-quoted. Parsing follows A1111's own
regular expression, so quoted values, ``Hires ...`` keys, ``Lora hashes``,
multi-line prompts and a missing negative prompt all read as A1111 reads them.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, Mapping

PARAMETERS_KEY = "parameters"

# A1111's re_param_code, re_imagesize
_RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_RE_SIZE = re.compile(r"^(\d+)x(\d+)$")
_NEGATIVE = "Negative prompt:"
_EXIF_IFD, _EXIF_USER_COMMENT = 0x8769, 0x9286


def quote(value: Any) -> str:
    """A1111's ``quote``: JSON-quote a value holding ``,``, ``:`` or a newline."""
    text = str(value)
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _number(value: float) -> str:
    """``7`` for 7.0, ``7.5`` for 7.5 (A1111 prints CFG scale this way)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def format_hashes(hashes: Mapping[str, str]) -> str:
    """``name: hash, name2: hash2`` (the value of ``Lora hashes``/``TI hashes``)."""
    return ", ".join(f"{name.replace(':', '').replace(',', '')}: {h}" for name, h in hashes.items())


def parse_hashes(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition(":")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


def format_parameters(
    prompt: str,
    negative_prompt: str = "",
    *,
    steps: int,
    sampler: str,
    cfg_scale: float,
    seed: int,
    width: int,
    height: int,
    model_hash: str | None = None,
    model_name: str | None = None,
    schedule_type: str | None = None,
    lora_hashes: Mapping[str, str] | None = None,
    ti_hashes: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The infotext of one image, in A1111's order; ``None`` fields are left out."""
    pairs: list[tuple[str, Any]] = [
        ("Steps", steps),
        ("Sampler", sampler),
        ("Schedule type", schedule_type),
        ("CFG scale", _number(cfg_scale)),
        ("Seed", seed),
        ("Size", f"{width}x{height}"),
        ("Model hash", model_hash.lower() if model_hash else None),
        ("Model", model_name),
        ("Lora hashes", format_hashes(lora_hashes) if lora_hashes else None),
        ("TI hashes", format_hashes(ti_hashes) if ti_hashes else None),
    ]
    pairs += list((extra or {}).items())
    last = ", ".join(f"{k}: {quote(v)}" for k, v in pairs if v is not None and v != "")
    lines = [prompt]
    if negative_prompt:
        lines.append(f"{_NEGATIVE} {negative_prompt}")
    lines.append(last)
    return "\n".join(lines)


def parse_parameters(text: str) -> dict[str, Any]:
    """A1111's ``parse_generation_parameters``: ``Prompt``, ``Negative prompt`` and every key of the last line.

    Sizes split into ``<key>-1``/``<key>-2`` (``Size-1`` = width), as A1111 does;
    values stay strings, quoted ones unquoted. ``Lora hashes`` and ``TI hashes`` are
    also given as dicts under ``Lora hashes dict`` and ``TI hashes dict``.
    """
    result: dict[str, Any] = {}
    *lines, last = text.strip().split("\n")
    if len(_RE_PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        line = line.strip()
        if line.startswith(_NEGATIVE):
            in_negative = True
            line = line[len(_NEGATIVE):].strip()
        (negative if in_negative else prompt).append(line)
    result["Prompt"] = "\n".join(prompt)
    result["Negative prompt"] = "\n".join(negative)
    for key, value in _RE_PARAM.findall(last):
        value = unquote(value.strip()) if value.strip().startswith('"') else value.strip()
        size = _RE_SIZE.match(value)
        if size:
            result[f"{key}-1"], result[f"{key}-2"] = size.group(1), size.group(2)
        else:
            result[key] = value
    for key in ("Lora hashes", "TI hashes"):
        if key in result:
            result[f"{key} dict"] = parse_hashes(result[key])
    return result


def to_request_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    """Typed txt2img fields (``GenerationRequest`` names) from ``parse_parameters`` output.

    Missing or unreadable values are left out. A1111's separate ``Schedule type``
    is folded back into ``scheduler``. A hires fix's keys give ``enable_hr`` and
    the ``hr_*`` fields of A1111's API.
    """
    conversions = {
        "prompt": ("Prompt", str),
        "negative_prompt": ("Negative prompt", str),
        "steps": ("Steps", int),
        "sampler": ("Sampler", str),
        "scheduler": ("Schedule type", str),
        "cfg_scale": ("CFG scale", float),
        "seed": ("Seed", int),
        "width": ("Size-1", int),
        "height": ("Size-2", int),
        "model_hash": ("Model hash", str),
        "model_name": ("Model", str),
        "clip_skip": ("Clip skip", int),
        "denoising_strength": ("Denoising strength", float),
        "hr_scale": ("Hires upscale", float),
        "hr_resize_x": ("Hires resize-1", int),
        "hr_resize_y": ("Hires resize-2", int),
        "hr_second_pass_steps": ("Hires steps", int),
        "hr_upscaler": ("Hires upscaler", str),
        "hr_prompt": ("Hires prompt", str),
        "hr_negative_prompt": ("Hires negative prompt", str),
    }
    out: dict[str, Any] = {}
    for field, (key, kind) in conversions.items():
        if key in params:
            try:
                out[field] = kind(params[key])
            except (TypeError, ValueError):
                continue
    if any(key.startswith("hr_") for key in out):
        out["enable_hr"] = True
    return out


# --------------------------------------------------------------------------- images
def pnginfo(parameters: str):
    """A Pillow ``PngInfo`` holding the ``parameters`` text chunk (iTXt when not Latin-1)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    try:
        parameters.encode("latin-1")
        info.add_text(PARAMETERS_KEY, parameters)
    except UnicodeEncodeError:
        info.add_itxt(PARAMETERS_KEY, parameters)
    return info


def png_bytes(image, parameters: str | None) -> bytes:
    """The image as PNG bytes with the infotext (callers write them atomically)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=pnginfo(parameters) if parameters else None)
    return buffer.getvalue()


def read_parameters(image) -> str | None:
    """The infotext of an open Pillow image: PNG text chunk, or A1111's EXIF UserComment (JPEG/WebP)."""
    text = image.info.get(PARAMETERS_KEY)
    if isinstance(text, str) and text:
        return text
    try:
        comment = image.getexif().get_ifd(_EXIF_IFD).get(_EXIF_USER_COMMENT)
    except Exception:  # no or broken EXIF
        return None
    return _decode_user_comment(comment) if comment else None


def read_file_parameters(path) -> str | None:
    """The infotext of an image file (PNG, JPEG, WebP), None if it has none.

    Raises ``InvalidInput`` for a file that is not an image Pillow can open
    (decompression bombs included: Pillow's pixel limit applies).
    """
    from PIL import Image, UnidentifiedImageError

    from core.errors import InvalidInput

    try:
        with Image.open(path) as image:
            return read_parameters(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise InvalidInput("this file is not an image that can be read (PNG, JPEG or WebP)") from None


def _decode_user_comment(raw) -> str | None:
    """EXIF UserComment: an 8-byte charset prefix, then the text.

    A1111 (piexif) writes ``UNICODE\\0`` + UTF-16-BE; some tools follow the
    TIFF byte order instead, so the decoding with more ASCII characters wins.
    """
    if isinstance(raw, str):
        return raw or None
    prefix, body = bytes(raw[:8]), bytes(raw[8:])
    if prefix.startswith(b"UNICODE"):
        candidates = [body.decode(codec, errors="ignore") for codec in ("utf-16-be", "utf-16-le")]
        text = max(candidates, key=lambda t: sum(ch.isascii() for ch in t))
    else:
        text = body.decode("utf-8", errors="replace")
    return text.rstrip("\x00") or None
