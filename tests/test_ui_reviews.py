"""Reviewing on the model page: the form for other members (not the owner), the summary and the list, the card's
share, and a second review editing the first."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import chromium, screenshot, visit
from tests.community_helpers import upload_model
from tests.conftest import register
from tests.test_ui_library import TIMEOUT, field


def test_a_member_reviews_and_edits_the_review(server, tmp_path):
    owner, fan = register(server), register(server)
    model = upload_model(server, owner, tmp_path, seed=1001, name="Reviewable Model")
    with chromium() as browser:
        mine = visit(browser, server, f"/?model={model['id']}", token=owner["token"])
        expect(mine.locator("#model-review-summary")).to_contain_text("No reviews yet.", timeout=TIMEOUT)
        expect(mine.locator("#model-review-form")).to_be_hidden()  # not one's own model

        page = visit(browser, server, f"/?model={model['id']}", token=fan["token"])
        form = page.locator("#model-review-form")
        expect(form).to_be_visible(timeout=TIMEOUT)
        form.get_by_label("👍 Recommend").check()
        field(page, "model-review-details").fill("sharp details, easy to prompt")
        page.locator("#model-review-submit").click()
        expect(page.locator("#model-review-summary")).to_contain_text("👍 100% recommend · 1 review", timeout=TIMEOUT)
        expect(page.locator("#model-reviews")).to_contain_text("sharp details, easy to prompt")
        expect(page.locator("#model-page-body")).to_contain_text("100% recommend")
        screenshot(page, "model-reviews")

        form.get_by_label("👎 Don't recommend").check()
        page.locator("#model-review-submit").click()
        expect(page.locator("#model-review-summary")).to_contain_text("👍 0% recommend · 1 review", timeout=TIMEOUT)
        page.goto(server.url + "/?tab=models")
        card = page.locator(f'.va-card[data-model-id="{model["id"]}"]')
        expect(card).to_contain_text("👍 0%", timeout=TIMEOUT)
