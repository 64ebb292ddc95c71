"""img2img and hires fix on the generation engine, with a tiny random-weight SD 1.x model: a real diffusers img2img
pipeline over the loaded checkpoint's own modules, A1111's resize modes, and the hires fix's two passes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.tiny_models import build_tiny_sd15


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    import torch

    from core.pipeline import load_pipeline

    torch.set_num_threads(1)
    tiny = build_tiny_sd15(tmp_path_factory.mktemp("tiny"))
    return load_pipeline(tiny.single_file, device="cpu")


def png(image) -> bytes:
    from core.generation.img2img import png_of

    return png_of(image)


def stripes(width=64, height=64) -> Image.Image:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = (220, 40, 40)
    pixels[:, width // 2:] = (30, 30, 200)
    return Image.fromarray(pixels)


def make(pipe, **fields):
    from core.generation.diffusion import GenerationRequest, generate

    base = dict(prompt="a lighthouse", negative_prompt="blurry", width=64, height=64, steps=4, seed=3)
    [(image, _seed)] = generate(pipe, GenerationRequest(**(base | fields)))
    return np.asarray(image, dtype=np.int16)


def test_img2img_is_diffusers_img2img_on_the_loaded_modules(pipe):
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline

    ours = make(pipe, init_image=png(stripes()), denoising_strength=0.6)
    from core.generation.samplers import make_scheduler

    bare = StableDiffusionImg2ImgPipeline(**pipe.components, requires_safety_checker=False)
    bare.scheduler = make_scheduler(pipe.scheduler.config, "Euler a", "automatic")
    with torch.inference_mode():
        want = bare(prompt="a lighthouse", negative_prompt="blurry", image=stripes(), strength=0.6,
                    num_inference_steps=4, guidance_scale=7.0, generator=torch.Generator("cpu").manual_seed(3)).images[0]
    assert np.array_equal(ours, np.asarray(want, dtype=np.int16))
    assert not np.array_equal(ours, make(pipe))  # not the txt2img image


def test_denoising_zero_gives_the_init_picture_back_and_more_denoising_moves_further(pipe):
    init = stripes()
    kept = make(pipe, init_image=png(init), denoising_strength=0.0)
    assert np.array_equal(kept, np.asarray(init, dtype=np.int16))
    distances = [np.abs(make(pipe, init_image=png(init), denoising_strength=s) - kept).mean() for s in (0.3, 1.0)]
    assert 0 < distances[0] < distances[1]


def test_the_same_seed_makes_the_same_img2img_and_another_seed_differs(pipe):
    first = make(pipe, init_image=png(stripes()), seed=11)
    assert np.array_equal(first, make(pipe, init_image=png(stripes()), seed=11))
    assert np.abs(first - make(pipe, init_image=png(stripes()), seed=12)).max() > 10


def test_resize_modes_fit_the_init_picture_as_a1111_does():
    from core.generation.img2img import fit_picture

    wide = stripes(128, 64)  # red left half, blue right half
    stretched = np.asarray(fit_picture(wide, 64, 64, 0))
    assert stretched[:, :28].mean(axis=(0, 1))[0] > 200 and stretched[:, 36:].mean(axis=(0, 1))[2] > 180
    cropped = np.asarray(fit_picture(wide, 64, 64, 1))  # the middle 64 columns: red | blue at the centre line
    assert cropped[:, :28, 0].mean() > 200 and cropped[:, 36:, 2].mean() > 180
    filled = np.asarray(fit_picture(wide, 64, 64, 2))  # 64x32 in the middle, bands above and below from its edges
    assert filled.shape == (64, 64, 3)
    assert np.array_equal(filled[0], filled[16]) and np.array_equal(filled[63], filled[47])
    tall = np.asarray(fit_picture(stripes(32, 64), 64, 64, 2))  # 32x64: side bands from the edge columns
    assert (tall[:, :16, 0] > 200).all() and (tall[:, 48:, 2] > 180).all()


@pytest.mark.parametrize("upscaler", ["Latent", "Lanczos", "Nearest", "Latent (bicubic antialiased)"])
def test_hires_fix_makes_the_larger_size_deterministically(pipe, upscaler):
    from core.generation.hires import HiresFix

    hires = HiresFix(scale=1.5, upscaler=upscaler, steps=2, denoising_strength=0.5)
    first = make(pipe, hires=hires)
    assert first.shape == (96, 96, 3)
    assert np.array_equal(first, make(pipe, hires=hires))


def test_hires_fix_progress_counts_both_passes_and_the_infotext_says_so(pipe):
    from core.generation.diffusion import GenerationRequest, generate, infotext
    from core.generation.hires import HiresFix
    from core.generation.pnginfo import parse_parameters, to_request_fields

    seen = []
    request = GenerationRequest("a lighthouse", width=64, height=64, steps=4, seed=3,
                                hires=HiresFix(resize_x=128, resize_y=0, steps=2, denoising_strength=0.5))
    [(image, seed)] = generate(pipe, request, progress_callback=lambda step, total: seen.append((step, total)))
    assert image.size == (128, 128)
    assert seen[-1][0] == seen[-1][1] and len(seen) == 4 + 1  # 4 steps, then int(2 × 0.5) = 1 step at 128²
    text = infotext(request, seed, model_hash="0123456789", model_name="tiny")
    assert "Denoising strength: 0.5, Hires resize: 128x128, Hires steps: 2, Hires upscaler: Latent" in text
    fields = to_request_fields(parse_parameters(text))
    assert (fields["enable_hr"], fields["hr_resize_x"], fields["hr_resize_y"], fields["hr_second_pass_steps"],
            fields["hr_upscaler"], fields["denoising_strength"]) == (True, 128, 128, 2, "Latent", 0.5)


@pytest.mark.parametrize("fields, message", [
    ({"denoising_strength": 1.5}, "denoising_strength must be between 0 and 1"),
    ({"resize_mode": 7}, "resize_mode must be one of 0 (Just resize)"),
    ({"hires": "upscaler"}, "unknown hires upscaler 'R-ESRGAN 4x+'"),
    ({"hires": "huge"}, "the hires size 4096x4096 is past this server's limit"),
])
def test_settings_that_cannot_be_honoured_are_refused_by_name(fields, message):
    from core.generation.diffusion import GenerationRequest, check_inputs
    from core.generation.hires import HiresFix

    hires = {"upscaler": HiresFix(upscaler="R-ESRGAN 4x+"), "huge": HiresFix(scale=4, upscaler="Lanczos")}
    if "hires" in fields:
        fields = {"hires": hires[fields["hires"]], "width": 1024, "height": 1024}
    with pytest.raises(ValueError) as refused:
        check_inputs(GenerationRequest("x", **fields))
    assert message in str(refused.value)


def left_half_mask(width=64, height=64) -> Image.Image:
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (0, 0, width // 2, height))
    return mask


def mask_bytes(mask) -> bytes:
    from core.generation.inpaint import mask_png

    return mask_png(mask)


@pytest.mark.parametrize("only_masked", [False, True])
def test_inpainting_the_left_half_leaves_the_right_half_as_it_was(pipe, only_masked):
    from core.generation.inpaint import Inpaint

    init = stripes()
    inpaint = Inpaint(mask_bytes(left_half_mask()), mask_blur=2, only_masked=only_masked, only_masked_padding=4)
    made = make(pipe, init_image=png(init), denoising_strength=0.9, inpaint=inpaint)
    original = np.asarray(init, dtype=np.int16)
    assert np.abs(made[:, 40:] - original[:, 40:]).max() == 0  # past the blurred edge: the original, exactly
    assert np.abs(made[:, :24] - original[:, :24]).mean() > 5  # the masked half was repainted
    inverted = make(pipe, init_image=png(init), denoising_strength=0.9,
                    inpaint=Inpaint(inpaint.mask, mask_blur=2, only_masked=only_masked, only_masked_padding=4,
                                    invert=True))
    assert np.abs(inverted[:, :24] - original[:, :24]).max() == 0 and np.abs(inverted[:, 40:] - original[:, 40:]).mean() > 5


def test_masked_content_sets_what_the_repainted_area_starts_from(pipe):
    from core.generation.inpaint import Inpaint, starting_picture

    init, mask = stripes(), left_half_mask()
    starts = [np.asarray(starting_picture(init, mask, content, seed=1), dtype=np.int16) for content in range(4)]
    original = np.asarray(init, dtype=np.int16)
    assert np.array_equal(starts[1], original)  # original
    assert all(np.array_equal(start[:, 32:], original[:, 32:]) for start in starts)  # outside: untouched
    assert starts[0][:, :32].std() < original[:, :32].std() + 60 and not np.array_equal(starts[0], original)  # fill
    assert starts[2][:, :32].std() > 50  # latent noise
    assert (starts[3][:, :32] == 128).all()  # latent nothing
    pictures = [make(pipe, init_image=png(init), denoising_strength=0.8,
                     inpaint=Inpaint(mask_bytes(mask), masked_content=content)) for content in range(4)]
    assert len({picture.tobytes() for picture in pictures}) == 4
    kept = make(pipe, init_image=png(init), denoising_strength=0.0, inpaint=Inpaint(mask_bytes(mask)))
    assert np.array_equal(kept, original)
