"""img2img and hires fix in the Generate tab, in headless Chromium, English and 简体中文: a result sent to img2img,
a picture from PNG Info and from an image page sent there, and a hires run; on the tiny checkpoint (``gen_server``)."""

from __future__ import annotations

import re

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from tests.browser import chromium, screenshot
from tests.conftest import bearer, register
from tests.test_ui_generate import TIMEOUT_MS, has_text, output_pngs, set_number, textbox
from ui.i18n import text

LOCALES = {"en": "en-US", "zh": "zh-CN"}


def open_generate(browser, server, token: str, lang: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale=LOCALES[lang])
    context.add_cookies([{"name": "visionary_session", "value": token, "url": server.url}])
    page = context.new_page()
    page.goto(server.url)
    page.get_by_role("tab", name=text("tab.generate", lang), exact=True).click()
    expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile("tiny_sd15"), timeout=60_000)
    return page


def small_settings(page, steps: int = 2) -> None:
    """Small and quick, on the checkpoint the page chose (tiny_sd15, waited for by ``open_generate``; choosing it
    again would set its native size back, maybe after these numbers were typed)."""
    for elem_id, value in (("generate-width", 64), ("generate-height", 64), ("generate-steps", steps)):
        set_number(page, elem_id, value)


def img2img_mode(page, lang: str):
    return page.locator("#generate-mode").get_by_text(text("generate.mode.img2img", lang), exact=True)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_result_sent_to_img2img_is_varied_with_its_settings(gen_server, lang):
    account = register(gen_server)
    with chromium() as browser:
        page = open_generate(browser, gen_server, account["token"], lang)
        small_settings(page)
        textbox(page, "generate-prompt").fill("a red circle")
        page.locator("#generate-seed input").fill("31")
        page.locator("#generate-button").click()
        info = textbox(page, "generate-info")
        expect(info).to_have_value(has_text("Seed: 31, Size: 64x64"), timeout=TIMEOUT_MS)

        page.locator("#generate-send-img2img").click()  # A1111's "Send to img2img"
        expect(page.locator("#generate-mode input[value=img2img]")).to_be_checked(timeout=30_000)
        expect(page.locator("#generate-init-image .pixi-target canvas").first).to_be_visible(timeout=30_000)
        expect(page.locator("#generate-hires")).to_be_hidden()
        set_number(page, "generate-denoising", 0.5)
        textbox(page, "generate-prompt").fill("a red circle, detailed")
        page.locator("#generate-button").click()
        expect(info).to_have_value(has_text("Denoising strength: 0.5"), timeout=TIMEOUT_MS)
        expect(info).to_have_value(has_text("a red circle, detailed"))
        screenshot(page, f"img2img-{lang}")


def test_png_info_and_an_image_page_send_their_picture_to_img2img(gen_server, tmp_path):
    account = register(gen_server)
    made = requests.post(gen_server.api("/api/v1/txt2img"), headers=bearer(account["token"]), timeout=300,
                         json={"model_id": gen_server.checkpoint_id, "prompt": "a green triangle", "steps": 2,
                               "width": 64, "height": 64, "seed": 5}).json()["images"][0]
    plain = tmp_path / "plain.png"
    Image.new("RGB", (96, 64), "purple").save(plain)  # no parameters: the picture alone goes
    with chromium() as browser:
        page = open_generate(browser, gen_server, account["token"], "en")
        page.get_by_role("tab", name="PNG Info").click()
        page.locator("#pnginfo-image input[type=file]").set_input_files(str(plain))
        page.locator("#pnginfo-send-img2img").click()
        expect(page.get_by_role("tab", name="Generate")).to_have_attribute("aria-selected", "true", timeout=30_000)
        expect(page.locator("#generate-mode input[value=img2img]")).to_be_checked(timeout=30_000)
        expect(page.locator("#generate-init-image .pixi-target canvas").first).to_be_visible(timeout=30_000)

        page.goto(f"{gen_server.url}/?tab=gallery&image={made['id']}")
        expect(page.locator("#image-parameters textarea")).to_have_value(has_text("a green triangle"),
                                                                         timeout=60_000)
        page.locator("#image-send-img2img").click()
        expect(page.locator("#generate-mode input[value=img2img]")).to_be_checked(timeout=30_000)
        expect(textbox(page, "generate-prompt")).to_have_value("a green triangle", timeout=30_000)
        expect(page.locator("#generate-init-image .pixi-target canvas").first).to_be_visible(timeout=30_000)
        before = set(output_pngs(gen_server))
        set_number(page, "generate-denoising", 0)
        page.locator("#generate-button").click()  # denoising 0: the picture comes back as it was
        expect(textbox(page, "generate-info")).to_have_value(has_text("Denoising strength: 0"), timeout=TIMEOUT_MS)
        (saved,) = set(output_pngs(gen_server)) - before
        source = gen_server.outputs_dir / made["url"].split("/media/", 1)[1]
        assert list(Image.open(saved).convert("RGB").getdata()) == list(Image.open(source).convert("RGB").getdata())


def test_img2img_without_a_picture_is_refused_and_hires_fix_doubles_the_size(gen_server):
    account = register(gen_server)
    before = set(output_pngs(gen_server))
    with chromium() as browser:
        page = open_generate(browser, gen_server, account["token"], "zh")
        small_settings(page)
        textbox(page, "generate-prompt").fill("a blue square")
        img2img_mode(page, "zh").click()
        page.locator("#generate-button").click()
        expect(page.get_by_text(text("error.img2img_needs_picture", "zh"))).to_be_visible(timeout=60_000)
        assert set(output_pngs(gen_server)) == before

        page.locator("#generate-mode").get_by_text(text("generate.mode.txt2img", "zh"), exact=True).click()
        page.locator("#generate-hires").get_by_text(text("generate.hires", "zh")).click()
        page.locator("#generate-hires-enable input").check()
        set_number(page, "generate-hires-steps", 1)
        page.locator("#generate-button").click()
        info = textbox(page, "generate-info")
        expect(info).to_have_value(has_text("Hires upscale: 2, Hires steps: 1, Hires upscaler: Latent"),
                                   timeout=TIMEOUT_MS)
        (saved,) = set(output_pngs(gen_server)) - before
        assert Image.open(saved).size == (128, 128)
        screenshot(page, "hires-zh")


def paint_left_half(page) -> None:
    """Choose the brush and paint a zigzag over the left part of the picture, which the editor shows centred and
    about as tall as its canvas."""
    page.locator("#generate-init-image button[aria-label=Brush]").click()
    box = page.locator("#generate-init-image .pixi-target canvas").first.bounding_box()
    middle_x, middle_y, half = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["height"] * 0.4
    page.mouse.move(middle_x - half * 0.9, middle_y - half * 0.9)
    page.mouse.down()
    for step in range(10):
        x = middle_x - half * (0.9 if step % 2 else 0.3)
        page.mouse.move(x, middle_y - half * 0.9 + step * half * 0.2, steps=6)
    page.mouse.up()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_mask_painted_in_the_browser_repaints_only_there(gen_server, lang):
    account = register(gen_server)
    made = requests.post(gen_server.api("/api/v1/txt2img"), headers=bearer(account["token"]), timeout=300,
                         json={"model_id": gen_server.checkpoint_id, "prompt": "a castle", "steps": 2,
                               "width": 128, "height": 128, "seed": 9}).json()["images"][0]
    with chromium() as browser:
        page = open_generate(browser, gen_server, account["token"], lang)
        page.goto(f"{gen_server.url}/?tab=gallery&image={made['id']}")
        page.locator("#image-send-img2img").click()
        expect(page.locator("#generate-init-image .pixi-target canvas").first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)  # the editor draws the picture, then takes strokes
        paint_left_half(page)
        page.locator("#generate-inpaint").get_by_text(text("generate.inpaint", lang)).click()
        page.locator("#generate-inpaint-area").get_by_text(text("generate.inpaint_area.masked", lang)).click()
        set_number(page, "generate-denoising", 0.9)
        set_number(page, "generate-steps", 2)
        before = set(output_pngs(gen_server))
        page.locator("#generate-button").click()
        info = textbox(page, "generate-info")
        expect(info).to_have_value(has_text("Mask blur: 4"), timeout=TIMEOUT_MS)
        expect(info).to_have_value(has_text("Inpaint area: Only masked"))
        screenshot(page, f"inpaint-{lang}")
        (saved,) = set(output_pngs(gen_server)) - before
    source = Image.open(gen_server.outputs_dir / made["url"].split("/media/", 1)[1]).convert("RGB")
    result = Image.open(saved).convert("RGB")
    import numpy as np

    difference = np.abs(np.asarray(result, dtype=np.int16) - np.asarray(source, dtype=np.int16)).sum(axis=2)
    assert difference[:, :40].max() > 0  # painted over: repainted
    assert difference[:, 100:].max() == 0  # never painted: the picture as it was
