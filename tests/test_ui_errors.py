"""Errors reach the person in words, in their language (issue 22): a LoRA that does not fit the checkpoint, every
event's failure, the toasts' titles in 中文, and a banned account's open page, on a live app with the tiny
checkpoint (``gen_server``) in headless Chromium and over Gradio's queue."""

from __future__ import annotations

import re
import sqlite3

import pytest
import requests
from playwright.sync_api import expect

from tests import sample_files
from tests.browser import chromium
from tests.conftest import bearer, register
from tests.gradio_events import call_event, gradio_events
from tests.test_ui_generate import open_page, output_pngs, set_number, textbox

TIMEOUT_MS = 120_000
SDXL_LORA = "xl_style"


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def sdxl_lora(gen_server, tmp_path_factory) -> str:
    """A LoRA the painter says is made for SDXL 1.0: it cannot fit the tiny SD 1.5 checkpoint."""
    path = sample_files.kohya_lora(tmp_path_factory.mktemp("xl") / f"{SDXL_LORA}.safetensors", seed=11)
    with open(path, "rb") as handle:
        reply = requests.post(gen_server.api("/api/v1/models"), headers=bearer(gen_server.token),
                              files={"file": (path.name, handle)},
                              data={"name": SDXL_LORA, "type": "lora", "base_model": "SDXL 1.0"}, timeout=60)
    assert reply.status_code == 201, reply.text
    assert reply.json()["modelVersions"][0]["baseModel"] == "SDXL 1.0"
    return SDXL_LORA


def generate_with(page, prompt: str) -> None:
    textbox(page, "generate-prompt").fill(prompt)
    page.locator("#generate-button").click()


def test_a_lora_that_does_not_fit_is_not_offered_and_is_refused_in_words(gen_server, browser, sdxl_lora):
    page = open_page(browser, gen_server, gen_server.token)
    lora_picker = page.locator("#generate-lora")
    expect(lora_picker).to_contain_text(f"Not for a SD 1.5 checkpoint: {sdxl_lora} (SDXL 1.0)", timeout=TIMEOUT_MS)
    page.locator("#generate-lora input").click()
    expect(page.get_by_role("option", name="tiny_style")).to_be_visible()
    expect(page.get_by_role("option", name=sdxl_lora)).to_have_count(0)
    page.keyboard.press("Escape")

    prompt = f"a lighthouse <lora:{sdxl_lora}:1>"
    generate_with(page, prompt)
    toast = page.locator(".toast-body")
    expect(toast).to_contain_text(f"The LoRA {sdxl_lora} is made for SDXL 1.0 and does not fit the checkpoint",
                                  timeout=TIMEOUT_MS)
    expect(textbox(page, "generate-prompt")).to_have_value(prompt)
    expect(page.locator("#generate-gallery span.error")).to_be_hidden()  # no bare badge laid over the results


def test_in_chinese_a_failing_action_toasts_with_no_english_title(gen_server, browser, sdxl_lora):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.add_cookies([{"name": "visionary_session", "value": gen_server.token, "url": gen_server.url},
                         {"name": "visionary_lang", "value": "zh", "url": gen_server.url}])
    page = context.new_page()
    page.goto(gen_server.url)
    page.get_by_role("tab", name="生成").click()
    expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile("tiny_sd15"), timeout=TIMEOUT_MS)
    generate_with(page, f"a lighthouse <lora:{sdxl_lora}:1>")
    toast = page.locator(".toast-body").first
    expect(toast).to_contain_text("不适用于检查点", timeout=TIMEOUT_MS)
    expect(toast.locator(".toast-title")).to_contain_text("错误")
    assert not re.search(r"Error|Warning|Info", toast.locator(".toast-title").inner_text())
    context.close()


def test_a_banned_users_open_page_logs_out_with_the_ban_message(gen_server, browser):
    account = register(gen_server)
    page = open_page(browser, gen_server, account["token"])
    ban = requests.post(gen_server.api(f"/api/v1/admin/users/{account['user']['username']}/ban"),
                        headers=bearer(gen_server.token), timeout=60)  # the painter, the first account, is the admin
    assert ban.status_code == 200, ban.text
    generate_with(page, "a lighthouse")
    expect(page.locator(".toast-body").first).to_contain_text("this account is banned", timeout=TIMEOUT_MS)
    expect(page.locator("#whoami")).to_contain_text("This account is banned: you are logged out.",
                                                    timeout=TIMEOUT_MS)
    assert "visionary_session" not in {cookie["name"] for cookie in page.context.cookies()}
    page.context.close()


def test_every_events_failure_says_what_went_wrong(gen_server):
    """Each event called as a user and as the admin with empty inputs: whatever fails says so in words."""
    bare, member = {}, register(gen_server)["token"]
    for name, event in gradio_events(gen_server).items():
        for token in (member, gen_server.token):
            reply = call_event(gen_server, event, [None] * len(event["inputs"]), token)
            error = (reply["output"].get("error") or "").strip()
            if not reply["success"] and error.lower() in ("", "error"):
                bare[name] = reply["output"]
    assert not bare, f"these events fail without saying why: {bare}"


def test_a_cancelled_run_saves_nothing_and_says_cancelled(gen_server, browser):
    account = register(gen_server)
    files = output_pngs(gen_server)
    page = open_page(browser, gen_server, account["token"])
    # Long enough (about a minute here, 20 MPx-steps: within the CPU budget) that the Cancel click lands in the run
    # even when the machine is busy with other tests.
    for elem_id, value in (("generate-width", 128), ("generate-height", 128), ("generate-steps", 150),
                           ("generate-batch-size", 8)):
        set_number(page, elem_id, value)
    generate_with(page, "a long run, cancelled")
    expect(page.locator("#generate-gallery [role=progressbar]")).to_have_attribute(
        "aria-label", re.compile("generating"), timeout=TIMEOUT_MS)
    # The click event goes to the button itself: the progress bar redraws over it many times a second, and a
    # click at its place (on a machine busy enough to slow the page) can land on the bar instead.
    page.locator("#generate-cancel").dispatch_event("click", timeout=TIMEOUT_MS)
    # Its toast, whichever order it and the Cancel button's "Cancelling…" arrive in.
    expect(page.locator(".toast-body", has_text="Generation cancelled: nothing was saved.")).to_be_visible(
        timeout=TIMEOUT_MS)
    with sqlite3.connect(gen_server.db_path) as db:
        mine = db.execute("SELECT COUNT(*) FROM image WHERE owner_id = ?", (account["user"]["id"],)).fetchone()[0]
    assert mine == 0
    assert output_pngs(gen_server) == files
    page.context.close()


def test_an_out_of_range_setting_is_refused_with_its_range_not_clamped(gen_server, browser):
    """Width 10000 used to become 2048 without a word: now the run is refused with the range, the value and the
    prompt stay as typed, and nothing is queued or made."""
    files = output_pngs(gen_server)
    page = open_page(browser, gen_server, gen_server.token)
    expect(page.locator("#generate-width")).to_contain_text("64–2048, a multiple of 8")
    set_number(page, "generate-width", 10000)
    generate_with(page, "a very wide castle")
    expect(page.locator(".toast-body", has_text="Width must be between 64 and 2048; you entered 10000.")).to_be_visible(
        timeout=TIMEOUT_MS)
    expect(page.locator("#generate-width input[type=number]")).to_have_value("10000")
    expect(page.locator("#generate-prompt textarea")).to_have_value("a very wide castle")
    set_number(page, "generate-width", 100)
    generate_with(page, "a slightly wide castle")
    expect(page.locator(".toast-body", has_text="Width must be a multiple of 8; you entered 100.")).to_be_visible(
        timeout=TIMEOUT_MS)
    assert output_pngs(gen_server) == files
    page.context.close()
    chinese = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    chinese.add_cookies([{"name": "visionary_session", "value": gen_server.token, "url": gen_server.url}])
    page = chinese.new_page()
    page.goto(gen_server.url + "/?tab=generate")
    expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile("tiny_sd15"), timeout=60_000)
    set_number(page, "generate-steps", 500)
    generate_with(page, "城堡")
    expect(page.locator(".toast-body", has_text="迭代步数必须在 1 到 150 之间；你输入的是 500。")).to_be_visible(
        timeout=TIMEOUT_MS)
    chinese.close()


def test_a_refused_file_type_is_said_in_chinese_too(gen_server, browser, tmp_path):
    """Gradio's own browser-side "Invalid file type … Only … allowed." toast, in 简体中文 with a Chinese title."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "visionary_session", "value": gen_server.token, "url": gen_server.url}])
    page = context.new_page()
    page.goto(gen_server.url + "/?tab=upload")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    page.locator("#upload-file input[type=file]").set_input_files(str(notes))
    toast = page.locator(".toast-body").first
    expect(toast).to_contain_text("文件类型无效", timeout=TIMEOUT_MS)
    assert "Invalid file type" not in toast.inner_text() and "Error" not in toast.inner_text()
    context.close()
