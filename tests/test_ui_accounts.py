"""Accounts through the real UI in headless Chromium, invite codes included."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser import chromium, screenshot
from tests.conftest import PASSWORD, bearer, unique_name
from tests.live_server import LiveServer


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


@pytest.fixture(scope="module")
def invite_server(tmp_path_factory):
    """An invitation-only site with its admin (the first account needs no code)."""
    live = LiveServer(tmp_path_factory.mktemp("invite_ui"), args=["--registration", "invite"]).start()
    admin = requests.post(live.api("/api/v1/auth/register"), json={"username": "ui_admin", "password": PASSWORD},
                          timeout=60)
    assert admin.status_code == 201, admin.text
    live.admin_token = admin.json()["token"]
    yield live
    live.stop()


def register_in_browser(page, name: str, invite_code: str | None = None) -> None:
    open_tab(page, "Account")
    page.locator("#register-username textarea, #register-username input").first.fill(name)
    page.locator("#register-password input").fill(PASSWORD)
    if invite_code is not None:
        page.locator("#register-invite textarea, #register-invite input").first.fill(invite_code)
    page.locator("#register-button").click()


def test_an_open_site_asks_for_no_invite_code(server):
    with chromium() as browser:
        page = browser.new_page()
        page.goto(server.url)
        open_tab(page, "Account")
        expect(page.locator("#register-button")).to_be_visible(timeout=30000)
        expect(page.locator("#register-invite")).to_be_hidden()


def test_an_admin_makes_an_invite_code_and_a_friend_registers_with_it(invite_server):
    with chromium() as browser:
        admin = browser.new_context()
        admin.add_cookies([{"name": "visionary_session", "value": invite_server.admin_token, "url": invite_server.url,
                            "httpOnly": True}])
        page = admin.new_page()
        page.goto(invite_server.url)
        expect(page.locator("#whoami")).to_contain_text("ui_admin", timeout=30000)
        open_tab(page, "Admin")
        expect(page.locator("#admin-invites")).to_contain_text("No invite codes yet", timeout=30000)
        page.locator("#admin-make-invite").click()
        code_box = page.locator("#admin-invite-code textarea, #admin-invite-code input").first
        expect(code_box).not_to_have_value("", timeout=30000)
        code = code_box.input_value()
        expect(page.locator("#invites-table")).to_contain_text("unused")
        screenshot(page, "admin-invite-made")

        friend = browser.new_page()
        friend.goto(invite_server.url)
        expect(friend.locator("#whoami")).to_contain_text("Not logged in", timeout=30000)
        register_in_browser(friend, "ui_friend_nocode")
        expect(friend.locator("#account-status")).to_contain_text("invitation-only", timeout=30000)
        expect(friend.locator("#whoami")).to_contain_text("Not logged in")
        register_in_browser(friend, "ui_friend", code)
        expect(friend.locator("#whoami")).to_contain_text("Logged in as ui_friend", timeout=30000)
        screenshot(friend, "registered-with-invite")

        page.locator("#admin-refresh").click()
        expect(page.locator("#invites-table")).to_contain_text("ui_friend", timeout=30000)
    listed = requests.get(invite_server.api("/api/v1/admin/invites"), headers=bearer(invite_server.admin_token),
                          timeout=60).json()
    assert [item["usedBy"] for item in listed["items"]] == ["ui_friend"]


def test_the_account_tab_shows_who_is_here_and_the_bio_round_trips(server):
    """Logged out: the forms; after registering: a welcome with next steps and the profile fields instead of the
    forms; a failed login's toast goes away once a login works; the saved bio is shown after a reload and after
    logging out and in again (saving it again keeps it)."""
    name = unique_name("bio")
    bio = "I paint lighthouses.\n二行目 — 灯台"
    with chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(server.url)
        expect(page.locator("#whoami")).to_contain_text("Not logged in", timeout=30000)
        open_tab(page, "Account")
        expect(page.locator("#account-forms")).to_be_visible()
        expect(page.locator("#account-profile")).to_be_hidden()
        page.locator("#register-username textarea, #register-username input").first.fill(name)
        page.locator("#register-password input").fill(PASSWORD)
        page.locator("#register-button").click()
        expect(page.locator("#account-status")).to_contain_text(f"Welcome, {name}!", timeout=30000)
        expect(page.locator("#account-status")).to_contain_text("Generate")
        expect(page.locator("#account-forms")).to_be_hidden()
        bio_box = page.locator("#bio textarea")
        bio_box.fill(bio)
        expect(page.locator("#bio-counter")).to_contain_text(f"{len(bio)} / 2000")
        page.locator("#save-bio-button").click()
        expect(page.locator(".toast-body", has_text="Bio saved")).to_be_visible(timeout=30000)

        page.reload()
        open_tab(page, "Account")
        expect(page.locator("#bio textarea")).to_have_value(bio, timeout=30000)
        page.locator("#logout-button").click()
        expect(page.locator("#account-forms")).to_be_visible(timeout=30000)
        expect(page.locator("#account-profile")).to_be_hidden()

        page.locator("#login-username textarea, #login-username input").first.fill(name)
        page.locator("#login-password input").fill("not the password")
        page.locator("#login-button").click()
        stale = page.locator(".toast-body", has_text="wrong username or password")
        expect(stale).to_be_visible(timeout=30000)
        page.locator("#login-password input").fill(PASSWORD)
        page.locator("#login-button").click()
        expect(page.locator("#whoami")).to_contain_text(f"Logged in as {name}", timeout=30000)
        expect(stale).to_have_count(0)
        expect(page.locator("#bio textarea")).to_have_value(bio)
        page.locator("#save-bio-button").click()  # saving what is shown keeps the bio
        expect(page.locator(".toast-body", has_text="Bio saved").first).to_be_visible(timeout=30000)
    me = requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD}, timeout=30)
    assert me.json()["user"]["bio"] == bio
