"""The built-in demo model "Visionary Shapes (demo)" (models_builtin/, made by tools/train_demo_model.py).

It must load offline through the same single-file loader as users' checkpoints,
draw what the prompt says (graded on pixels by tools/demo_shapes.judge, which is
itself checked here on training pictures and their VAE reconstructions), respond
to classifier-free guidance, repeat itself for a seed, and be quick on a CPU.
"""

from __future__ import annotations

import json
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from tools import demo_shapes as ds

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models_builtin" / "visionary-shapes-demo.safetensors"
CONFIG_DIR = ROOT / "models_builtin" / "visionary-shapes-demo.config"
SD15_TOKENIZER = ROOT / "core" / "pipeline_configs" / "sd15" / "tokenizer"
SEEDS = (0, 1, 2, 3, 4)

# Targets of the issue: share of images (12 prompts x 5 seeds, CFG 7, Euler a, 20 steps) read back right.
MIN_BACKGROUND, MIN_COLOR, MIN_SHAPE = 0.90, 0.80, 0.60


@contextmanager
def network_unreachable():
    """Every socket connect / DNS lookup fails, as on a machine without network."""

    def refuse(*args, **kwargs):
        raise OSError("network unreachable (test)")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo, socket.create_connection
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.getaddrinfo = refuse
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo, socket.create_connection = saved


@pytest.fixture(scope="module")
def pipe():
    from core.pipeline import load_pipeline

    with network_unreachable():
        return load_pipeline(MODEL, device="cpu")


@pytest.fixture(scope="module")
def adherence(pipe):
    """Adherence at CFG 7 and CFG 1 on the same prompts and seeds (computed once)."""
    return {cfg: ds.eval_adherence(pipe, SEEDS, cfg) for cfg in (7.0, 1.0)}


# --------------------------------------------------------------------------- files
def test_ships_one_fp16_single_file_with_a_configs_only_folder():
    from safetensors import safe_open

    from core.pipeline import find_config_dir, safetensors_shapes

    assert MODEL.is_file() and MODEL.stat().st_size <= 26 * 1024 * 1024
    shapes = safetensors_shapes(MODEL)
    assert any(k.startswith("model.diffusion_model.") for k in shapes)
    assert any(k.startswith("first_stage_model.") for k in shapes)
    assert any(k.startswith("cond_stage_model.transformer.") for k in shapes)
    with safe_open(str(MODEL), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert dtypes == {"F16"}
    assert find_config_dir(MODEL) == CONFIG_DIR
    index = json.loads((CONFIG_DIR / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    # configs only: no weights in the folder
    assert not [p for p in CONFIG_DIR.rglob("*") if p.suffix in (".safetensors", ".bin", ".ckpt", ".pt")]
    # the real CLIP tokenizer, as shipped for SD 1.x
    for name in ("vocab.json", "merges.txt"):
        assert (CONFIG_DIR / "tokenizer" / name).read_bytes() == (SD15_TOKENIZER / name).read_bytes()
    vae = json.loads((CONFIG_DIR / "vae" / "config.json").read_text())
    assert len(vae["block_out_channels"]) == 3  # scale factor 4: 64x64 pictures, 16x16 latents


# --------------------------------------------------------------------------- the judge
def test_judge_reads_training_pictures():
    rng = np.random.default_rng(123)
    images, scenes = ds.random_batch(rng, 300)
    result = ds.score(images, [(s.color, s.shape, s.background) for s in scenes])
    assert result.all_three == result.n, str(result)


def test_judge_reads_vae_reconstructions(pipe):
    import torch

    rng = np.random.default_rng(456)
    images, scenes = ds.random_batch(rng, 96)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    with torch.inference_mode():
        recon = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    out = ((recon + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    psnr = 10 * np.log10(4 / float(((recon - x) ** 2).mean()))
    result = ds.score(out, [(s.color, s.shape, s.background) for s in scenes])
    rates = result.rates()
    assert rates["background"] == 1.0 and rates["color"] >= 0.97 and rates["shape"] >= 0.95, str(result)
    assert psnr > 25, psnr


def test_judge_rejects_wrong_answers():
    picture = ds.render(ds.centered_scene("red", "circle", "blue"))
    verdict = ds.judge(picture)
    assert (verdict.background, verdict.color, verdict.shape) == ("blue", "red", "circle")
    for shape in ("square", "triangle"):
        assert ds.judge(ds.render(ds.centered_scene("red", shape, "blue"))).shape == shape
    blank = np.zeros((64, 64, 3), np.uint8) + np.array(ds.COLORS["green"], np.uint8)
    assert ds.judge(blank).color is None


# --------------------------------------------------------------------------- the model
def test_draws_what_the_prompt_says(adherence):
    rates = adherence[7.0].rates()
    print(f"\nCFG 7: {adherence[7.0]}\nCFG 1: {adherence[1.0]}")
    assert rates["background"] >= MIN_BACKGROUND, str(adherence[7.0])
    assert rates["color"] >= MIN_COLOR, str(adherence[7.0])
    assert rates["shape"] >= MIN_SHAPE, str(adherence[7.0])


def test_classifier_free_guidance_helps(adherence):
    strong, weak = adherence[7.0], adherence[1.0]
    assert strong.background + strong.color + strong.shape > weak.background + weak.color + weak.shape, (
        f"CFG 7: {strong}; CFG 1: {weak}")


def test_same_seed_same_image_through_the_app_engine(pipe):
    from core.generation.diffusion import GenerationRequest, generate

    request = GenerationRequest(prompt="a yellow square on a blue background", width=64, height=64, steps=20,
                                cfg_scale=7.0, sampler="Euler a", seed=42)
    (a, seed_a), = generate(pipe, request)
    (b, _), = generate(pipe, request)
    (c, _), = generate(pipe, GenerationRequest(**{**request.__dict__, "seed": 43}))
    assert seed_a == 42 and a.size == (64, 64)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_one_image_in_about_a_second(pipe):
    from core.generation.diffusion import GenerationRequest, generate

    request = GenerationRequest(prompt="a red triangle on a white background", width=64, height=64, steps=20,
                                cfg_scale=7.0, sampler="Euler a", seed=7)
    generate(pipe, request)  # warm-up
    walls, cpus = [], []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        generate(pipe, request)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"\none 64x64 image, 20 steps: best {min(walls):.2f} s wall, {min(cpus):.2f} s CPU")
    # CPU seconds do not grow when other jobs share the cores; wall time does.
    assert min(cpus) < 4.0, (walls, cpus)
