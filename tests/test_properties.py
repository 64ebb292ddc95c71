"""Property tests (hypothesis): the parsers of user input never crash and keep their promises, whatever they get.

Usernames, uploaded file names, comments, prompts (``<lora:NAME:WEIGHT>`` tags), A1111 ``parameters`` text,
A1111 txt2img request bodies and uploaded pictures. Each parser either answers with a clean value or refuses
with the service's own error (which the API turns into a 4xx), never anything else.
"""

from __future__ import annotations

import html
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.sdapi_generation import Txt2ImgRequest, _check_supported
from community.comments import MAX_COMMENT_CHARS, check_body
from community.image_upload import decode_upload
from core.accounts.accounts import USERNAME_PATTERN, check_username, normalize_username, username_key, username_skeleton
from core.errors import InvalidInput, TooLarge
from core.generation.a1111 import image_info
from core.generation.diffusion import GenerationRequest, check_inputs
from core.generation.lora import _LORA_TAG, parse_lora_tags
from core.generation.pnginfo import format_parameters, parse_parameters, to_request_fields
from core.library.ingest import safe_original_name
from tests.community_helpers import parameters, picture
from ui import render

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAME_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
VALID_NAMES = st.text(NAME_CHARS, min_size=3, max_size=32)
LOOK_ALIKES = str.maketrans({"o": "0", "l": "1", "s": "5", "e": "3", "a": "4", "_": "-"})
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=8)


# --------------------------------------------------------------------------- usernames
@FAST
@given(st.text(max_size=80))
def test_any_username_is_refused_cleanly_or_accepted_in_normal_form(name):
    try:
        accepted = check_username(name)
    except InvalidInput:
        return
    assert USERNAME_PATTERN.fullmatch(accepted)
    assert accepted == normalize_username(name)
    assert check_username(accepted) == accepted


@FAST
@given(st.text(max_size=80))
def test_username_keys_never_fail(name):
    assert isinstance(username_key(name), str) and isinstance(username_skeleton(name), str)


@FAST
@given(VALID_NAMES)
def test_usernames_are_unique_regardless_of_case_and_look_alikes(name):
    assert username_key(name.swapcase()) == username_key(name)
    assert username_skeleton(name.lower().translate(LOOK_ALIKES)) == username_skeleton(name)


# --------------------------------------------------------------------------- file names
@FAST
@given(st.one_of(st.none(), st.text(max_size=400)))
def test_an_uploaded_file_name_is_kept_as_harmless_data(name):
    safe = safe_original_name(name)
    assert 1 <= len(safe) <= 255
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..")
    assert safe.isprintable() and safe == safe.strip()
    assert safe_original_name(safe) == safe
    assert Path(safe).with_suffix(".safetensors").name  # what a converted pickle is called


# --------------------------------------------------------------------------- comments
@FAST
@given(st.one_of(st.text(max_size=MAX_COMMENT_CHARS + 50), st.none(), st.integers(), JSON_VALUES))
def test_a_comment_body_is_refused_cleanly_or_kept_stripped(body):
    try:
        text = check_body(body)
    except InvalidInput:
        return
    assert isinstance(body, str) and text == body.strip()
    assert 1 <= len(text) <= MAX_COMMENT_CHARS


@FAST
@given(st.text(max_size=300))
def test_user_text_renders_inert_and_reads_back(value):
    shown = render.text(value)
    assert "<" not in shown and ">" not in shown and '"' not in shown
    assert html.unescape(shown) == value


# --------------------------------------------------------------------------- prompts
PROMPT_PIECES = st.sampled_from(["<lora:", "<lyco:", ">", ":", "0.5", "nan", "inf", "-1e400", "1e3", " ", "\n",
                                 "style", "<", "LORA", "::", "\t"])


@FAST
@given(st.one_of(st.text(max_size=200), st.lists(PROMPT_PIECES, max_size=30).map("".join)))
def test_lora_tags_in_any_prompt_parse_to_finite_weights_or_a_clear_error(prompt):
    try:
        clean, loras = parse_lora_tags(prompt)
    except ValueError as exc:
        assert "LoRA" in str(exc) or "<lora" in str(exc)
        return
    assert not _LORA_TAG.search(clean)
    for name, weight in loras:
        assert name and name == name.strip()
        assert math.isfinite(weight)


@FAST
@given(st.text(st.characters(blacklist_characters=":<>", blacklist_categories=["Cs"]), min_size=1, max_size=40)
       .filter(str.strip), st.floats(-10, 10, allow_nan=False))
def test_a_lora_tag_reads_back(name, weight):
    assert parse_lora_tags(f"<lora:{name}:{weight!r}>") == ("", [(name.strip(), weight)])


# --------------------------------------------------------------------------- A1111 parameters text
INFOTEXT_PIECES = st.sampled_from(["Steps: ", "Sampler: ", "Seed: ", "Size: ", "CFG scale: ", "Negative prompt: ",
                                   "Model hash: ", "Lora hashes: ", ", ", ":", "\n", '"', "\\", "x", "20", "512x512",
                                   "-1", "7.5", "nan", "1e999", "9" * 30, "Euler a", " "])


@FAST
@given(st.one_of(st.text(max_size=300), st.lists(INFOTEXT_PIECES, max_size=40).map("".join)))
def test_any_parameters_text_parses_to_typed_fields(text):
    parsed = parse_parameters(text)
    assert isinstance(parsed["Prompt"], str) and isinstance(parsed["Negative prompt"], str)
    fields = to_request_fields(parsed)
    for key in ("steps", "seed", "width", "height"):
        assert key not in fields or type(fields[key]) is int
    assert "cfg_scale" not in fields or isinstance(fields["cfg_scale"], float)


LINE = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=40).map(str.strip)
PROMPT = st.lists(LINE, min_size=1, max_size=3).map("\n".join).filter(
    lambda p: p.strip() == p and not any(line.startswith("Negative prompt:") for line in p.split("\n")))


@FAST
@given(PROMPT, PROMPT, st.integers(1, 150), st.sampled_from(["Euler a", "DPM++ 2M", "DDIM"]),
       st.floats(1, 30, allow_nan=False).map(lambda v: round(v, 2)), st.integers(0, 2**32 - 1),
       st.integers(8, 256).map(lambda v: v * 8), st.integers(8, 256).map(lambda v: v * 8),
       st.text("0123456789abcdef", min_size=10, max_size=10), LINE.filter(bool))
def test_our_parameters_text_reads_back(prompt, negative, steps, sampler, cfg, seed, width, height, model_hash,
                                        model_name):
    text = format_parameters(prompt, negative, steps=steps, sampler=sampler, cfg_scale=cfg, seed=seed, width=width,
                             height=height, model_hash=model_hash, model_name=model_name)
    fields = to_request_fields(parse_parameters(text))
    assert fields["prompt"] == prompt.strip() and fields["negative_prompt"] == negative.strip()
    assert (fields["steps"], fields["sampler"], fields["cfg_scale"], fields["seed"]) == (steps, sampler, cfg, seed)
    assert (fields["width"], fields["height"], fields["model_hash"], fields["model_name"]) == \
        (width, height, model_hash, model_name)


# --------------------------------------------------------------------------- A1111 txt2img requests
A1111_KEYS = st.sampled_from(["prompt", "negative_prompt", "seed", "sampler_name", "sampler_index", "scheduler",
                              "batch_size", "n_iter", "steps", "cfg_scale", "width", "height", "enable_hr",
                              "hr_scale", "hr_upscaler", "hr_second_pass_steps", "hr_resize_x", "hr_resize_y",
                              "denoising_strength", "override_settings", "script_name", "alwayson_scripts", "send_images", "unknown"])


@FAST
@given(st.one_of(st.dictionaries(A1111_KEYS, JSON_VALUES, max_size=8), JSON_VALUES))
def test_any_a1111_txt2img_body_is_refused_cleanly_or_checked(body):
    try:
        request = Txt2ImgRequest.model_validate(body)
        _check_supported(request)
    except (ValidationError, InvalidInput):
        return
    generation = GenerationRequest(
        prompt=request.prompt, negative_prompt=request.negative_prompt, width=request.width or 512,
        height=request.height or 512, steps=request.steps, cfg_scale=request.cfg_scale, sampler=request.sampler,
        scheduler=request.scheduler, seed=request.seed, batch_size=request.batch_size * request.n_iter,
        hires=request.hires())
    try:
        check_inputs(generation)
    except ValueError:
        return
    assert math.isfinite(generation.cfg_scale) and 1 <= generation.steps <= 150
    if generation.hires is not None:
        assert all(64 <= side <= 2048 for side in generation.hires.target_size(generation.width, generation.height))


# --------------------------------------------------------------------------- pictures
SEED_PICTURES = [picture(fmt, parameters()) for fmt in ("PNG", "JPEG", "WEBP")]


def damaged(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few bytes changed, cut out or slipped in."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at, kind = rng.randrange(len(out)), rng.random()
        if kind < 0.6:
            out[at] = rng.randrange(256)
        elif kind < 0.8:
            del out[at:at + rng.randint(1, 64)]
        else:
            out[at:at] = rng.randbytes(rng.randint(1, 32))
    return bytes(out)


@SLOW
@given(st.sampled_from(SEED_PICTURES), st.randoms(use_true_random=False))
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_damaged_pictures_are_refused_cleanly(original, rng):
    data = damaged(original, rng)
    for read in (image_info, decode_upload):
        try:
            read(data)
        except (InvalidInput, TooLarge):
            pass


@given(st.datetimes())
def test_a_stored_time_reads_back_as_the_same_iso_text_from_sqlite_text_or_a_datetime(moment):
    """Records rewrite SQLite's stored text (``str(datetime)``, what the sqlite3 module writes) without
    parsing it; PostgreSQL hands back datetimes. Both must read as ``iso`` of the moment."""
    from core.store import iso, iso_stored

    assert iso_stored(str(moment)) == iso(moment)
    assert iso_stored(moment) == iso(moment)
