"""The offline loader, cache and txt2img engine, on tiny random-weight models.

Every test here runs with the network blocked: any socket connection to a
non-loopback address (or a name lookup of a non-local host) raises and is
recorded, and each test asserts nothing was attempted. The tiny model is built
once for the module (tests/tiny_models.py).
"""

from __future__ import annotations

import builtins
import dataclasses
import ipaddress
import os
import pickle
import socket
import threading

import numpy as np
import pytest

from tests.tiny_models import (
    CONFIGS_DIR,
    build_tiny_sd15,
    save_tiny_lora,
    save_tiny_single_file,
    tiny_sd2_pipeline,
    tiny_sdxl_pipeline,
    tiny_vae,
)

TIMEOUT = 60


# --------------------------------------------------------------------------- network guard
def _is_local(host) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def no_network():
    """Block (and record) every connection and name lookup that would leave the machine."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            attempts.append(f"connect {address!r}")
            raise OSError(f"network blocked in tests: {address!r}")

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            attempts.append(f"lookup {host!r}")
            raise socket.gaierror(f"name lookup blocked in tests: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield attempts


@pytest.fixture(autouse=True)
def offline(no_network):
    """Each test: nothing tried to reach the network (even if a library swallowed the error)."""
    before = len(no_network)
    yield
    assert no_network[before:] == []


# --------------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread; on a shared 2-core machine more threads spin and crawl."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(no_network, one_thread, tmp_path_factory):
    return build_tiny_sd15(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def folder_pipe(tiny):
    from core.pipeline import load_pipeline

    return load_pipeline(tiny.diffusers_dir, device="cpu")


@pytest.fixture(scope="module")
def file_pipe(tiny):
    from core.pipeline import load_pipeline

    return load_pipeline(tiny.single_file, device="cpu")


def request(**overrides):
    from core.generation.diffusion import GenerationRequest

    fields = dict(prompt="a photo of a cat", negative_prompt="blurry", width=64, height=64, steps=4, seed=1)
    fields.update(overrides)
    return GenerationRequest(**fields)


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def image_of(pipe, **overrides):
    from core.generation.diffusion import generate

    [(image, _seed)] = generate(pipe, request(**overrides))
    return pixels(image)


# --------------------------------------------------------------------------- the guard itself
def test_network_guard_blocks_public_addresses(no_network):
    with socket.socket() as sock, pytest.raises(OSError, match="network blocked"):
        sock.connect(("203.0.113.7", 443))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("huggingface.co", 443)
    del no_network[-2:]  # the two attempts above were ours


# --------------------------------------------------------------------------- shipped configs
def test_shipped_tokenizers_encode_like_clip():
    from transformers import CLIPTokenizer

    for folder in ("sd15/tokenizer", "sd2/tokenizer", "sdxl/tokenizer", "sdxl/tokenizer_2"):
        tok = CLIPTokenizer.from_pretrained(str(CONFIGS_DIR / folder), local_files_only=True)
        assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407], folder
        assert tok.model_max_length == 77 and len(tok) == 49408
    # OpenCLIP-trained encoders pad with "!" (id 0), OpenAI CLIP with <|endoftext|>.
    assert CLIPTokenizer.from_pretrained(str(CONFIGS_DIR / "sd2/tokenizer")).pad_token_id == 0
    assert CLIPTokenizer.from_pretrained(str(CONFIGS_DIR / "sd15/tokenizer")).pad_token_id == 49407


def test_tokenizer_files_are_what_the_build_script_derives():
    from tools.build_tokenizer import write_all

    assert write_all(check=True) == []


PUBLISHED_PARAMS = [  # (config folder, component, published parameter count)
    ("sd15", "unet", 859.52e6),
    ("sd2", "unet", 865.91e6),
    ("sdxl", "unet", 2.567e9),
    ("sd15", "vae", 83.65e6),
    ("sdxl", "vae", 83.65e6),
    ("sd15", "text_encoder", 123.06e6),  # CLIP ViT-L/14
    ("sd2", "text_encoder", 340.39e6),  # OpenCLIP ViT-H/14, 23 layers
    ("sdxl", "text_encoder", 123.06e6),
    ("sdxl", "text_encoder_2", 694.7e6),  # OpenCLIP ViT-bigG/14 with projection
]


@pytest.mark.parametrize("base, component, published", PUBLISHED_PARAMS)
def test_shipped_configs_instantiate_with_published_sizes(base, component, published):
    import diffusers
    import transformers
    from accelerate import init_empty_weights

    index = __import__("json").loads((CONFIGS_DIR / base / "model_index.json").read_text())
    library, class_name = index[component]
    folder = str(CONFIGS_DIR / base / component)
    with init_empty_weights():
        if library == "diffusers":
            cls = getattr(diffusers, class_name)
            model = cls.from_config(cls.load_config(folder))
        else:
            cls = getattr(transformers, class_name)
            model = cls(transformers.CLIPTextConfig.from_pretrained(folder))
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - published) / published < 0.005, (base, component, count)


def test_shipped_scheduler_settings():
    from diffusers import DDIMScheduler

    assert DDIMScheduler.load_config(str(CONFIGS_DIR / "sd2/scheduler"))["prediction_type"] == "v_prediction"


# --------------------------------------------------------------------------- loading
def test_both_forms_load_offline_and_give_the_same_image(folder_pipe, file_pipe):
    from diffusers.models.attention_processor import AttnProcessor2_0

    assert type(folder_pipe).__name__ == type(file_pipe).__name__ == "StableDiffusionPipeline"
    assert all(isinstance(p, AttnProcessor2_0) for p in file_pipe.unet.attn_processors.values())  # SDPA
    a, b = image_of(folder_pipe), image_of(file_pipe)
    assert a.shape == (64, 64, 3)
    assert np.array_equal(a, b)  # same weights through both loaders


def test_same_seed_same_pixels_different_seed_differs(file_pipe):
    first, again, other = image_of(file_pipe, seed=7), image_of(file_pipe, seed=7), image_of(file_pipe, seed=8)
    assert np.array_equal(first, again)
    assert np.abs(first - other).max() > 10


def test_batch_uses_seed_and_seed_plus_one_like_single_runs(file_pipe):
    from core.generation.diffusion import generate

    batch = generate(file_pipe, request(seed=100, batch_size=2))
    assert [seed for _img, seed in batch] == [100, 101]
    assert np.array_equal(pixels(batch[0][0]), image_of(file_pipe, seed=100))
    assert np.array_equal(pixels(batch[1][0]), image_of(file_pipe, seed=101))


def test_skip_ends_one_image_of_a_batch_and_stop_ends_the_batch(file_pipe):
    from core.generation.diffusion import generate

    wanted, progress_seen = {"skip": False}, []

    def progress(step, total):
        progress_seen.append((step, total))
        wanted["skip"] = wanted["skip"] or step == 2

    def take_skip():
        skip, wanted["skip"] = wanted["skip"], False
        return skip

    out = generate(file_pipe, request(seed=10, batch_size=2), progress_callback=progress, should_skip=take_skip)
    assert [seed for _img, seed in out] == [10, 11]
    assert progress_seen == [(1, 8), (2, 8), (5, 8), (6, 8), (7, 8), (8, 8)]
    assert not np.array_equal(pixels(out[0][0]), image_of(file_pipe, seed=10))  # stopped after step 2
    assert np.array_equal(pixels(out[1][0]), image_of(file_pipe, seed=11))  # the next one in full
    assert generate(file_pipe, request(batch_size=2), should_stop=lambda: True) == []


def test_random_seed_is_reported_and_reproduces(file_pipe):
    from core.generation.diffusion import generate

    [(image, seed)] = generate(file_pipe, request(seed=-1))
    assert 0 <= seed < 2**32
    assert np.array_equal(pixels(image), image_of(file_pipe, seed=seed))


def test_sd2_and_sdxl_single_files_load_and_generate(one_thread, tmp_path):
    from core.pipeline import load_pipeline

    for name, build in (("tiny_sd2", tiny_sd2_pipeline), ("tiny_sdxl", tiny_sdxl_pipeline)):
        reference = build()
        single_file, _config = save_tiny_single_file(reference, tmp_path, name)
        pipe = load_pipeline(single_file, device="cpu")
        assert type(pipe) is type(reference)
        for component in ("unet", "vae", "text_encoder", "text_encoder_2"):
            if component in reference.components:
                want, got = getattr(reference, component).state_dict(), getattr(pipe, component).state_dict()
                assert want.keys() == got.keys()
                assert all(bool((want[k] == got[k]).all()) for k in want), (name, component)
        assert pipe.scheduler.config.prediction_type == ("v_prediction" if name == "tiny_sd2" else "epsilon")
        assert image_of(pipe, steps=2).shape == (64, 64, 3)


def test_fp16_variant_folder_loads(tmp_path, one_thread):
    from core.pipeline import load_pipeline
    from tests.tiny_models import tiny_sd15_pipeline

    folder = tmp_path / "fp16_only"
    tiny_sd15_pipeline().save_pretrained(str(folder), safe_serialization=True, variant="fp16")
    assert all(".fp16." in p.name for p in (folder / "unet").glob("*.safetensors"))
    assert image_of(load_pipeline(folder, device="cpu"), steps=2).shape == (64, 64, 3)


def test_vae_override_file(tiny, tmp_path, file_pipe):
    from safetensors.torch import save_file

    from core.generation.ldm_convert import vae_to_ldm
    from core.pipeline import load_pipeline

    other = tiny_vae(seed=5)
    vae_file = tmp_path / "other.vae.safetensors"  # A1111 VAE files: LDM names, no prefix
    save_file(vae_to_ldm(other.state_dict(), other.config, prefix=""), str(vae_file))
    pipe = load_pipeline(tiny.single_file, device="cpu", vae_path=vae_file)
    want, got = other.state_dict(), pipe.vae.state_dict()
    assert all(bool((want[k] == got[k]).all()) for k in want)
    assert not np.array_equal(image_of(pipe), image_of(file_pipe))


def test_pickles_are_refused_and_never_unpickled(tmp_path, monkeypatch):
    import torch

    from core.pipeline import ModelLoadError, load_pipeline

    def forbidden(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    fake = tmp_path / "evil.safetensors"
    fake.write_bytes(pickle.dumps({"state_dict": {}}))
    ckpt = tmp_path / "model.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, str(ckpt))
    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    for path in (fake, ckpt):
        with pytest.raises(ModelLoadError, match="safetensors"):
            load_pipeline(path, device="cpu")


def test_config_folder_chosen_from_the_weights(tmp_path):
    from core.pipeline import ModelLoadError, find_config_dir

    path = tmp_path / "model.safetensors"
    conv_in = {"model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3)}
    sd1 = {**conv_in, "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 768),
           "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight": (77, 768)}
    sd2 = {**conv_in, "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 1024),
           "cond_stage_model.model.token_embedding.weight": (49408, 1024)}
    sdxl = {**conv_in, "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": (640, 2048),
            "conditioner.embedders.1.model.positional_embedding": (77, 1280)}
    assert find_config_dir(path, sd1) == CONFIGS_DIR / "sd15"
    assert find_config_dir(path, sd2) == CONFIGS_DIR / "sd2"
    assert find_config_dir(path, sdxl) == CONFIGS_DIR / "sdxl"
    inpainting = {**sd1, "model.diffusion_model.input_blocks.0.0.weight": (320, 9, 3, 3)}
    assert find_config_dir(path, inpainting) == CONFIGS_DIR / "sd15_inpaint"
    with pytest.raises(ModelLoadError, match="8 input channels"):  # instruct-pix2pix: not a model we run
        find_config_dir(path, {**sd1, "model.diffusion_model.input_blocks.0.0.weight": (320, 8, 3, 3)})
    with pytest.raises(ModelLoadError, match="not a checkpoint"):
        find_config_dir(path, {"lora_unet_x_attn2_to_k.lora_down.weight": (4, 768)})
    (tmp_path / "model.config").mkdir()
    (tmp_path / "model.config" / "model_index.json").write_text("{}")
    assert find_config_dir(path, sd2) == tmp_path / "model.config"  # a folder beside the file wins


# --------------------------------------------------------------------------- cache
def test_cache_switching_back_reads_no_file(tiny, monkeypatch):
    import safetensors
    import safetensors.torch

    from core.pipeline import PipelineCache, load_pipeline

    loads = []

    def loader(path):
        return lambda: loads.append(path) or load_pipeline(path, device="cpu")

    cache = PipelineCache(max_models=2)
    a = cache.get_or_load("sha-a", loader(tiny.single_file))
    b = cache.get_or_load("sha-b", loader(tiny.diffusers_dir))
    opened = []
    real_open, real_os_open = builtins.open, os.open
    monkeypatch.setattr(builtins, "open", lambda *args, **kw: opened.append(args[0]) or real_open(*args, **kw))
    monkeypatch.setattr(os, "open", lambda *args, **kw: opened.append(args[0]) or real_os_open(*args, **kw))
    monkeypatch.setattr(safetensors, "safe_open", lambda *args, **kw: opened.append(args[0]))
    monkeypatch.setattr(safetensors.torch, "load_file", lambda *args, **kw: opened.append(args[0]))
    again = cache.get_or_load("sha-a", loader(tiny.single_file))
    monkeypatch.undo()
    assert again is a and b is not a
    assert opened == [] and loads == [tiny.single_file, tiny.diffusers_dir]
    assert cache.keys() == ["sha-b", "sha-a"]  # most recently used last


def test_cache_evicts_least_recently_used(tiny):
    from core.pipeline import PipelineCache

    cache, loads = PipelineCache(max_models=1), []
    for key in ("a", "b", "a"):
        cache.get_or_load(key, lambda key=key: loads.append(key) or object())
    assert loads == ["a", "b", "a"] and cache.keys() == ["a"]
    uncached = PipelineCache(max_models=0)
    uncached.get_or_load("a", object)
    assert len(uncached) == 0


# --------------------------------------------------------------------------- LoRA
def test_lora_changes_the_image_and_unloads_completely(tiny, folder_pipe, tmp_path):
    from core.generation.diffusion import generate

    def with_loras(loras, **overrides):
        [(image, _)] = generate(folder_pipe, request(**overrides), loras=loras)
        return pixels(image)

    base = image_of(folder_pipe)
    full = with_loras([(tiny.lora, 1.0)])
    half = with_loras([(tiny.lora, 0.5)])
    assert np.abs(full - base).max() > 3 and np.abs(half - base).max() > 0 and not np.array_equal(half, full)
    assert np.array_equal(with_loras([(tiny.lora, 0.0)]), base)
    assert np.array_equal(image_of(folder_pipe), base)  # after a LoRA run: the base model again
    assert not any("lora" in name for name, _ in folder_pipe.unet.named_modules())

    second = save_tiny_lora(folder_pipe.unet, tmp_path / "second.safetensors", seed=2)
    both = with_loras([(tiny.lora, 1.0), (second, 0.7)])
    assert not np.array_equal(both, full) and not np.array_equal(both, with_loras([(second, 0.7)]))
    assert np.array_equal(image_of(folder_pipe), base)


def test_lora_for_another_base_model_is_refused_and_leaves_the_model_clean(folder_pipe, tmp_path):
    import torch
    from safetensors.torch import save_file

    from core.generation.diffusion import generate

    key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    wrong = tmp_path / "sdxl_lora.safetensors"  # context width 2048, the tiny model has 32
    save_file({f"{key}.lora_down.weight": torch.ones(4, 2048), f"{key}.lora_up.weight": torch.ones(8, 4),
               f"{key}.alpha": torch.tensor(4.0)}, str(wrong))
    base = image_of(folder_pipe)
    with pytest.raises(ValueError, match="does not fit"):
        generate(folder_pipe, request(), loras=[(wrong, 1.0)])
    assert np.array_equal(image_of(folder_pipe), base)


def test_lora_tags_are_parsed_and_kept_out_of_the_text_prompt(folder_pipe):
    from core.generation.lora import parse_lora_tags

    assert parse_lora_tags("a cat, <lora:add detail:0.6> <LORA:style>  on a mat") == (
        "a cat, on a mat", [("add detail", 0.6), ("style", 1.0)]
    )
    assert parse_lora_tags("<lora:x:0.5:0.8>")[1] == [("x", 0.5)]  # A1111's te:unet form
    with pytest.raises(ValueError, match="not a number"):
        parse_lora_tags("<lora:x:lots>")
    req = request(prompt="a photo of a cat <lora:tiny:1>")
    assert req.text_prompt == "a photo of a cat" and req.loras == [("tiny", 1.0)]
    assert np.array_equal(image_of(folder_pipe, prompt=req.prompt), image_of(folder_pipe))


# --------------------------------------------------------------------------- samplers and inputs
def test_every_listed_sampler_generates(file_pipe):
    from core.generation.samplers import make_scheduler, sampler_names, sdapi_samplers, sdapi_schedulers

    names = sampler_names()
    for required in ("Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "DDIM", "UniPC", "Heun", "LMS"):
        assert required in names
    for name in names:
        assert image_of(file_pipe, sampler=name, steps=2).shape == (64, 64, 3), name
    karras = make_scheduler(file_pipe.scheduler.config, "DPM++ 2M Karras")
    assert type(karras).__name__ == "DPMSolverMultistepScheduler" and karras.config.use_karras_sigmas
    assert make_scheduler(file_pipe.scheduler.config, "DPM++ 2M", "karras").config.use_karras_sigmas
    assert make_scheduler(file_pipe.scheduler.config, "k_euler_a").__class__.__name__ == "EulerAncestralDiscreteScheduler"
    assert {"name": "Euler a", "aliases": ["k_euler_a", "k_euler_ancestral"], "options": {}} in sdapi_samplers()
    assert {s["name"] for s in sdapi_schedulers()} >= {"automatic", "karras", "exponential"}


@pytest.mark.parametrize("field, value, message", [
    ("width", 65, "multiple of 8"), ("width", 2056, "between 64 and 2048"), ("height", 56, "between"),
    ("steps", 0, "steps"), ("steps", 151, "steps"), ("cfg_scale", 0.5, "cfg_scale"), ("cfg_scale", 31, "cfg_scale"),
    ("batch_size", 9, "batch_size"), ("batch_size", 0, "batch_size"), ("sampler", "Nope", "unknown sampler"),
    ("scheduler", "weird", "unknown schedule type"), ("seed", -2, "seed"), ("steps", 2.5, "integer"),
    ("prompt", "<lora:x:abc>", "not a number"),
])
def test_check_inputs_rejects_out_of_range(field, value, message):
    from core.generation.diffusion import check_inputs

    with pytest.raises(ValueError, match=message):
        check_inputs(request(**{field: value}))


def test_check_inputs_accepts_limits():
    from core.generation.diffusion import check_inputs

    for fields in ({"width": 64, "height": 2048, "steps": 1, "cfg_scale": 1, "batch_size": 8, "seed": 0},
                   {"steps": 150, "cfg_scale": 30, "sampler": "DPM++ 2M", "scheduler": "Karras"}):
        check_inputs(request(**fields))


def test_device_selection():
    import torch

    from core.pipeline import resolve_device

    assert resolve_device("cpu") == (torch.device("cpu"), torch.float32)
    if not torch.cuda.is_available():
        assert resolve_device(None)[0].type in ("cpu", "mps")
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(ValueError):
        resolve_device("warp-drive")


def test_infotext_of_a_generation_reads_back():
    from core.generation.diffusion import infotext
    from core.generation.pnginfo import parse_parameters, to_request_fields

    req = request(prompt="cat <lora:tiny:0.5>", sampler="DPM++ 2M Karras", cfg_scale=6.5, seed=5, batch_size=2)
    text = infotext(req, 6, model_hash="ABCDEF0123", model_name="tiny", lora_hashes={"tiny": "0123456789ab"})
    assert text.endswith("Steps: 4, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 6, "
                         'Size: 64x64, Model hash: abcdef0123, Model: tiny, Lora hashes: "tiny: 0123456789ab"')
    fields = to_request_fields(parse_parameters(text))
    assert fields["prompt"] == "cat <lora:tiny:0.5>" and fields["seed"] == 6
    assert dataclasses.replace(req, **{k: fields[k] for k in ("sampler", "scheduler", "seed")}).seed == 6


# --------------------------------------------------------------------------- with the queue
def test_queue_runs_model_jobs_one_at_a_time_and_interrupt_stops_after_the_current_step(file_pipe):
    from core.generation.diffusion import generate
    from core.generation.queue import INTERRUPTED, GenerationQueue

    queue = GenerationQueue(max_concurrent=1, name="cpu")
    at_step_3, interrupted = threading.Event(), threading.Event()
    steps_seen = []

    def long_job(ctx):
        def progress(step, total):
            steps_seen.append(step)
            ctx.report(step, total)
            if step == 3:
                at_step_3.set()
                assert interrupted.wait(TIMEOUT)

        return generate(file_pipe, request(steps=150), progress_callback=progress, should_stop=ctx.should_stop)

    try:
        first = queue.submit(long_job, owner="alice")
        second = queue.submit(lambda ctx: generate(file_pipe, request(steps=2)), owner="bob")
        assert at_step_3.wait(TIMEOUT)
        assert second.position == 1
        queue.cancel(first.id, by="alice")
        interrupted.set()
        [(partial, seed)] = first.wait(TIMEOUT)
        second.wait(TIMEOUT)
    finally:
        queue.shutdown(timeout=TIMEOUT)
    assert first.state == INTERRUPTED and seed == 1 and partial.size == (64, 64)
    assert steps_seen == [1, 2, 3] and (first.step, first.total) == (3, 150)
    assert first.finished_at <= second.started_at
