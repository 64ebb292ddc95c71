"""The home tab tells a newcomer what to do, with this instance's real models folder."""

from __future__ import annotations

from gradio_client import Client
from playwright.sync_api import expect

from core.generation.demo_model import demo_available
from tests.browser import chromium, screenshot
from ui.home_tab import load_starters


def test_home_tab_shows_models_folder_and_starters(server):
    with chromium() as browser:
        page = browser.new_page()
        page.goto(server.url)
        welcome = page.locator("#home-welcome")
        expect(welcome).to_contain_text(str(server.models_dir.resolve()), timeout=30000)
        expect(welcome).to_contain_text("Visionary Shapes" if demo_available() else "no demo model")
        for starter in load_starters():
            expect(page.locator("#starter-models")).to_contain_text(starter["repo_id"])
        screenshot(page, "home")


def test_starter_import_needs_login(server):
    client = Client(server.url, analytics_enabled=False, verbose=False)
    try:
        client.predict(load_starters()[0]["repo_id"], api_name="/import_starter_model")
    except Exception as exc:  # gradio_client raises AppError with our message
        assert "log in" in str(exc)
    else:
        raise AssertionError("a visitor could start an import")
