"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright; never `playwright install`."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CHROMIUM = os.environ.get("VISIONARY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
README_SCREENSHOTS_ENV = "VISIONARY_README_SCREENSHOTS"  # set only by `make screenshots`


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def readme_screenshot_dir(environ=os.environ) -> Path:
    """Where the README's screenshots go: docs/images only when `make screenshots` refreshes them on purpose,
    else the ignored test-artifacts/screenshots/, so running the tests leaves the checkout as it was."""
    if environ.get(README_SCREENSHOTS_ENV) == "1":
        return ROOT / "docs" / "images"
    return ARTIFACTS / "screenshots"


def visit(browser, server, address: str, token: str | None = None, timeout: int = 30_000):
    """A fresh browser context (no history, no cookie unless ``token``) opening ``address`` on ``server``, once
    the page says who is logged in."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if token:
        context.add_cookies([{"name": "visionary_session", "value": token, "url": server.url}])
    page = context.new_page()
    page.goto(server.url + address)
    expect(page.locator("#whoami")).to_contain_text("Logged in as" if token else "Not logged in", timeout=timeout)
    return page
