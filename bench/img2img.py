"""8. img2img overhead: ``POST /api/v1/img2img`` (init picture in base64, queue, PNG with parameters, image row,
HTTP included) vs a bare diffusers ``StableDiffusionImg2ImgPipeline`` call in this process, same tiny model,
sampler, size, steps, strength and seed; and the checkpoint loads a txt2img then an img2img on it cost (the
img2img pipeline is built over the loaded modules: none).

One torch thread on each side, for the reason given in ``bench.txt2img``.
"""

from __future__ import annotations

import base64
import io

import requests

from bench import server as srv
from bench.common import Row, Workspace, alternate, median, timed
from bench.txt2img import (
    CFG,
    FULL,
    PROMPT,
    QUICK,
    SEED,
    TARGET,
    THREADS,
    Sizes,
    bare_pipeline,
    rest_call,
    torch_threads,
)

STRENGTH = 0.75


def init_picture(size: int):
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (size, size), "navy")
    ImageDraw.Draw(picture).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill="red")
    return picture


def base64_png(picture) -> str:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def bare_img2img(tiny):
    from diffusers import StableDiffusionImg2ImgPipeline

    txt2img = bare_pipeline(tiny)
    pipe = StableDiffusionImg2ImgPipeline(**txt2img.components, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_call(pipe, picture, sizes: Sizes):
    import torch

    with torch.inference_mode():
        return pipe(PROMPT, image=picture, strength=STRENGTH, num_inference_steps=sizes.steps, guidance_scale=CFG,
                    generator=torch.Generator("cpu").manual_seed(SEED), output_type="pil").images[0]


def rest_img2img(server, headers: dict, model_id: int, picture: str, sizes: Sizes) -> dict:
    body = {"model_id": model_id, "prompt": PROMPT, "init_image": picture, "denoising_strength": STRENGTH,
            "steps": sizes.steps, "cfg_scale": CFG, "sampler_name": "Euler a", "seed": SEED}
    reply = requests.post(server.api("/api/v1/img2img"), headers=headers, json=body, timeout=600)
    reply.raise_for_status()
    return reply.json()


def loads(server, headers: dict) -> int:
    pool = requests.get(server.api("/api/v1/admin/generation-pool"), headers=headers, timeout=60)
    pool.raise_for_status()
    return sum(replica["loads"] for replica in pool.json()["replicas"])


def run(ws: Workspace) -> list[Row]:
    sizes = QUICK if ws.quick else FULL
    home = ws.path("img2img")
    srv.add_tiny_checkpoint(home / "models", ws.tiny)
    server = srv.start(home, OMP_NUM_THREADS=str(THREADS))
    picture = init_picture(sizes.size)
    try:
        headers, model_id = srv.register(server), srv.checkpoint_id(server, ws.tiny.single_file.stem)  # the admin
        rest_call(server, headers, model_id, sizes)  # txt2img loads the checkpoint...
        before = loads(server, headers)
        sent = base64_png(picture)
        pipe = bare_img2img(ws.tiny)

        def ours() -> float:
            return timed(lambda: rest_img2img(server, headers, model_id, sent, sizes))

        def baseline() -> float:
            return timed(lambda: bare_call(pipe, picture, sizes))

        with torch_threads(THREADS):
            warm = (ours(), baseline())
            extra_loads = loads(server, headers) - before  # ...and img2img on it loads nothing more
            with ws.profiled(server.process.pid, "img2img"):
                ours_s, base_s = alternate(sizes.rounds, ours, baseline)
    finally:
        server.stop()
    o, b = median(ours_s), median(base_s)
    return [Row(f"8 img2img REST vs bare diffusers img2img ({sizes.size}², {sizes.steps} steps, strength {STRENGTH})",
                o, b, "s", f"≤ {TARGET}×", o / b <= TARGET,
                detail={"ours_s": ours_s, "baseline_s": base_s, "warm_up_s": warm,
                        "round_ratios": [a / b for a, b in zip(ours_s, base_s)]}),
            Row("8 img2img after txt2img on the same checkpoint: checkpoint loads", extra_loads, None, "loads", "0",
                extra_loads == 0)]
