"""img2img and hires fix through the unmodified A1111 client (webuiapi), /sdapi/v1 and /api/v1, on a live app with
a tiny real checkpoint and the shipped demo model: deterministic pictures whose PNG info reads back, A1111's
listings, inpainting that leaves the unmasked half as it was, and clear 400s for what cannot be honoured."""

from __future__ import annotations

import base64
import io

import numpy as np
import requests
import webuiapi
from PIL import Image

from core.generation.demo_model import DEMO_NAME
from tests.conftest import PASSWORD, bearer, register

SMALL = dict(prompt="a red circle", negative_prompt="blurry", steps=2, width=64, height=64, cfg_scale=7,
             sampler_name="Euler a")


def client_for(server) -> webuiapi.WebUIApi:
    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port)
    api.set_auth("painter", PASSWORD)
    tiny = next(t for t in api.util_get_model_names() if t.startswith("tiny_sd15"))
    api.util_set_model(tiny, find_closest=False)
    return api


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def loads(server) -> int:
    pool = requests.get(server.api("/api/v1/admin/generation-pool"), headers=bearer(server.token), timeout=60)
    assert pool.status_code == 200, pool.text
    return sum(replica["loads"] for replica in pool.json()["replicas"])


def test_webuiapi_img2img_from_a_txt2img_is_deterministic_reads_back_and_loads_nothing(gen_server):
    api = client_for(gen_server)
    source = api.txt2img(seed=77, **SMALL).image
    loaded = loads(gen_server)
    first = api.img2img(images=[source], denoising_strength=0.5, seed=5, **SMALL)
    again = api.img2img(images=[source], denoising_strength=0.5, seed=5, **SMALL)
    assert loads(gen_server) == loaded  # the txt2img's checkpoint served the img2img: nothing loaded
    assert first.image.size == (64, 64)
    assert np.array_equal(pixels(first.image), pixels(again.image))
    assert not np.array_equal(pixels(first.image), pixels(source))
    infotext = first.info["infotexts"][0]
    assert "Seed: 5, Size: 64x64" in infotext and "Denoising strength: 0.5" in infotext
    assert first.info["denoising_strength"] == 0.5
    assert api.png_info(first.image).parameters["Denoising strength"] == "0.5"
    kept = api.img2img(images=[source], denoising_strength=0.0, seed=5, include_init_images=True, **SMALL)
    assert np.array_equal(pixels(kept.images[0]), pixels(source))  # nothing to denoise: the picture back
    assert np.array_equal(pixels(kept.images[1]), pixels(source))  # include_init_images appends it


def test_webuiapi_hires_fix_doubles_the_size_and_its_settings_read_back(gen_server):
    api = client_for(gen_server)
    assert {"None", "Lanczos", "Nearest"} <= {u["name"] for u in api.get_upscalers()}
    modes = requests.get(gen_server.api("/sdapi/v1/latent-upscale-modes"), timeout=60).json()
    assert {"name": "Latent"} in modes and {"name": "Latent (bicubic antialiased)"} in modes
    for upscaler in ("Latent", "Lanczos"):
        result, again = (api.txt2img(seed=9, enable_hr=True, hr_scale=2, hr_upscaler=upscaler, hr_second_pass_steps=2,
                                     denoising_strength=0.5, **SMALL) for _ in range(2))
        assert result.image.size == (128, 128)
        assert np.array_equal(pixels(result.image), pixels(again.image))
        infotext = result.info["infotexts"][0]
        assert f"Denoising strength: 0.5, Hires upscale: 2, Hires steps: 2, Hires upscaler: {upscaler}" in infotext
        read = api.png_info(result.image).parameters
        assert (read["Hires upscale"], read["Hires steps"], read["Hires upscaler"]) == ("2", "2", upscaler)


def sdapi(server, route: str, **body) -> requests.Response:
    return requests.post(server.api(f"/sdapi/v1/{route}"), json=body, auth=("painter", PASSWORD), timeout=120)


def b64(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def test_what_cannot_be_honoured_is_a_400_naming_it_and_nothing_runs(gen_server):
    picture = b64(Image.new("RGB", (64, 64), "red"))
    refusals = {
        ("img2img", "the mask: not a PNG"): dict(init_images=[picture], mask=base64.b64encode(b"no").decode()),
        ("img2img", "inpainting_fill"): dict(init_images=[picture], mask=picture, inpainting_fill=9),
        ("img2img", "the init image: not a PNG"): dict(init_images=[base64.b64encode(b"not a picture").decode()]),
        ("img2img", "init_images"): dict(init_images=[]),
        ("img2img", "resize_mode"): dict(init_images=[picture], resize_mode=3),
        ("img2img", "denoising_strength"): dict(init_images=[picture], denoising_strength=2),
        ("txt2img", "R-ESRGAN 4x+"): dict(enable_hr=True, hr_upscaler="R-ESRGAN 4x+"),
        ("txt2img", "hires size 4096x4096"): dict(enable_hr=True, hr_scale=4, width=1024, height=1024),
        ("txt2img", "hr_sampler_name"): dict(enable_hr=True, hr_sampler_name="DDIM"),
        ("txt2img", "tiling"): dict(tiling=True),
    }
    for (route, named), body in refusals.items():
        reply = sdapi(gen_server, route, **(SMALL | body))
        assert reply.status_code == 400, (named, reply.text)
        assert named in reply.text, (named, reply.text)
    progress = requests.get(gen_server.api("/sdapi/v1/progress"), auth=("painter", PASSWORD), timeout=60).json()
    assert progress["state"]["job_count"] == 0


def rest_img2img(server, token: str, **body) -> requests.Response:
    return requests.post(server.api("/api/v1/img2img"), json=body, headers=bearer(token), timeout=120)


def test_rest_img2img_starts_from_a_picture_of_the_site_the_caller_may_see(gen_server):
    made = requests.post(gen_server.api("/api/v1/txt2img"), headers=bearer(gen_server.token), timeout=120,
                         json={"prompt": "a blue square", "steps": 2, "seed": 3, "width": 64, "height": 64,
                               "model_id": gen_server.checkpoint_id}).json()["images"][0]
    kept = rest_img2img(gen_server, gen_server.token, prompt="a blue square", init_image_id=made["id"], steps=2,
                        denoising_strength=0, model_id=gen_server.checkpoint_id)
    assert kept.status_code == 200, kept.text
    out = kept.json()["images"][0]
    assert (out["width"], out["height"]) == (64, 64)  # the init picture's size when none is given
    own = bearer(gen_server.token)  # both pictures are private to their maker
    source = Image.open(io.BytesIO(requests.get(made["url"], headers=own, timeout=60).content))
    copy = Image.open(io.BytesIO(requests.get(out["url"], headers=own, timeout=60).content))
    assert np.array_equal(pixels(source), pixels(copy))
    stranger = register(gen_server)
    refused = rest_img2img(gen_server, stranger["token"], prompt="x", init_image_id=made["id"], steps=2)
    assert refused.status_code == 404  # a private picture of someone else is not there for them
    neither = rest_img2img(gen_server, stranger["token"], prompt="x", steps=2)
    assert neither.status_code == 400 and "init_image" in neither.json()["error"]


def test_with_the_demo_model_denoising_one_ignores_the_init_picture(gen_server):
    def demo_img2img(color: str, strength: float) -> np.ndarray:
        reply = sdapi(gen_server, "img2img", prompt="a red circle on a blue background", steps=8, seed=21,
                      denoising_strength=strength, width=64, height=64, init_images=[b64(Image.new("RGB", (64, 64),
                                                                                               color))],
                      override_settings={"sd_model_checkpoint": DEMO_NAME})
        assert reply.status_code == 200, reply.text
        return pixels(Image.open(io.BytesIO(base64.b64decode(reply.json()["images"][0]))))

    white, black = demo_img2img("white", 0.0), demo_img2img("black", 0.0)
    assert np.abs(white - 255).max() == 0 and np.abs(black).max() == 0  # denoising 0: the init picture back
    apart_at_half = np.abs(demo_img2img("white", 0.5) - demo_img2img("black", 0.5)).mean()
    apart_at_one = np.abs(demo_img2img("white", 1.0) - demo_img2img("black", 1.0)).mean()
    assert apart_at_one < 0.25 * apart_at_half  # at 1.0 the picture comes from the prompt, not the init picture


def test_webuiapi_inpaints_the_left_half_of_a_demo_picture_and_leaves_the_right_half(gen_server):
    api = webuiapi.WebUIApi(host="127.0.0.1", port=gen_server.port)
    api.set_auth("painter", PASSWORD)
    picture = Image.new("RGB", (64, 64), "navy")
    picture.paste((250, 220, 40), (8, 8, 56, 56))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    for only_masked in (True, False):
        runs = [api.img2img(images=[picture], mask_image=mask, prompt="a red circle on a blue background", seed=3,
                            steps=8, width=64, height=64, denoising_strength=0.9, mask_blur=2,
                            inpaint_full_res=only_masked, inpaint_full_res_padding=8, inpainting_fill=1,
                            override_settings={"sd_model_checkpoint": DEMO_NAME}) for _ in range(2)]
        made, original = pixels(runs[0].image), pixels(picture)
        assert np.array_equal(made, pixels(runs[1].image))  # deterministic for a fixed seed
        assert np.abs(made[:, 40:] - original[:, 40:]).max() == 0  # outside the mask (and its blur): untouched
        assert np.abs(made[:, :24] - original[:, :24]).mean() > 10  # inside: repainted
        read = api.png_info(runs[0].image).parameters
        assert read["Mask blur"] == "2" and read["Denoising strength"] == "0.9"
        assert ("Inpaint area" in read) == only_masked
