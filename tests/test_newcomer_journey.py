"""A newcomer's first minutes on a fresh instance, in English and in 简体中文: register, generate with the demo
model, publish from the result, open the picture's page by its link (also as a visitor), comment on it, find it in
the gallery and by search. In Chinese every step's screen is scanned for English left in it: toast titles and any
text of the interface's table that has a Chinese translation. The English run takes the README's screenshots (into
docs/images/ only under `make screenshots`: tests.browser.readme_screenshot_dir)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.generation.demo_model import DEMO_NAME, demo_available
from tests.browser import chromium, readme_screenshot_dir, screenshot
from tests.conftest import PASSWORD
from tests.live_server import LiveServer
from ui.i18n import table, text

TIMEOUT = 60_000
PROMPT = "a red circle on a blue background"
TITLES = {"en": "My first circle", "zh": "我的第一个圆"}
ENGLISH_TOAST_TITLES = ("Error", "Warning", "Info", "Success")

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


def interface_english() -> list[str]:
    """English texts of the interface that read differently in Chinese (whole phrases, no fields to fill)."""
    english, chinese = table("en"), table("zh")
    return sorted({value for key, value in english.items() if value != chinese.get(key) and "{" not in value
                   and len(value.split()) >= 2}, key=len, reverse=True)


def english_left(page) -> list[str]:
    """What of the interface's English the screen shows (toast titles, then table texts)."""
    titles = [t.strip() for t in page.locator(".toast-title").all_inner_texts()]
    shown = page.evaluate("() => document.body.innerText")
    return [t for t in titles if t in ENGLISH_TOAST_TITLES] + [e for e in interface_english() if e in shown]


def step(page, name: str, lang: str) -> None:
    """A screenshot of the step (the README's, in English); in Chinese, no English of the interface on it."""
    page.wait_for_timeout(600)  # let the last update finish drawing
    screenshot(page, f"newcomer-{lang}-{name}")
    if lang == "en":
        destination = readme_screenshot_dir()
        destination.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(destination / f"{name}.png"))
    else:
        assert english_left(page) == [], f"untranslated on the {name} screen"


@pytest.mark.parametrize("locale, lang", [("en-US", "en"), ("zh-CN", "zh")])
def test_register_generate_publish_share_and_comment(fresh_server, locale, lang):
    name = f"newcomer_{lang}"
    with chromium() as browser:
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(fresh_server.url)
        expect(page.locator("#home-welcome")).to_contain_text("Visionary Shapes", timeout=TIMEOUT)
        expect(page.locator("#whoami")).to_contain_text(text("header.not_logged_in", lang)[:8], timeout=TIMEOUT)
        page.wait_for_timeout(1000)
        step(page, "home", lang)

        open_tab(page, "tab.account", lang)
        field(page, "register-username").fill(name)
        page.locator("#register-password input").fill(PASSWORD)
        page.locator("#register-button").click()
        expect(page.locator("#whoami")).to_contain_text(name, timeout=TIMEOUT)
        expect(page.locator("#account-status")).to_contain_text(text("account.welcome", lang, name=name).split("**")[0])
        step(page, "account", lang)

        open_tab(page, "tab.generate", lang)
        expect(page.locator("#generate-checkpoint input")).to_have_value(re.compile(re.escape(DEMO_NAME)),
                                                                          timeout=TIMEOUT)
        expect(field(page, "generate-width")).to_have_value("64")
        field(page, "generate-prompt").fill(PROMPT)
        page.locator("#generate-button").click()
        expect(page.locator("#generate-gallery img").first).to_be_visible(timeout=180_000)
        expect(field(page, "generate-info")).to_have_value(re.compile("Model: Visionary Shapes"), timeout=TIMEOUT)
        step(page, "generate", lang)

        page.locator("#generate-post-details").click()  # publish from the result, with a title
        field(page, "generate-post-title").fill(TITLES[lang])
        page.locator("#generate-publish").click()
        published = page.locator("#generate-published")
        expect(published).to_contain_text(text("publish.published_single", lang), timeout=TIMEOUT)
        step(page, "published", lang)
        published.locator("[data-open=image]").click()
        expect(page.locator("#image-page-body")).to_contain_text(TITLES[lang], timeout=TIMEOUT)
        expect(page).to_have_url(re.compile(r"\?image=\d+$"))
        shared = page.url

        visitor = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000}).new_page()
        visitor.goto(shared)  # the link, pasted into a chat, opened by someone else
        expect(visitor.locator("#image-page-body")).to_contain_text(TITLES[lang], timeout=TIMEOUT)
        expect(visitor.locator("#image-page-body")).to_contain_text(PROMPT)
        step(visitor, "shared-image", lang)
        visitor.context.close()

        field(page, "image-comment-body").fill("My very first picture!")
        page.locator("#image-comment-post").click()
        expect(page.locator("#image-comments")).to_contain_text("My very first picture!", timeout=TIMEOUT)
        step(page, "image", lang)
        page.locator("#image-back").click()

        field(page, "gallery-query").fill("red circle")
        field(page, "gallery-query").press("Enter")
        expect(page.locator("#gallery-grid .va-shot", has_text="red circle").first).to_be_visible(timeout=TIMEOUT)
        step(page, "gallery", lang)

        open_tab(page, "tab.search", lang)
        field(page, "search-query").fill("red circ")
        page.locator("#search-button").click()
        page.locator("#search-results").get_by_role("tab", name=text("search.images", lang)).click()
        expect(page.locator("#search-images-results")).to_contain_text("red circle", timeout=TIMEOUT)
        step(page, "search", lang)

        open_tab(page, "tab.models", lang)
        expect(page.get_by_text(DEMO_NAME).first).to_be_visible(timeout=TIMEOUT)
        step(page, "models", lang)
        context.close()


def test_the_scan_finds_english_left_on_a_chinese_screen(fresh_server):
    """The check above can fail: an English toast title and an English sentence of the table are both caught."""
    with chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(fresh_server.url)
        expect(page.locator("#home-welcome")).to_contain_text("Visionary Shapes", timeout=TIMEOUT)
        assert english_left(page) == []
        english = table("en")["generate.nothing_to_cancel"]
        page.evaluate("""(english) => {
            const toast = document.createElement('div');
            toast.innerHTML = `<div class="toast-title">Error</div><div>${english}</div>`;
            document.body.appendChild(toast);
        }""", english)
        found = english_left(page)
        assert found[0] == "Error" and english in found
