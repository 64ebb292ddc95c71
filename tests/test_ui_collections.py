"""Collections in the browser: Save to collection from a model's page (a new one by name) and from a picture's
card in the gallery (its Save opens the picture's page with the picker open; an existing one), the profile's Collections list, and the collection's own page (its address shared)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import chromium, screenshot, visit
from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import register
from tests.test_ui_library import TIMEOUT, field


def test_saving_to_a_collection_and_opening_it(server, tmp_path):
    maker, keeper = register(server), register(server)
    model = upload_model(server, maker, tmp_path, seed=1201, name="Collectable Model")
    image = upload_image(server, maker, picture()).json()
    with chromium() as browser:
        page = visit(browser, server, f"/?model={model['id']}", token=keeper["token"])
        page.locator("#model-collect").get_by_text("Save to collection").click()
        field(page, "model-new-collection").fill("Portraits I like")
        page.locator("#model-collection-save").click()
        expect(page.get_by_text("Saved to Portraits I like.")).to_be_visible(timeout=TIMEOUT)

        page.goto(server.url + "/?tab=gallery")  # a card's Save opens its page with the picker open
        card = page.locator("#gallery-grid .va-saveable", has=page.locator(f'[data-key="{image["id"]}"]'))
        card.locator(".va-save").click()
        expect(page.locator("#image-collection")).to_be_visible(timeout=TIMEOUT)
        assert f"image={image['id']}" in page.url
        page.locator("#image-collection input").click()
        page.get_by_role("option", name="Portraits I like").click()
        page.locator("#image-collection-save").click()
        expect(page.get_by_text("Saved to Portraits I like.")).to_be_visible(timeout=TIMEOUT)

        page.goto(server.url + f"/?user={keeper['user']['username']}")
        listed = page.locator("#profile-collections")
        expect(listed).to_contain_text("Portraits I like", timeout=TIMEOUT)
        expect(listed).to_contain_text("2 items")
        listed.get_by_role("button", name="Portraits I like").click()
        expect(page.locator("#profile-header")).to_contain_text("Portraits I like", timeout=TIMEOUT)
        expect(page.locator("#profile-models")).to_contain_text("Collectable Model")
        expect(page.locator(f'#profile-images [data-key="{image["id"]}"]')).to_be_visible()
        assert "collection=" in page.url  # the collection's own address
        screenshot(page, "collection-page")

        visitor = visit(browser, server, page.url.replace(server.url, ""))
        expect(visitor.locator("#profile-header")).to_contain_text("Portraits I like", timeout=TIMEOUT)
