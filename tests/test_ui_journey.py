"""A browser journey with two users: A uploads a model and publishes an image made with it; B finds the model
by search, likes it, comments, follows A; B's feed shows A's next published image; A cannot delete B's
comment (403), an admin can.  Setup steps other tests cover (uploads) go through REST; B's steps and the
admin's deletion happen in headless Chromium.  Screenshots of each tab land in test-artifacts/."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.browser import chromium, screenshot
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register
from tests.test_ui_library import TIMEOUT, choose, field, logged_in_page, open_tab


def main_tab(page, name: str):
    return page.get_by_role("tab", name=name, exact=True)


def settle(page) -> None:
    page.wait_for_timeout(600)  # let images load and transitions end before a screenshot


def test_two_users_meet_through_a_model(server, tmp_path):
    alice, bob = register(server, "moon_alice"), register(server, "moon_bob")
    model = upload_model(server, alice, tmp_path, seed=401, name="Moonlit Watercolor",
                         description="Soft **watercolor** washes under moonlight.", tags="watercolor, night")
    autov2 = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"]
    first = upload_image(server, alice, picture("PNG", parameters("a moonlit lake, watercolor", model_hash=autov2),
                                                size=(192, 192), color="navy"))
    assert first.status_code == 201 and first.json()["modelId"] == model["id"], first.text

    with chromium() as browser:
        page = logged_in_page(browser, server, bob["token"])
        open_tab(page, "Search")
        field(page, "search-query").fill("moonl")
        page.locator("#search-button").click()
        card = page.locator("#search-models-results .va-card", has_text="Moonlit Watercolor")
        expect(card).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_role("tab", name="Images (1)")).to_be_visible()
        settle(page)
        screenshot(page, "journey-search")

        card.click()
        expect(main_tab(page, "Models")).to_have_attribute("aria-selected", "true", timeout=TIMEOUT)
        expect(page.locator("#model-page-body .va-title")).to_have_text("Moonlit Watercolor", timeout=TIMEOUT)
        expect(page.locator("#model-samples .va-shot")).to_have_count(1)
        page.locator("#model-like").click()
        expect(page.locator("#model-like")).to_contain_text("Liked · 1", timeout=TIMEOUT)
        field(page, "comment-body").fill("Gorgeous **washes** — what CFG do you use?")
        page.locator("#comment-post").click()
        comment = page.locator("#model-comments .va-comment").first
        expect(comment.locator("strong")).to_have_text("washes", timeout=TIMEOUT)
        expect(comment).to_contain_text("moon_bob")
        expect(field(page, "comment-body")).to_have_value("")
        settle(page)
        screenshot(page, "journey-model-page")

        page.locator("#model-creator").click()
        expect(main_tab(page, "Profile")).to_have_attribute("aria-selected", "true", timeout=TIMEOUT)
        expect(page.locator("#profile-header h2")).to_have_text("moon_alice", timeout=TIMEOUT)
        page.locator("#profile-follow").click()
        expect(page.locator("#profile-follow")).to_contain_text("Following", timeout=TIMEOUT)
        expect(page.locator("#profile-header .va-count-followers")).to_contain_text("1 follower")
        settle(page)
        screenshot(page, "journey-profile")

        second = upload_image(server, alice, picture("PNG", parameters("a moonlit harbour, watercolor",
                                                                         model_hash=autov2), color="indigo"))
        assert second.status_code == 201, second.text
        open_tab(page, "Feed")
        newest = page.locator("#feed-list .va-feed-item").first
        expect(newest).to_contain_text("a moonlit harbour", timeout=TIMEOUT)
        expect(newest).to_contain_text("moon_alice published an image")
        settle(page)
        screenshot(page, "journey-feed")

        open_tab(page, "Gallery")
        choose(page, "gallery-model", "Moonlit Watercolor")
        expect(page.locator("#gallery-page-info")).to_contain_text("2 images", timeout=TIMEOUT)
        expect(page.locator("#gallery-grid .va-shot")).to_have_count(2)
        settle(page)
        screenshot(page, "journey-gallery")
        page.locator("#gallery-grid .va-shot", has_text="harbour").click()
        expect(page.locator("#image-page-body")).to_contain_text("Moonlit Watercolor", timeout=TIMEOUT)
        page.locator("#image-page-body").get_by_role("button", name="Moonlit Watercolor").click()
        expect(page.locator("#model-page-body .va-title")).to_have_text("Moonlit Watercolor", timeout=TIMEOUT)
        page.close()

        comment_id = requests.get(server.api(f"/api/v1/models/{model['id']}/comments"),
                                  timeout=30).json()["items"][0]["id"]
        refused = requests.delete(server.api(f"/api/v1/comments/{comment_id}"), headers=bearer(alice["token"]),
                                  timeout=30)
        assert refused.status_code == 403, refused.text
        page = logged_in_page(browser, server, alice["token"])
        open_tab(page, "Models")
        page.locator(".va-card", has_text="Moonlit Watercolor").click()
        expect(page.locator("#model-comments .va-comment")).to_contain_text("moon_bob", timeout=TIMEOUT)
        expect(page.locator("#model-comments .va-comment-delete")).to_have_count(0)
        page.close()

        page = logged_in_page(browser, server, server.admin_token)
        open_tab(page, "Models")
        page.locator(".va-card", has_text="Moonlit Watercolor").click()
        delete = page.locator("#model-comments .va-comment-delete")
        delete.click()
        expect(delete).to_have_text("Click again to delete")
        delete.click()
        expect(page.locator("#model-comments")).to_contain_text("No comments yet", timeout=TIMEOUT)

    stats = requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=30).json()["stats"]
    assert (stats["favoriteCount"], stats["commentCount"]) == (1, 0)
    alice_profile = requests.get(server.api("/api/v1/users/moon_alice"), timeout=30).json()
    assert alice_profile["stats"]["followerCount"] == 1
