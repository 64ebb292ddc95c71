"""Inpainting checkpoints (sd-v1-5-inpainting and the like: a UNet that also takes the mask and the masked picture,
9 input channels) as A1111 runs them: told apart from the weights, loaded offline from the shipped configs, and used
by txt2img, img2img and inpainting alike. A tiny random-weight one built by the tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.pipeline import CONFIGS_DIR, find_config_dir
from tests.tiny_models import build_tiny_sd15_inpainting


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    import torch

    from core.pipeline import load_pipeline

    torch.set_num_threads(1)
    single_file, _ = build_tiny_sd15_inpainting(tmp_path_factory.mktemp("inpainting"))
    return load_pipeline(single_file, device="cpu")


def make(pipe, **fields) -> np.ndarray:
    from core.generation.diffusion import GenerationRequest, generate

    base = dict(prompt="a lighthouse", width=64, height=64, steps=3, seed=3)
    [(image, _seed)] = generate(pipe, GenerationRequest(**(base | fields)))
    return np.asarray(image, dtype=np.int16)


def png(picture: Image.Image) -> bytes:
    from core.generation.img2img import png_of

    return png_of(picture)


@pytest.mark.parametrize("family, folder", [("sd1", "sd15_inpaint"), ("sd2", "sd2_inpaint"), ("sdxl", "sdxl_inpaint")])
def test_a_nine_channel_unet_gets_the_shipped_inpainting_configs(tmp_path, family, folder):
    import torch
    from safetensors.torch import save_file

    context = {"sd1": 768, "sd2": 1024, "sdxl": 2048}[family]
    weights = {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 9, 3, 3),
               "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": torch.zeros(8, context)}
    if family == "sdxl":
        weights["conditioner.embedders.1.model.text_projection"] = torch.zeros(4, 4)
    save_file(weights, str(tmp_path / "inpainting.safetensors"))
    found = find_config_dir(tmp_path / "inpainting.safetensors")
    assert found == CONFIGS_DIR / folder
    import json

    assert json.loads((found / "unet" / "config.json").read_text())["in_channels"] == 9


def test_txt2img_img2img_and_inpainting_run_on_an_inpainting_checkpoint(pipe):
    assert pipe.unet.config.in_channels == 9
    txt2img = make(pipe)
    assert txt2img.shape == (64, 64, 3) and make(pipe).tolist() == txt2img.tolist()  # deterministic
    stripes = Image.fromarray(np.tile(np.array([[[220, 40, 40]] * 32 + [[30, 30, 200]] * 32], dtype=np.uint8),
                                      (64, 1, 1)))
    varied = make(pipe, init_image=png(stripes), denoising_strength=0.6)
    assert not np.array_equal(varied, txt2img)
    assert np.array_equal(make(pipe, init_image=png(stripes), denoising_strength=0.0), np.asarray(stripes))
    from core.generation.hires import HiresFix

    for upscaler in ("Latent", "Lanczos"):  # the second pass decodes latents first: the UNet wants a picture too
        assert make(pipe, hires=HiresFix(scale=2, upscaler=upscaler, steps=2, denoising_strength=0.5)).shape == \
            (128, 128, 3)

    from core.generation.inpaint import Inpaint

    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))  # the left half
    painted = make(pipe, init_image=png(stripes), denoising_strength=0.9,
                   inpaint=Inpaint(png(mask), mask_blur=0, masked_content=1))
    assert np.array_equal(painted[:, 40:], np.asarray(stripes, dtype=np.int16)[:, 40:])  # right half kept
    assert not np.array_equal(painted[:, :24], np.asarray(stripes, dtype=np.int16)[:, :24])
