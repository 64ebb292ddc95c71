"""Upscalers as A1111 users know them: ESRGAN-family models dropped into ``ESRGAN/`` or ``RealESRGAN/`` (or
uploaded) are a library type of their own, run tile by tile, and upscale pictures through the Extras service:
``/sdapi/v1/extra-single-image`` and ``extra-batch-images`` (the unmodified webuiapi client), ``/api/v1/upscale``
and the listings A1111 clients read. Real random-weight networks throughout, on a live app."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pytest
import requests
import torch
import webuiapi
from PIL import Image

from core.generation.upscaler_nets import UpscalerDoesNotLoad, load_upscaler
from core.generation.upscaling import UpscaleSize, run_tiled, upscale
from core.library.model_kind import detect_model
from core.library.pickle_import import convert_pickle_to_safetensors
from core.pipeline import safetensors_shapes
from tests.conftest import PASSWORD, bearer, tiny_checkpoint_site
from tests.live_server import ROOT, LiveServer
from tests.tiny_models import save_tiny_upscaler


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def as_array(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGB"), dtype=np.int16)


def png(picture: Image.Image, parameters: str | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if parameters:
        info.add_text("parameters", parameters)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the networks
@pytest.mark.parametrize("arch, scale", [("rrdb", 4), ("rrdb", 2), ("rrdb", 1), ("esrgan", 4), ("compact", 4),
                                         ("compact", 2)])
def test_each_layout_is_typed_an_upscaler_and_tiles_give_the_whole_picture(tmp_path, arch, scale):
    path = save_tiny_upscaler(tmp_path / f"{arch}{scale}.safetensors", arch, scale)
    assert detect_model(safetensors_shapes(path)) == ("upscaler", "Other")
    net = load_upscaler(path)
    picture = noise(90, 70)
    whole = run_tiled(net, picture, tile=4096)
    assert whole.size == (90 * scale, 70 * scale)
    tiled = run_tiled(net, picture, tile=32)  # 9 tiles, each with its border of neighbours
    assert np.abs(as_array(tiled) - as_array(whole)).max() <= 1  # no seams


def test_the_original_esrgan_layout_is_the_same_network(tmp_path):
    real_esrgan = load_upscaler(save_tiny_upscaler(tmp_path / "a.safetensors", "rrdb", seed=3))
    esrgan = load_upscaler(save_tiny_upscaler(tmp_path / "b.safetensors", "esrgan", seed=3))
    picture = noise(40, 30)
    assert np.array_equal(as_array(run_tiled(esrgan, picture)), as_array(run_tiled(real_esrgan, picture)))


def test_a_real_esrgan_pth_goes_through_the_pickle_sandbox_and_loads(tmp_path):
    """Real-ESRGAN publishes ``.pth`` files holding ``{"params_ema": state_dict}``."""
    weights = {key: value for key, value in
               load_upscaler(save_tiny_upscaler(tmp_path / "x.safetensors")).module.state_dict().items()}
    torch.save({"params_ema": weights}, tmp_path / "RealESRGAN_x4plus.pth")
    convert_pickle_to_safetensors(tmp_path / "RealESRGAN_x4plus.pth", tmp_path / "converted.safetensors")
    assert detect_model(safetensors_shapes(tmp_path / "converted.safetensors"))[0] == "upscaler"
    assert load_upscaler(tmp_path / "converted.safetensors").scale == 4


def test_a_2048_picture_is_upscaled_tile_by_tile_in_bounded_memory(tmp_path):
    """Peak memory of a fresh process upscaling 2048² to 4096², tiled (192-pixel tiles, the default) and as one
    tile: the tiled pass holds the picture and its result, not the network's features over the whole picture."""
    model = save_tiny_upscaler(tmp_path / "x2.safetensors", "compact", 2, features=4)
    script = (
        "import resource, sys, numpy as np; from PIL import Image\n"
        "from core.generation.upscaler_nets import load_upscaler\n"
        "from core.generation.upscaling import run_tiled\n"
        "net = load_upscaler(sys.argv[1])\n"
        "picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (2048, 2048, 3), dtype=np.uint8))\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "out = run_tiled(net, picture, tile=int(sys.argv[2]))\n"
        "print(out.size, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")

    def peak_growth_mb(tile: int) -> int:
        done = subprocess.run([sys.executable, "-c", script, str(model), str(tile)], capture_output=True, text=True,
                              cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stderr
        size, growth = done.stdout.rsplit(" ", 1)
        assert size == "(4096, 4096)"
        return int(growth)

    tiled, whole = peak_growth_mb(192), peak_growth_mb(4096)
    assert tiled < 300  # the 8-bit result (48 MB) and the float input (48 MB), with room for the allocator
    assert whole > 2 * tiled  # one tile over the whole picture: the features of every pixel at once


def test_a_file_that_is_no_upscaler_is_refused_by_name(tmp_path):
    from safetensors.torch import save_file

    save_file({"some.weight": torch.zeros(3, 3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(UpscalerDoesNotLoad, match="other.safetensors: not an ESRGAN"):
        load_upscaler(tmp_path / "other.safetensors")


def test_a_model_runs_until_the_target_is_reached_then_lanczos_gives_the_exact_size(tmp_path):
    net = load_upscaler(save_tiny_upscaler(tmp_path / "x2.safetensors", "rrdb", 2))
    assert upscale(noise(20, 10), UpscaleSize(150, 75), net=net).size == (150, 75)  # 2x three times, then down
    cropped = upscale(noise(20, 10), UpscaleSize(60, 60, crop=True), net=net)
    assert cropped.size == (60, 60)
    assert upscale(noise(20, 10), UpscaleSize(40, 20), method="None").size == (20, 10)  # A1111: None does nothing


# --------------------------------------------------------------------------- through the app
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app with the tiny checkpoint and an upscaler in each of A1111's upscaler folders."""

    def add_upscalers(live, tiny):
        save_tiny_upscaler(live.models_dir / "ESRGAN" / "4x-Tiny.safetensors", "esrgan")
        save_tiny_upscaler(live.models_dir / "RealESRGAN" / "tiny-compact-x2.safetensors", "compact", 2, seed=1)

    live = tiny_checkpoint_site(tmp_path_factory, add_upscalers, expected_models=3)
    yield live
    live.stop()


def client(server) -> webuiapi.WebUIApi:
    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port)
    api.set_auth("painter", PASSWORD)
    return api


def test_the_folders_models_are_listed_as_a1111_lists_upscalers(site):
    listed = requests.get(site.api("/api/v1/models"), params={"types": "Upscaler"}).json()["items"]
    assert sorted(item["name"] for item in listed) == ["4x-Tiny", "tiny-compact-x2"]
    assert {item["type"] for item in listed} == {"Upscaler"}
    upscalers = {entry["name"]: entry for entry in requests.get(site.api("/sdapi/v1/upscalers")).json()}
    assert list(upscalers)[:3] == ["None", "Lanczos", "Nearest"]
    assert upscalers["4x-Tiny"]["scale"] == 4 and upscalers["4x-Tiny"]["model_path"] == "ESRGAN/4x-Tiny.safetensors"
    assert upscalers["tiny-compact-x2"]["scale"] == 2
    realesrgan = requests.get(site.api("/sdapi/v1/realesrgan-models")).json()
    assert realesrgan == [{"name": "tiny-compact-x2", "path": "RealESRGAN/tiny-compact-x2.safetensors", "scale": 2}]
    for empty in ("face-restorers", "hypernetworks", "prompt-styles"):
        assert requests.get(site.api(f"/sdapi/v1/{empty}")).json() == []


def test_extra_single_image_upscales_with_the_model_and_keeps_the_pictures_parameters(site):
    source = Image.open(io.BytesIO(png(noise(48, 32), "a red circle\nSteps: 2, Seed: 5")))
    model = client(site).extra_single_image(source, upscaler_1="4x-Tiny", upscaling_resize=2)
    lanczos = client(site).extra_single_image(source, upscaler_1="Lanczos", upscaling_resize=2)
    assert model.image.size == lanczos.image.size == (96, 64)
    assert np.abs(as_array(model.image) - as_array(lanczos.image)).max() > 0
    assert model.image.info["parameters"] == "a red circle\nSteps: 2, Seed: 5"
    assert "Postprocess upscaler: 4x-Tiny" in model.info
    again = client(site).extra_single_image(source, upscaler_1="4x-Tiny", upscaling_resize=2)
    assert np.array_equal(as_array(again.image), as_array(model.image))  # deterministic
    assert client(site).png_info(model.image).info == "a red circle\nSteps: 2, Seed: 5"  # round-trips
    assert "4x-Tiny" in [upscaler["name"] for upscaler in client(site).get_upscalers()]


def test_extra_batch_images_blends_a_second_upscaler_and_scales_to_a_size(site):
    pictures = [noise(40, 40, seed) for seed in (1, 2)]
    result = client(site).extra_batch_images(pictures, resize_mode=1, upscaling_resize_w=100, upscaling_resize_h=50,
                                             upscaling_crop=True, upscaler_1="tiny-compact-x2", upscaler_2="Nearest",
                                             extras_upscaler_2_visibility=0.5)
    assert [image.size for image in result.images] == [(100, 50), (100, 50)]
    alone = client(site).extra_batch_images(pictures[:1], resize_mode=1, upscaling_resize_w=100,
                                            upscaling_resize_h=50, upscaler_1="tiny-compact-x2")
    assert np.abs(as_array(result.images[0]) - as_array(alone.images[0])).max() > 0  # the blend counted


def test_what_cannot_be_honoured_is_a_400_or_404_naming_it(site):
    auth = ("painter", PASSWORD)
    image = base64.b64encode(png(noise(16, 16))).decode()
    reply = requests.post(site.api("/sdapi/v1/extra-single-image"), auth=auth,
                          json={"image": image, "upscaler_1": "4x-Missing"}, timeout=60)
    assert reply.status_code == 404 and "4x-Tiny" in reply.json()["detail"]  # the choices are named
    reply = requests.post(site.api("/sdapi/v1/extra-single-image"), auth=auth,
                          json={"image": image, "upscaler_1": "Lanczos", "codeformer_visibility": 0.5}, timeout=60)
    assert reply.status_code == 400 and "codeformer_visibility" in reply.json()["detail"]
    reply = requests.post(site.api("/api/v1/upscale"), headers=bearer(site.token),
                          json={"image": image, "upscaler": "Lanczos", "scale": 64}, timeout=60)
    assert reply.status_code == 400 and "between 1 and 8" in reply.json()["error"]
    assert requests.post(site.api("/api/v1/upscale"), json={"image": image, "upscaler": "Lanczos"},
                         timeout=60).status_code == 401


def test_a_pth_upscaler_is_refused_by_default_and_converted_with_allow_pickle_import(site, tmp_path):
    weights = load_upscaler(save_tiny_upscaler(tmp_path / "x.safetensors", seed=5)).module.state_dict()
    pth = tmp_path / "4x-Pickled.pth"
    torch.save({"params_ema": weights}, pth)

    def upload(server):
        with open(pth, "rb") as handle:
            return requests.post(server.api("/api/v1/models"), headers=bearer(server.token), timeout=120,
                                 files={"file": (pth.name, handle)})

    refused = upload(site)
    assert refused.status_code == 400 and "pickle" in refused.json()["error"]
    opted_in = LiveServer(tmp_path / "site", args=["--allow-pickle-import"]).start()
    try:
        opted_in.token = requests.post(opted_in.api("/api/v1/auth/register"),
                                       json={"username": "trainer", "password": PASSWORD}).json()["token"]
        model = upload(opted_in)
        assert model.status_code == 201, model.text
        assert model.json()["type"] == "Upscaler"
        image = base64.b64encode(png(noise(16, 16))).decode()
        reply = requests.post(opted_in.api("/api/v1/upscale"), headers=bearer(opted_in.token), timeout=300,
                              json={"image": image, "upscaler": "4x-Pickled", "scale": 4})
        assert reply.status_code == 200, reply.text
        assert (reply.json()["width"], reply.json()["height"]) == (64, 64)
    finally:
        opted_in.stop()


def test_rest_upscale_takes_a_generated_picture_by_id(site):
    made = requests.post(site.api("/api/v1/txt2img"), headers=bearer(site.token), timeout=300,
                         json={"prompt": "a red circle", "steps": 2, "width": 64, "height": 64, "seed": 4}).json()
    image = made["images"][0]
    reply = requests.post(site.api("/api/v1/upscale"), headers=bearer(site.token), timeout=300,
                          json={"image_id": image["id"], "upscaler": "4x-Tiny", "scale": 4})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["width"], body["height"]) == (256, 256)
    upscaled = Image.open(io.BytesIO(base64.b64decode(body["image"])))
    assert upscaled.size == (256, 256) and "Seed: 4" in upscaled.info["parameters"]


def test_hires_fix_upscales_its_first_pass_with_a_library_model(site):
    api = client(site)
    api.util_set_model(next(t for t in api.util_get_model_names() if t.startswith("tiny_sd15")), find_closest=False)
    small = dict(prompt="a red circle", steps=2, width=64, height=64, seed=9, enable_hr=True, hr_scale=2,
                 hr_second_pass_steps=2, denoising_strength=0.5)
    with_model = api.txt2img(hr_upscaler="4x-Tiny", **small)
    with_lanczos = api.txt2img(hr_upscaler="Lanczos", **small)
    assert with_model.image.size == with_lanczos.image.size == (128, 128)
    assert np.abs(as_array(with_model.image) - as_array(with_lanczos.image)).max() > 0
    assert "Hires upscaler: 4x-Tiny" in with_model.info["infotexts"][0]
    reply = requests.post(site.api("/sdapi/v1/txt2img"), auth=("painter", PASSWORD), timeout=60,
                          json={**small, "hr_upscaler": "8x-Missing"})
    assert reply.status_code == 400 and "Latent, " in reply.json()["detail"] and "4x-Tiny" in reply.json()["detail"]


# --------------------------------------------------------------------------- the Extras tab
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_extras_tab_upscales_a_dropped_picture_with_a_library_model(site, tmp_path, lang):
    from playwright.sync_api import expect

    from tests.browser import chromium, screenshot
    from tests.test_ui_generate import TIMEOUT_MS, choose, set_number
    from tests.test_ui_img2img import LOCALES
    from ui.i18n import text

    source = tmp_path / "source.png"
    source.write_bytes(png(noise(48, 32), "a red circle\nSteps: 2, Seed: 5"))
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale=LOCALES[lang])
        context.add_cookies([{"name": "visionary_session", "value": site.token, "url": site.url}])
        page = context.new_page()
        page.goto(site.url)
        page.get_by_role("tab", name=text("tab.extras", lang), exact=True).click()
        page.locator("#extras-image input[type=file]").set_input_files(str(source))
        set_number(page, "extras-scale", 2)
        choose(page, "extras-upscaler-1", "4x-Tiny")
        page.locator("#extras-upscale").click()
        expect(page.locator("#extras-info")).to_contain_text("96×64", timeout=TIMEOUT_MS)
        expect(page.locator("#extras-info")).to_contain_text("Postprocess upscaler: 4x-Tiny")
        shown = page.locator("#extras-result img").get_attribute("src")
        upscaled = Image.open(io.BytesIO(page.request.get(shown).body()))
        assert upscaled.size == (96, 64) and upscaled.info["parameters"] == "a red circle\nSteps: 2, Seed: 5"
        screenshot(page, f"extras-{lang}")


def test_send_to_extras_from_png_info_an_image_page_and_a_generate_result(site, tmp_path):
    from playwright.sync_api import expect

    from tests.browser import chromium
    from tests.test_ui_generate import TIMEOUT_MS, choose, set_number

    made = requests.post(site.api("/api/v1/txt2img"), headers=bearer(site.token), timeout=300,
                         json={"prompt": "a green triangle", "steps": 2, "width": 64, "height": 64,
                               "seed": 6}).json()["images"][0]
    dropped = tmp_path / "dropped.png"
    noise(40, 24).save(dropped)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        context.add_cookies([{"name": "visionary_session", "value": site.token, "url": site.url}])
        page = context.new_page()

        def upscaled_by_two(width: int, height: int) -> None:
            expect(page.locator("#tab-extras-button").first).to_have_attribute("aria-selected", "true", timeout=30_000)
            expect(page.locator("#extras-image img")).to_be_visible(timeout=30_000)
            set_number(page, "extras-scale", 2)
            choose(page, "extras-upscaler-1", "Lanczos")
            page.locator("#extras-upscale").click()
            expect(page.locator("#extras-info")).to_contain_text(f"{2 * width}×{2 * height}", timeout=TIMEOUT_MS)

        page.goto(site.url)
        page.get_by_role("tab", name="PNG Info").click()
        page.locator("#pnginfo-image input[type=file]").set_input_files(str(dropped))
        page.locator("#pnginfo-send-extras").click()
        upscaled_by_two(40, 24)

        page.goto(f"{site.url}/?tab=gallery&image={made['id']}")
        expect(page.locator("#image-parameters textarea")).to_have_value(re.compile("a green triangle"), timeout=60_000)
        page.locator("#image-send-extras").click()
        upscaled_by_two(64, 64)

        page.get_by_role("tab", name="Generate").click()
        page.locator("#generate-prompt textarea").fill("a blue square")
        for elem_id, value in (("generate-width", 64), ("generate-height", 64), ("generate-steps", 2)):
            set_number(page, elem_id, value)
        page.locator("#generate-button").click()
        expect(page.locator("#generate-gallery img").first).to_be_visible(timeout=TIMEOUT_MS)
        page.locator("#generate-send-extras").click()
        upscaled_by_two(64, 64)
