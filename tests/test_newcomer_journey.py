"""A newcomer's first minutes on a fresh instance, in English and in Chinese: register, see the demo model,
generate, publish, find the image in the gallery and by search.  The English run takes the README's screenshots
(into docs/images/ only under `make screenshots`: tests.browser.readme_screenshot_dir)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.generation.demo_model import DEMO_NAME, demo_available
from tests.browser import chromium, readme_screenshot_dir, screenshot
from tests.conftest import PASSWORD
from tests.live_server import LiveServer
from ui.i18n import text

TIMEOUT = 60_000
PROMPT = "a red circle on a blue background"

pytestmark = pytest.mark.skipif(not demo_available(), reason="this checkout ships no demo weights")


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("newcomer")).start()
    yield live
    live.stop()


def open_tab(page, key: str, lang: str) -> None:
    page.get_by_role("tab", name=text(key, lang), exact=True).click()


def field(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def docs_shot(page, name: str, lang: str) -> None:
    """Screenshots for the README (English run) and test artifacts (both)."""
    page.wait_for_timeout(600)  # let the last update finish drawing
    screenshot(page, f"newcomer-{lang}-{name}")
    if lang == "en":
        destination = readme_screenshot_dir()
        destination.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(destination / f"{name}.png"))


@pytest.mark.parametrize("locale, lang", [("en-US", "en"), ("zh-CN", "zh")])
def test_register_generate_publish_and_find(fresh_server, locale, lang):
    name = f"newcomer_{lang}"
    with chromium() as browser:
        page = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(fresh_server.url)
        expect(page.locator("#home-welcome")).to_contain_text("Visionary Shapes", timeout=TIMEOUT)
        expect(page.locator("#whoami")).to_contain_text(text("header.not_logged_in", lang)[:8], timeout=TIMEOUT)
        page.wait_for_timeout(1000)
        docs_shot(page, "home", lang)

        open_tab(page, "tab.account", lang)
        field(page, "register-username").fill(name)
        page.locator("#register-password input").fill(PASSWORD)
        page.locator("#register-button").click()
        expect(page.locator("#whoami")).to_contain_text(name, timeout=TIMEOUT)

        open_tab(page, "tab.generate", lang)
        expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile(re.escape(DEMO_NAME)),
                                                                          timeout=TIMEOUT)
        expect(field(page, "generate-width")).to_have_value("64")
        field(page, "generate-prompt").fill(PROMPT)
        page.locator("#generate-button").click()
        expect(page.locator("#generate-gallery img").first).to_be_visible(timeout=180_000)
        expect(field(page, "generate-info")).to_have_value(re.compile("Model: Visionary Shapes"), timeout=TIMEOUT)
        docs_shot(page, "generate", lang)

        open_tab(page, "tab.gallery", lang)
        open_tab(page, "gallery.mine", lang)
        page.locator("#gallery-mine-grid .va-shot", has_text="red circle").first.click(timeout=TIMEOUT)
        page.locator("#image-publish").click()
        expect(page.locator("#image-publish")).to_be_hidden(timeout=TIMEOUT)
        docs_shot(page, "image", lang)
        page.locator("#image-back").click()

        open_tab(page, "gallery.browse", lang)
        field(page, "gallery-query").fill("red circle")
        field(page, "gallery-query").press("Enter")
        expect(page.locator("#gallery-grid .va-shot", has_text="red circle").first).to_be_visible(timeout=TIMEOUT)
        docs_shot(page, "gallery", lang)

        open_tab(page, "tab.search", lang)
        field(page, "search-query").fill("red circ")
        page.locator("#search-button").click()
        page.locator("#search-results").get_by_role("tab", name=text("search.images", lang)).click()
        expect(page.locator("#search-images-results")).to_contain_text("red circle", timeout=TIMEOUT)
        docs_shot(page, "search", lang)

        open_tab(page, "tab.models", lang)
        expect(page.get_by_text(DEMO_NAME).first).to_be_visible(timeout=TIMEOUT)
        docs_shot(page, "models", lang)
