"""The Generate and PNG Info tabs in headless Chromium and through gradio_client, on a live app
with the tiny checkpoint and LoRA dropped into models_dir (the ``gen_server`` fixture)."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest
import requests
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image as PILImage
from playwright.sync_api import expect

from core.generation.pnginfo import png_bytes
from tests import sample_files
from tests.browser import chromium, screenshot
from tests.conftest import bearer, register

TIMEOUT_MS = 180_000
A1111_TEXT = ("masterpiece, a cat\nNegative prompt: lowres\nSteps: 28, Sampler: DPM++ 2M, Schedule type: Karras, "
              "CFG scale: 6.5, Seed: 1234567, Size: 512x768, Model hash: 0123456789, Model: someones_model")


# --------------------------------------------------------------------------- helpers
def output_pngs(server) -> list:
    return sorted(server.outputs_dir.rglob("*.png"))


def image_rows(server) -> int:
    with sqlite3.connect(server.db_path) as db:
        return db.execute("SELECT COUNT(*) FROM image").fetchone()[0]


def open_page(browser, server, token: str | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if token:
        context.add_cookies([{"name": "visionary_session", "value": token, "url": server.url}])
    page = context.new_page()
    page.goto(server.url)
    expect(page.locator("#whoami")).to_contain_text("Logged in as" if token else "Not logged in", timeout=60_000)
    page.get_by_role("tab", name="Generate").click()
    # The page-load event fills the library choices (and the checkpoint's size).
    expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile("tiny_sd15"), timeout=60_000)
    return page


def choose(page, elem_id: str, option: str | re.Pattern) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).click()


def set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value))


def textbox(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea")


def has_text(part: str) -> re.Pattern:
    return re.compile(re.escape(part))


def upload_lora(server, token: str, folder, name: str) -> None:
    path = sample_files.kohya_lora(folder / f"{name}.safetensors", seed=7)
    with open(path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), headers=bearer(token), files={"file": (path.name, handle)},
                              data={"name": name, "type": "lora", "visibility": "private"}, timeout=60)
    assert reply.status_code == 201, reply.text


def generate_over_rest(server, results: list, **fields) -> None:
    body = {"model_id": server.checkpoint_id, "prompt": "a blocking job", "width": 64, "height": 64,
            "steps": 60} | fields
    results.append(requests.post(server.api("/api/v1/txt2img"), headers=bearer(server.token), json=body,
                                 timeout=600))


# --------------------------------------------------------------------------- browser
def test_generate_then_png_info_and_send_back(gen_server, tmp_path):  # noqa: F811
    account = register(gen_server)
    before = set(output_pngs(gen_server))
    with chromium() as browser:
        page = open_page(browser, gen_server, account["token"])
        choose(page, "generate-checkpoint", re.compile("tiny_sd15"))
        textbox(page, "generate-prompt").fill("a red circle")
        upload_lora(gen_server, account["token"], tmp_path, "fresh_style")  # the library changes...
        page.locator("#generate-refresh").click()  # ...and Refresh shows it (private: only to its owner)
        page.locator("#generate-lora input").click()
        expect(page.get_by_role("option", name="fresh_style")).to_be_visible(timeout=30_000)
        page.get_by_role("option", name="tiny_style").click()
        expect(textbox(page, "generate-prompt")).to_have_value("a red circle <lora:tiny_style:1>")
        textbox(page, "generate-negative-prompt").fill("blurry")
        for elem_id, value in (("generate-width", 64), ("generate-height", 64), ("generate-steps", 12)):
            set_number(page, elem_id, value)
        page.locator("#generate-seed input").fill("4321")
        textbox(page, "generate-prompt").press("Control+Enter")  # A1111's shortcut

        progress = page.locator("#generate-gallery [role=progressbar]")
        expect(progress).to_be_visible(timeout=TIMEOUT_MS)
        screenshot(page, "generate-progress")
        image = page.locator("#generate-gallery img").first
        expect(image).to_be_visible(timeout=TIMEOUT_MS)
        info = textbox(page, "generate-info")
        expect(info).to_have_value(has_text("Seed: 4321, Size: 64x64"), timeout=30_000)
        expect(info).to_have_value(has_text("Negative prompt: blurry"))
        expect(info).to_have_value(has_text("Lora hashes"))
        screenshot(page, "generate-result")

        (saved,) = set(output_pngs(gen_server)) - before
        # The gallery serves the saved file byte for byte (parameters chunk included): one-click download.
        served = page.request.get(image.get_attribute("src"))
        assert served.ok and served.body() == saved.read_bytes()

        # PNG Info reads it back; "Send to Generate" fills the form.
        textbox(page, "generate-prompt").fill("something else")
        set_number(page, "generate-steps", 30)
        page.get_by_role("tab", name="PNG Info").click()
        page.locator("#pnginfo-image input[type=file]").set_input_files(str(saved))
        parameters = textbox(page, "pnginfo-parameters")
        expect(parameters).to_have_value(has_text("a red circle <lora:tiny_style:1>"), timeout=60_000)
        expect(parameters).to_have_value(has_text("Steps: 12, Sampler: Euler a, CFG scale: 7, Seed: 4321, Size: 64x64"))
        screenshot(page, "pnginfo")
        page.locator("#pnginfo-send").click()
        expect(page.get_by_role("tab", name="Generate")).to_have_attribute("aria-selected", "true", timeout=30_000)
        expect(textbox(page, "generate-prompt")).to_have_value("a red circle <lora:tiny_style:1>", timeout=30_000)
        expect(textbox(page, "generate-negative-prompt")).to_have_value("blurry")
        expect(page.locator("#generate-steps input[type=number]")).to_have_value("12")
        expect(page.locator("#generate-width input[type=number]")).to_have_value("64")
        expect(page.locator("#generate-seed input")).to_have_value("4321")
        expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile("tiny_sd15"))
        screenshot(page, "generate-sent-back")


def test_a1111_image_fills_generate_and_keeps_an_unknown_checkpoint(gen_server, tmp_path):  # noqa: F811
    account = register(gen_server)
    foreign = tmp_path / "from_a1111.png"
    foreign.write_bytes(png_bytes(PILImage.new("RGB", (64, 96), "red"), A1111_TEXT))
    with chromium() as browser:
        page = open_page(browser, gen_server, account["token"])
        page.get_by_role("tab", name="PNG Info").click()
        page.locator("#pnginfo-image input[type=file]").set_input_files(str(foreign))
        expect(textbox(page, "pnginfo-parameters")).to_have_value(A1111_TEXT, timeout=60_000)
        page.locator("#pnginfo-send").click()
        expect(page.get_by_text("someones_model [0123456789] is not in the library")).to_be_visible(timeout=30_000)
        expect(textbox(page, "generate-prompt")).to_have_value("masterpiece, a cat")
        expect(page.locator("#generate-sampler input")).to_have_value("DPM++ 2M")
        expect(page.locator("#generate-schedule-type input")).to_have_value("Karras")
        expect(page.locator("#generate-cfg-scale input[type=number]")).to_have_value("6.5")
        expect(page.locator("#generate-height input[type=number]")).to_have_value("768")
        expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile("tiny_sd15"))  # kept
        screenshot(page, "generate-from-a1111")


def test_waiting_job_shows_its_position_and_cancels(gen_server):  # noqa: F811
    account = register(gen_server)
    blocking: list = []
    with chromium() as browser:
        page = open_page(browser, gen_server, account["token"])
        for elem_id, value in (("generate-width", 64), ("generate-height", 64), ("generate-steps", 2)):
            set_number(page, elem_id, value)
        textbox(page, "generate-prompt").fill("waits its turn")
        # Another user's long job holds the one generation slot (long enough even with the model already cached).
        worker = threading.Thread(target=generate_over_rest, args=(gen_server, blocking),
                                  kwargs={"steps": 150, "batch_size": 8})
        worker.start()
        time.sleep(2)
        page.locator("#generate-button").click()
        expect(page.locator("#generate-gallery [role=progressbar]")).to_have_attribute(
            "aria-label", "waiting, position 1", timeout=60_000)
        screenshot(page, "generate-waiting")
        page.locator("#generate-cancel").click()
        expect(page.get_by_text("Generation cancelled")).to_be_visible(timeout=60_000)
        worker.join()
    assert blocking[0].status_code == 200, blocking[0].text  # the other user's job was not touched
    with sqlite3.connect(gen_server.db_path) as db:
        mine = db.execute("SELECT COUNT(*) FROM image WHERE owner_id = ?", (account["user"]["id"],)).fetchone()[0]
    assert mine == 0


def test_visitor_is_told_to_log_in_and_nothing_is_made(gen_server):  # noqa: F811
    files, rows = output_pngs(gen_server), image_rows(gen_server)
    with chromium() as browser:
        page = open_page(browser, gen_server)
        textbox(page, "generate-prompt").fill("a visitor's try")
        page.locator("#generate-button").click()
        expect(page.get_by_text("log in to generate images")).to_be_visible(timeout=60_000)
        screenshot(page, "generate-visitor")
    assert output_pngs(gen_server) == files
    assert image_rows(gen_server) == rows


# --------------------------------------------------------------------------- gradio_client
def call_txt2img(server, headers: dict, tmp_path):
    client = Client(server.url, analytics_enabled=False, verbose=False, headers=headers,
                    download_files=str(tmp_path))
    return client.predict("a blue square", "", server.checkpoint_id, 0, "Euler", "automatic", 3, 64, 64, 7, 99, 1,
                          api_name="/txt2img")


def test_gradio_client_needs_the_session_cookie(gen_server, tmp_path):  # noqa: F811
    files, rows = output_pngs(gen_server), image_rows(gen_server)
    with pytest.raises(AppError, match="log in to generate"):
        call_txt2img(gen_server, {}, tmp_path)
    assert (output_pngs(gen_server), image_rows(gen_server)) == (files, rows)

    gallery, info = call_txt2img(gen_server, {"Cookie": f"visionary_session={gen_server.token}"}, tmp_path)
    assert info.startswith("a blue square\nSteps: 3, Sampler: Euler, CFG scale: 7, Seed: 99, Size: 64x64")
    assert len(gallery) == 1 and gallery[0]["caption"] == "seed 99"
    assert len(output_pngs(gen_server)) == len(files) + 1 and image_rows(gen_server) == rows + 1


def test_last_used_settings_come_back_on_the_next_visit(gen_server):  # noqa: F811
    account = register(gen_server)
    reply = requests.post(gen_server.api("/api/v1/txt2img"), headers=bearer(account["token"]), timeout=300, json={
        "model_id": gen_server.checkpoint_id, "prompt": "remember these settings", "negative_prompt": "noise",
        "width": 64, "height": 64, "steps": 3, "cfg_scale": 5.5, "sampler_name": "DDIM", "seed": 7})
    assert reply.status_code == 200, reply.text
    with chromium() as browser:
        page = open_page(browser, gen_server, account["token"])
        expect(textbox(page, "generate-prompt")).to_have_value("remember these settings", timeout=60_000)
        expect(textbox(page, "generate-negative-prompt")).to_have_value("noise")
        expect(page.locator("#generate-steps input").first).to_have_value("3")
        expect(page.locator("#generate-sampler input")).to_have_value("DDIM")
        expect(page.locator("#generate-seed input")).to_have_value("-1")
