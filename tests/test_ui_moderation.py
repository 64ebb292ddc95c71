"""Reporting and moderating in the browser: Report on a model page and on a comment, the Moderation tab (for
moderators only) showing three reports as one, Hide with a reason, and what each person then sees."""

from __future__ import annotations

import pytest
import requests
from gradio_client.exceptions import AppError
from playwright.sync_api import expect

from tests.browser import chromium, screenshot, visit
from tests.community_helpers import upload_model
from tests.conftest import bearer, register
from tests.test_ui_library import TIMEOUT, api_client, choose, field
from tests.test_ui_notifications import BELL_WAIT, bell


def make_moderator(server) -> dict:
    account = register(server)
    requests.put(server.api(f"/api/v1/admin/users/{account['user']['username']}/moderator"),
                 headers=bearer(server.admin_token), timeout=30).raise_for_status()
    return account


def test_three_reports_one_entry_hidden_by_a_moderator(server, tmp_path):
    owner, mod, plain = register(server), make_moderator(server), register(server)
    reporters = [register(server) for _ in range(3)]
    model = upload_model(server, owner, tmp_path, seed=601, name="Questionable Model")
    for reporter in reporters[1:]:
        requests.post(server.api("/api/v1/reports"), json={"type": "model", "id": model["id"], "reason": "spam"},
                      headers=bearer(reporter["token"]), timeout=30).raise_for_status()
    with chromium() as browser:
        page = visit(browser, server, f"/?model={model['id']}", token=reporters[0]["token"])
        page.locator("#model-report-button").click()
        expect(page.locator("#model-report-heading")).to_contain_text("Report this model", timeout=TIMEOUT)
        choose(page, "model-report-reason", "Copyright or stolen work")
        field(page, "model-report-details").fill("copied from my page")
        page.locator("#model-report-send").click()
        expect(page.get_by_text("Thank you: the moderators will look at it.")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#model-report")).to_be_hidden()

        someone = visit(browser, server, "/", token=plain["token"])
        expect(someone.get_by_role("tab", name="Moderation", exact=True)).to_have_count(0)  # not for plain users

        moderating = visit(browser, server, "/?tab=moderation", token=mod["token"])
        entry = moderating.locator("#moderation-queue .va-report", has_text="Questionable Model")
        expect(entry).to_contain_text("3 reporters", timeout=TIMEOUT)
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text("copied from my page")
        screenshot(moderating, "moderation-queue")
        field(moderating, "moderation-note").fill("a copy of someone else's work")
        entry.locator("[data-decide=hide]").click()
        entry.locator("[data-decide=hide]").click()  # the second click confirms
        expect(moderating.locator("#moderation-queue")).not_to_contain_text("Questionable Model", timeout=TIMEOUT)

        visitor = visit(browser, server, f"/?model={model['id']}")
        expect(visitor.locator("#model-page-body .va-not-found")).to_contain_text("Not found", timeout=TIMEOUT)
        mine = visit(browser, server, f"/?model={model['id']}", token=owner["token"])
        expect(mine.locator("#model-page-body")).to_contain_text("Hidden by a moderator", timeout=TIMEOUT)
        expect(bell(mine)).to_have_text("🔔 1", timeout=BELL_WAIT)
        bell(mine).click()
        expect(mine.locator("#notifications-list .va-note").first).to_contain_text(
            "The moderators acted on your model “Questionable Model”: Hidden: a copy of someone else's work",
            timeout=TIMEOUT)
        expect(bell(page)).to_have_text("🔔 1", timeout=BELL_WAIT)  # the reporter hears back
    assert requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=30).status_code == 404

    with pytest.raises(AppError, match="only moderators"):
        api_client(server, plain["token"]).predict(note="", api_name="/moderate")


def test_reporting_a_comment_from_its_report_button(server, tmp_path):
    owner, troll, mod = register(server), register(server), make_moderator(server)
    model = upload_model(server, owner, tmp_path, seed=602, name="Commented Model")
    requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={"body": "buy cheap pills"},
                  headers=bearer(troll["token"]), timeout=30).raise_for_status()
    with chromium() as browser:
        page = visit(browser, server, f"/?model={model['id']}", token=owner["token"])
        page.locator("#model-comments [data-report-comment]").first.click()
        expect(page.locator("#model-report-heading")).to_contain_text("Report this comment", timeout=TIMEOUT)
        choose(page, "model-report-reason", "Spam or advertising")
        page.locator("#model-report-send").click()
        expect(page.get_by_text("Thank you: the moderators will look at it.")).to_be_visible(timeout=TIMEOUT)
    queue = requests.get(server.api("/api/v1/moderation/reports"), headers=bearer(mod["token"]), timeout=30).json()
    [entry] = [r for r in queue["items"] if r["type"] == "comment"]
    assert (entry["subjectName"], entry["owner"], entry["reasons"]) == \
        ("buy cheap pills", troll["user"]["username"], {"spam": 1})
