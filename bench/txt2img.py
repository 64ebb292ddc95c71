"""1. Generation overhead: ``POST /api/v1/txt2img`` (queue, PNG with parameters, fsync, image row, HTTP
included) vs a bare diffusers pipeline call in this process, same tiny model, sampler, size, steps and seed.

Both sides run torch on one thread (``OMP_NUM_THREADS=1`` for the server,
``torch.set_num_threads(1)`` here): on a shared 2-core machine two OpenMP
threads spin-wait for each other whenever one is descheduled, which made
identical runs vary 3×.  While one side runs the other process waits.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import requests

from bench import server as srv
from bench.common import Row, Workspace, alternate, median, quiet_diffusers, timed

PROMPT = "a red circle on a blue square"
SEED = 1234
CFG = 7.0
TARGET = 1.05
THREADS = 1


@dataclass(frozen=True)
class Sizes:
    size: int
    steps: int
    rounds: int


FULL = Sizes(size=128, steps=20, rounds=9)
QUICK = Sizes(size=64, steps=2, rounds=1)


def bare_pipeline(tiny):
    """The same weights straight from diffusers, with "Euler a" (EulerAncestralDiscreteScheduler)."""
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionPipeline

    quiet_diffusers()
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny.diffusers_dir), safety_checker=None,
                                                   feature_extractor=None, requires_safety_checker=False,
                                                   local_files_only=True)
    pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_call(pipe, sizes: Sizes):
    import torch

    with torch.inference_mode():
        return pipe(PROMPT, width=sizes.size, height=sizes.size, num_inference_steps=sizes.steps, guidance_scale=CFG,
                    generator=torch.Generator("cpu").manual_seed(SEED), output_type="pil").images[0]


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def rest_call(server, headers: dict, model_id: int, sizes: Sizes) -> dict:
    body = {"model_id": model_id, "prompt": PROMPT, "width": sizes.size, "height": sizes.size, "steps": sizes.steps,
            "cfg_scale": CFG, "sampler_name": "Euler a", "seed": SEED}
    reply = requests.post(server.api("/api/v1/txt2img"), headers=headers, json=body, timeout=600)
    reply.raise_for_status()
    return reply.json()


def run(ws: Workspace) -> list[Row]:
    sizes = QUICK if ws.quick else FULL
    home = ws.path("txt2img")
    srv.add_tiny_checkpoint(home / "models", ws.tiny)
    server = srv.start(home, OMP_NUM_THREADS=str(THREADS))
    try:
        headers, model_id = srv.register(server), srv.checkpoint_id(server, ws.tiny.single_file.stem)
        pipe = bare_pipeline(ws.tiny)

        def ours() -> float:
            return timed(lambda: rest_call(server, headers, model_id, sizes))

        def baseline() -> float:
            return timed(lambda: bare_call(pipe, sizes))

        with torch_threads(THREADS):
            warm = (ours(), baseline())  # the server loads the checkpoint into its cache; first-call costs
            with ws.profiled(server.process.pid, "txt2img"):
                ours_s, base_s = alternate(sizes.rounds, ours, baseline)
    finally:
        server.stop()
    o, b = median(ours_s), median(base_s)
    return [Row(f"1 txt2img REST vs bare diffusers ({sizes.size}², {sizes.steps} steps)", o, b, "s", f"≤ {TARGET}×",
                o / b <= TARGET, detail={"ours_s": ours_s, "baseline_s": base_s, "warm_up_s": warm,
                                         "round_ratios": [a / b for a, b in zip(ours_s, base_s)]})]
