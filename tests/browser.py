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
