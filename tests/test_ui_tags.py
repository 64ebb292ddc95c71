"""The Tags tab (a cloud sized by use, each tag opening its page) and the Models tab's ranking over a period."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.browser import chromium, screenshot, visit
from tests.community_helpers import upload_model
from tests.conftest import bearer, register
from tests.test_trending import long_ago
from tests.test_ui_library import TIMEOUT, choose


def test_the_tag_cloud_and_a_tags_page(server, tmp_path):
    owner, fan = register(server), register(server)
    tower = upload_model(server, owner, tmp_path, seed=1401, name="Tower", tags="castle,night")
    upload_model(server, owner, tmp_path, seed=1402, name="Keep", tags="castle")
    with chromium() as browser:
        page = visit(browser, server, "/?tab=tags", token=fan["token"])
        castle = page.locator('#tags-cloud [data-tag="castle"]')
        expect(castle).to_contain_text("castle 2", timeout=TIMEOUT)
        expect(page.locator('#tags-cloud [data-tag="night"]')).to_contain_text("night 1")
        screenshot(page, "tags-cloud")
        castle.get_by_role("button", name="castle").click()
        expect(page.locator("#model-grid")).to_contain_text("Tower", timeout=TIMEOUT)
        expect(page.locator("#model-grid")).to_contain_text("Keep")
        assert "tag=castle" in page.url

        requests.put(server.api(f"/api/v1/models/{tower['id']}/like"), headers=bearer(owner["token"]), timeout=30)
        long_ago(server, "model_like", "model_id = ?", (tower["id"],))
        week = requests.get(server.api("/api/v1/models"), params={"username": owner["user"]["username"],
                                                                  "sort": "Most Liked", "period": "Week"}, timeout=30)
        assert [m["name"] for m in week.json()["items"]] == ["Keep", "Tower"]
        page.goto(server.url + "/?tab=models")
        field = page.locator("#models-creator textarea, #models-creator input").first
        field.fill(owner["user"]["username"])
        field.press("Enter")
        choose(page, "models-sort", "Most liked")
        expect(page.locator("#model-grid .va-card").first).to_contain_text("Tower", timeout=TIMEOUT)
        choose(page, "models-period", "The past week")  # Tower's like is older: Keep (newest) leads
        expect(page.locator("#model-grid .va-card").first).to_contain_text("Keep", timeout=TIMEOUT)
