"""Accounts through the real UI in headless Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import chromium, screenshot
from tests.conftest import PASSWORD, unique_name


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_register_stay_logged_in_and_log_out(server, tmp_path):
    name = unique_name("browser")
    state_file = tmp_path / "state.json"
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url)
        expect(page.locator("#whoami")).to_contain_text("Not logged in", timeout=30000)
        open_tab(page, "Account")
        page.locator("#register-username textarea, #register-username input").first.fill(name)
        page.locator("#register-password input").fill(PASSWORD)
        page.locator("#register-button").click()
        expect(page.locator("#whoami")).to_contain_text(f"Logged in as {name}", timeout=30000)
        screenshot(page, "account-logged-in")
        # JavaScript cannot read the HttpOnly session cookie.
        assert "visionary_session" not in page.evaluate("document.cookie")
        assert any(c["name"] == "visionary_session" and c["httpOnly"] for c in context.cookies())
        context.storage_state(path=str(state_file))
        context.close()

        reopened = browser.new_context(storage_state=str(state_file))
        page = reopened.new_page()
        page.goto(server.url)
        expect(page.locator("#whoami")).to_contain_text(f"Logged in as {name}", timeout=30000)
        expect(page.get_by_role("tab", name="Home")).to_have_attribute("aria-selected", "true")
        open_tab(page, "Account")
        page.locator("#logout-button").click()
        expect(page.locator("#whoami")).to_contain_text("Not logged in", timeout=30000)
        page.reload()
        expect(page.locator("#whoami")).to_contain_text("Not logged in", timeout=30000)
        reopened.close()


def test_wrong_password_shows_message(server):
    with chromium() as browser:
        page = browser.new_page()
        page.goto(server.url)
        open_tab(page, "Account")
        page.locator("#login-username textarea, #login-username input").first.fill("site_admin")
        page.locator("#login-password input").fill("not the password")
        page.locator("#login-button").click()
        expect(page.locator("#account-status")).to_contain_text("wrong username or password", timeout=30000)
        expect(page.locator("#whoami")).to_contain_text("Not logged in")
