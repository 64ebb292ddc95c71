"""The home tab tells a newcomer what to do, with this instance's real models folder."""

from __future__ import annotations

import requests
from gradio_client import Client
from playwright.sync_api import expect

from core.generation.demo_model import demo_available
from tests.browser import chromium, screenshot
from tests.live_server import LiveServer
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


def test_a_visitor_from_elsewhere_is_not_told_the_servers_folders(tmp_path):
    """Behind a trusted proxy, a visitor from another machine reads where models go in words, not the server's
    path, and no Hub import is offered while the site runs offline; its admin, from anywhere, sees the path."""
    from tests.conftest import PASSWORD

    live = LiveServer(tmp_path, args=["--forwarded-allow-ips", "127.0.0.1"]).start()
    try:
        admin = requests.post(live.api("/api/v1/auth/register"), json={"username": "far_admin", "password": PASSWORD},
                              timeout=60).json()["token"]
        with chromium() as browser:
            for token, shows in ((None, False), (admin, True)):
                context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
                if token:
                    context.add_cookies([{"name": "visionary_session", "value": token, "url": live.url}])
                page = context.new_page()
                page.goto(live.url)
                welcome = page.locator("#home-welcome")
                expect(welcome).to_contain_text("Visionary Shapes" if demo_available() else "no demo model",
                                                timeout=30000)
                path = str(live.models_dir.resolve())
                if shows:
                    expect(welcome).to_contain_text(path)
                else:
                    expect(welcome).not_to_contain_text(path)
                    expect(welcome).to_contain_text("have the site's admin drop")
                expect(welcome).to_contain_text("this site runs offline")
                expect(page.locator("#starter-import")).to_be_hidden()
                context.close()
    finally:
        live.stop()
