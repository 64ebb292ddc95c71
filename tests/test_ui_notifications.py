"""Notifications in the browser: two people in two browser contexts, the bell updating without a reload, replies
with mentions, an unlike leaving nothing behind, a ban silencing its user, and the settings in Account."""

from __future__ import annotations

import pytest
import requests
from gradio_client.exceptions import AppError
from playwright.sync_api import expect

from tests.browser import chromium, screenshot, visit
from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register
from tests.test_notifications import eventually
from tests.test_ui_library import TIMEOUT, api_client, field

BELL_WAIT = 30_000  # the bell refreshes every 5 s; a loaded machine may take a few more


def told(server, account) -> list[int]:
    """What an account was told about, newest first (the model's or picture's id)."""
    items = requests.get(server.api("/api/v1/notifications"), headers=bearer(account["token"]), timeout=30).json()
    return [n["modelId"] or n["imageId"] for n in items["items"]]


def bell(page):
    return page.locator("#notification-bell")


def test_two_people_see_each_other_through_the_bell(server, tmp_path):
    author, reader = register(server), register(server)
    model = upload_model(server, author, tmp_path, seed=401, name="Bell Model")
    with chromium() as browser:
        a = visit(browser, server, "/", token=author["token"])
        b = visit(browser, server, f"/?model={model['id']}", token=reader["token"])
        expect(bell(a)).to_have_text("🔔", timeout=TIMEOUT)

        field(b, "comment-body").fill("Lovely colours!")
        b.locator("#comment-post").click()
        expect(b.locator("#model-comments")).to_contain_text("Lovely colours!", timeout=TIMEOUT)
        expect(bell(a)).to_have_text("🔔 1", timeout=BELL_WAIT)  # no reload on A's side

        bell(a).click()
        entry = a.locator("#notifications-list .va-note").first
        expect(entry).to_contain_text(f"{reader['user']['username']} commented on Bell Model", timeout=TIMEOUT)
        expect(entry).to_contain_text("Lovely colours!")
        screenshot(a, "notifications-tab")
        entry.get_by_role("button", name="Bell Model").click()  # to the model, to answer
        a.locator("#model-comments [data-reply-comment]").first.click()
        expect(a.locator("#comment-post-replying")).to_contain_text(reader["user"]["username"], timeout=TIMEOUT)
        expect(field(a, "comment-body")).to_have_value(f"@{reader['user']['username']} ")
        field(a, "comment-body").press_sequentially("thank you!")
        a.locator("#comment-post").click()
        answer = a.locator("#model-comments .va-replies .va-comment")
        expect(answer).to_contain_text("thank you!", timeout=TIMEOUT)
        mention = answer.locator(f"[data-open=user][data-key={reader['user']['username']}]")
        expect(mention).to_have_text(f"@{reader['user']['username']}")  # the mention links to the profile

        expect(bell(b)).to_have_text("🔔 1", timeout=BELL_WAIT)
        bell(b).click()
        expect(b.locator("#notifications-list .va-note").first).to_contain_text(
            f"{author['user']['username']} replied to your comment on Bell Model", timeout=TIMEOUT)
        b.locator("#notifications-list [data-mark-read]").first.click()
        expect(bell(b)).to_have_text("🔔", timeout=TIMEOUT)
        expect(b.locator("#notifications-list [data-mark-read]")).to_have_count(0)

        bell(a).click()
        a.locator("#notifications-all-read").click()
        expect(bell(a)).to_have_text("🔔", timeout=TIMEOUT)
        b.goto(server.url + f"/?model={model['id']}")
        b.locator("#model-like").click()
        expect(b.locator("#model-like")).to_contain_text("1", timeout=TIMEOUT)
        expect(bell(a)).to_have_text("🔔 1", timeout=BELL_WAIT)
        b.locator("#model-like").click()  # unliked again
        expect(bell(a)).to_have_text("🔔", timeout=BELL_WAIT)
        bell(a).click()
        expect(a.locator("#notifications-list")).not_to_contain_text("liked", timeout=TIMEOUT)  # nothing stale

        field(b, "comment-body").fill("one more thing")
        b.locator("#comment-post").click()
        expect(bell(a)).to_have_text("🔔 1", timeout=BELL_WAIT)
        ban = requests.post(server.api(f"/api/v1/admin/users/{reader['user']['username']}/ban"),
                            headers=bearer(server.admin_token), timeout=30)
        assert ban.status_code == 200
        expect(bell(a)).to_have_text("🔔", timeout=BELL_WAIT)  # a banned user's doings tell nobody


def test_notification_settings_in_account_and_chinese(server, tmp_path):
    creator, fan = register(server), register(server)
    requests.put(server.api(f"/api/v1/users/{creator['user']['username']}/follow"), headers=bearer(fan["token"]),
                 timeout=30)
    with chromium() as browser:
        page = visit(browser, server, "/?tab=account", token=fan["token"])
        kinds = page.locator("#notification-settings")
        expect(kinds.get_by_label("a creator I follow publishes a model")).to_be_checked(timeout=TIMEOUT)
        kinds.get_by_label("a creator I follow publishes a model").uncheck()
        page.locator("#save-notifications-button").click()
        expect(page.get_by_text("Notification settings saved.")).to_be_visible(timeout=TIMEOUT)
    settings = requests.get(server.api("/api/v1/notifications/settings"), headers=bearer(fan["token"]), timeout=30)
    assert settings.json()["off"] == ["new_model"]
    upload_model(server, creator, tmp_path, seed=402, name="Unannounced")
    image = upload_image(server, creator, picture()).json()  # told after the model, which is skipped
    assert eventually(lambda: told(server, fan), [image["id"]]) == [image["id"]]

    requests.put(server.api("/api/v1/notifications/settings"), json={"off": []}, headers=bearer(fan["token"]),
                 timeout=30)
    model = upload_model(server, creator, tmp_path, seed=403, name="Announced")
    assert eventually(lambda: told(server, fan)[0], model["id"]) == model["id"]
    with chromium() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "visionary_session", "value": fan["token"], "url": server.url}])
        page = context.new_page()
        page.goto(server.url + "/?tab=notifications")
        expect(page.locator("#notifications-list")).to_contain_text(
            f"{creator['user']['username']} 发布了新模型：Announced", timeout=TIMEOUT)
        expect(bell(page)).to_have_text("🔔 2", timeout=TIMEOUT)


def test_gradio_notification_events_act_for_the_caller_only(server, tmp_path):
    author, fan = register(server), register(server)
    model = upload_model(server, author, tmp_path, seed=404)
    requests.put(server.api(f"/api/v1/models/{model['id']}/like"), headers=bearer(fan["token"]), timeout=30)
    [note] = requests.get(server.api("/api/v1/notifications"), headers=bearer(author["token"]),
                          timeout=30).json()["items"]
    api_client(server, fan["token"]).predict(api_name="/mark_all_notifications_read")
    with pytest.raises(AppError, match="no notification with id"):
        api_client(server, fan["token"]).predict(notification_id=note["id"], api_name="/mark_notification_read")
    assert requests.get(server.api("/api/v1/notifications"), headers=bearer(author["token"]),
                        timeout=30).json()["metadata"]["unreadCount"] == 1  # the fan's call read only the fan's
    api_client(server, author["token"]).predict(notification_id=note["id"], api_name="/mark_notification_read")
    assert requests.get(server.api("/api/v1/notifications"), headers=bearer(author["token"]),
                        timeout=30).json()["metadata"]["unreadCount"] == 0
