"""Owner and admin controls where they belong (issue 22): Edit, New version and Delete on one's own model page
(nobody else sees them), a link to the new model after an upload, and the admin's searchable user list with
Ban/Unban behind a confirmation, in headless Chromium against the real app."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests import sample_files
from tests.browser import chromium, visit
from tests.community_helpers import upload_model
from tests.conftest import PASSWORD, bearer, register

TIMEOUT = 30_000


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def test_the_owner_edits_adds_a_version_and_deletes_from_the_model_page(browser, server, tmp_path):
    owner, stranger = register(server), register(server)
    model = upload_model(server, owner, tmp_path, seed=901, name="Owned Model", description="first words")
    for token in (None, stranger["token"]):
        page = visit(browser, server, f"/?model={model['id']}", token)
        expect(page.locator("#model-page-body h2")).to_have_text("Owned Model", timeout=TIMEOUT)
        for control in ("#model-edit", "#model-new-version", "#model-delete"):
            expect(page.locator(control)).to_be_hidden()
        page.context.close()

    page = visit(browser, server, f"/?model={model['id']}", owner["token"])
    expect(page.locator("#model-page-body h2")).to_have_text("Owned Model", timeout=TIMEOUT)
    page.locator("#model-edit").click()
    expect(page).to_have_url(re.compile(rf"\?edit={model['id']}$"), timeout=TIMEOUT)
    description = page.locator("#edit-description textarea")
    expect(description).to_have_value("first words", timeout=TIMEOUT)
    description.fill("better words")
    page.locator("#save-model-button").click()
    expect(page.locator("#my-uploads-status")).to_contain_text("Saved", timeout=TIMEOUT)
    assert requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=30).json()["description"] == \
        "better words"

    page.goto(server.url + f"/?model={model['id']}")
    page.locator("#model-new-version").click()
    expect(page.locator("#upload-mode input[value=version]")).to_be_checked(timeout=TIMEOUT)
    expect(page.locator("#upload-target input")).to_have_value(re.compile("Owned Model"))
    version_file = sample_files.embedding(tmp_path / "owned_v2.safetensors", seed=902)
    page.locator("#upload-file input[type=file]").set_input_files(str(version_file))
    page.locator("#upload-button").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Added version", timeout=60_000)
    status.locator("[data-open=model]").click()  # the upload's success links to the model's page
    expect(page.locator("#model-page-body section.va-version")).to_have_count(2, timeout=TIMEOUT)

    page.locator("#model-delete").click()
    page.locator("#model-delete-confirm").click()
    expect(page.locator(".toast-body", has_text="The model and its files were deleted.")).to_be_visible(
        timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"\?tab=models$"))
    assert requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=30).status_code == 404
    page.context.close()


def test_the_admin_finds_someone_and_bans_them_after_confirming(browser, server):
    member = register(server)
    name = member["user"]["username"]
    stats = requests.get(server.api("/api/v1/admin/stats"), headers=bearer(server.admin_token), timeout=30).json()
    listed = requests.get(server.api("/api/v1/admin/users"), headers=bearer(server.admin_token),
                          params={"limit": 100}, timeout=30).json()
    assert "site" not in {m["username"] for m in listed["items"]}  # the internal account is nobody
    assert stats["users"] == listed["metadata"]["totalItems"]
    assert requests.get(server.api("/api/v1/admin/users"), headers=bearer(member["token"]),
                        timeout=30).status_code == 403

    page = visit(browser, server, "/?tab=admin", server.admin_token)
    page.locator("#admin-user-query input, #admin-user-query textarea").first.fill(name)
    page.locator("#admin-user-query input, #admin-user-query textarea").first.press("Enter")
    row = page.locator(f"#admin-users tr[data-username='{name}']")
    expect(row).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#admin-users tbody tr")).to_have_count(1)
    ban = row.locator("[data-user-action=ban]")
    ban.click()
    expect(ban).to_have_text(f"Really ban {name}? Click again")
    assert requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD},
                         timeout=30).status_code == 200  # one click did nothing yet
    ban.click()
    expect(row.locator("[data-user-action=unban]")).to_be_visible(timeout=TIMEOUT)
    expect(row).to_contain_text("banned")
    refused = requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD},
                            timeout=30)
    assert (refused.status_code, refused.json()["error"]) == (403, "this account is banned")
    row.locator(f"[data-open=user][data-key='{name}']").first.click()  # their content: the profile
    expect(page.locator("#profile-header")).to_contain_text(name, timeout=TIMEOUT)
    page.context.close()
