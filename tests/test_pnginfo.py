"""A1111 ``parameters`` infotext: our format, A1111's strings, PNG/JPEG round trips."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.generation.pnginfo import (
    format_parameters,
    parse_parameters,
    png_bytes,
    quote,
    read_parameters,
    to_request_fields,
)

# Written by AUTOMATIC1111 v1.10 (hires fix, a LoRA, an embedding, a multi-line prompt).
A1111_INFOTEXT = (
    "masterpiece, best quality, 1girl, <lora:add_detail:0.6>\n"
    "(long hair:1.2), looking at viewer\n"
    "Negative prompt: lowres, bad anatomy, (worst quality:1.4), EasyNegative\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 3456789012, "
    "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, "
    'Clip skip: 2, Hires upscale: 2, Hires steps: 15, Hires upscaler: Latent, '
    'Lora hashes: "add_detail: 7c6bad76eb54", TI hashes: "EasyNegative: c74b4e810b03", Version: v1.10.1'
)


def basic_text(**overrides):
    fields = dict(
        steps=20, sampler="Euler a", cfg_scale=7, seed=1, width=512, height=512,
        model_hash="6CE0161689", model_name="v1-5-pruned-emaonly",
    )
    fields.update(overrides)
    return format_parameters("a photo of a cat", "blurry", **fields)


def test_format_matches_a1111_layout():
    assert basic_text() == (
        "a photo of a cat\n"
        "Negative prompt: blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, "
        "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly"
    )


def test_format_quotes_values_with_commas_colons_newlines_and_lists_lora_hashes():
    text = format_parameters(
        "cat", "", steps=30, sampler="DPM++ 2M", schedule_type="Karras", cfg_scale=6.5, seed=7,
        width=640, height=448, model_hash="abcdef0123", model_name="my, model: v2",
        lora_hashes={"add_detail": "7c6bad76eb54", "style": "0123456789ab"},
    )
    assert "Negative prompt" not in text
    last = text.split("\n")[-1]
    assert last == (
        'Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 7, Size: 640x448, '
        'Model hash: abcdef0123, Model: "my, model: v2", '
        'Lora hashes: "add_detail: 7c6bad76eb54, style: 0123456789ab"'
    )
    assert quote("plain") == "plain"
    assert quote('a "b": c') == '"a \\"b\\": c"'
    assert quote("two\nlines") == '"two\\nlines"'


def test_parse_real_a1111_string():
    p = parse_parameters(A1111_INFOTEXT)
    assert p["Prompt"] == "masterpiece, best quality, 1girl, <lora:add_detail:0.6>\n(long hair:1.2), looking at viewer"
    assert p["Negative prompt"] == "lowres, bad anatomy, (worst quality:1.4), EasyNegative"
    assert (p["Steps"], p["Sampler"], p["Schedule type"], p["CFG scale"]) == ("28", "DPM++ 2M", "Karras", "7.5")
    assert (p["Seed"], p["Size-1"], p["Size-2"]) == ("3456789012", "512", "768")
    assert (p["Model hash"], p["Model"]) == ("6ce0161689", "v1-5-pruned-emaonly")
    assert (p["Hires upscale"], p["Hires steps"], p["Hires upscaler"]) == ("2", "15", "Latent")
    assert p["Denoising strength"] == "0.45" and p["Clip skip"] == "2"
    assert p["Lora hashes"] == "add_detail: 7c6bad76eb54"
    assert p["Lora hashes dict"] == {"add_detail": "7c6bad76eb54"}
    assert p["TI hashes"] == "EasyNegative: c74b4e810b03"
    assert p["Version"] == "v1.10.1"
    fields = to_request_fields(p)
    assert fields == {
        "prompt": p["Prompt"], "negative_prompt": p["Negative prompt"], "steps": 28, "sampler": "DPM++ 2M",
        "scheduler": "Karras", "cfg_scale": 7.5, "seed": 3456789012, "width": 512, "height": 768,
        "model_hash": "6ce0161689", "model_name": "v1-5-pruned-emaonly", "clip_skip": 2, "denoising_strength": 0.45,
        "enable_hr": True, "hr_scale": 2.0, "hr_second_pass_steps": 15, "hr_upscaler": "Latent",
    }


def test_parse_without_negative_prompt_and_with_quoted_escapes():
    text = 'a cat\nSteps: 5, Sampler: Euler, CFG scale: 3, Seed: 9, Size: 64x64, Model: "a \\"b\\": c, d"'
    p = parse_parameters(text)
    assert p["Prompt"] == "a cat" and p["Negative prompt"] == ""
    assert p["Model"] == 'a "b": c, d'


def test_short_last_line_is_part_of_the_prompt():
    # Fewer than three "key: value" pairs: A1111 treats the line as prompt text.
    p = parse_parameters("portrait\nstyle: oil, light: soft")
    assert p["Prompt"] == "portrait\nstyle: oil, light: soft"
    assert "Steps" not in p


@pytest.mark.parametrize("prompt", ["a photo of a cat", "猫の写真, <lora:x:0.5>\nsecond line"])
def test_round_trip_through_png(prompt):
    text = format_parameters(
        prompt, "ugly, blurry", steps=12, sampler="DPM++ 2M", schedule_type="Karras", cfg_scale=4,
        seed=123456789, width=64, height=96, model_hash="0123456789", model_name="tiny",
        lora_hashes={"x": "aaaaaaaaaaaa"},
    )
    data = png_bytes(Image.new("RGB", (64, 96), "red"), text)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert read_parameters(image) == text
    fields = to_request_fields(parse_parameters(text))
    assert fields["prompt"] == prompt and fields["negative_prompt"] == "ugly, blurry"
    assert (fields["steps"], fields["seed"], fields["width"], fields["height"]) == (12, 123456789, 64, 96)
    assert (fields["sampler"], fields["scheduler"], fields["cfg_scale"]) == ("DPM++ 2M", "Karras", 4.0)


def test_png_without_parameters_reads_none():
    with Image.open(io.BytesIO(png_bytes(Image.new("RGB", (8, 8)), None))) as image:
        assert read_parameters(image) is None


def test_reads_a1111_jpeg_exif_user_comment():
    # A1111 saves JPEG/WebP infotext as EXIF UserComment: b"UNICODE\0" + UTF-16-BE (piexif).
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111_INFOTEXT.encode("utf-16-be")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, format="JPEG", exif=exif)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        assert read_parameters(image) == A1111_INFOTEXT
