"""A model's licence (Civitai's permissions): its owner sets it over REST or in My uploads, everyone sees it on the
model page and in the API, and the listing filters find it. Real server, real HTTP, headless Chromium."""

from __future__ import annotations

import itertools

import pytest
import requests
from gradio_client.exceptions import AppError
from playwright.sync_api import expect

from tests import sample_files
from tests.browser import chromium, screenshot
from tests.community_helpers import upload_model
from tests.conftest import bearer, incoming_leftovers, register
from tests.test_ui_library import api_client, choose, logged_in_page, open_tab

TIMEOUT = 30_000
EVERY_USE = ["Image", "RentCivit", "Rent", "Sell"]
SEEDS = itertools.count(1750)
LICENCE = ("allowNoCredit", "allowCommercialUse", "allowDerivatives", "allowDifferentLicense")


def licence_of(model: dict) -> dict:
    return {key: model[key] for key in LICENCE}


def get_model(server, model_id: int) -> dict:
    reply = requests.get(server.api(f"/api/v1/models/{model_id}"), timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def patch(server, account: dict | None, model_id: int, body: dict) -> requests.Response:
    headers = bearer(account["token"]) if account else {}
    return requests.patch(server.api(f"/api/v1/models/{model_id}"), json=body, headers=headers, timeout=30)


def listed(server, account: dict, **params) -> list[int]:
    reply = requests.get(server.api("/api/v1/models"), timeout=30,
                         params={"username": account["user"]["username"], **params})
    assert reply.status_code == 200, reply.text
    return [item["id"] for item in reply.json()["items"]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("licence")


def test_a_new_upload_has_civitais_defaults_until_its_owner_sets_the_licence(server, folder):
    owner = register(server)
    model = upload_model(server, owner, folder, seed=1701, name="Ink Wash")
    assert licence_of(model) == {"allowNoCredit": True, "allowCommercialUse": EVERY_USE, "allowDerivatives": True,
                                 "allowDifferentLicense": True}
    other = upload_model(server, owner, folder, seed=1702, name="Untouched")

    reply = patch(server, owner, model["id"], {"allowNoCredit": False, "allowCommercialUse": ["Sell", "Image"],
                                               "allowDifferentLicense": False})
    assert reply.status_code == 200, reply.text
    expected = {"allowNoCredit": False, "allowCommercialUse": ["Image", "Sell"], "allowDerivatives": True,
                "allowDifferentLicense": False}  # Civitai's order; allowDerivatives was left out, so it stays
    assert licence_of(reply.json()) == expected
    assert licence_of(get_model(server, model["id"])) == expected
    assert reply.json()["name"] == "Ink Wash"  # nothing else changed

    assert listed(server, owner, allowNoCredit="false") == [model["id"]]
    assert listed(server, owner, allowCommercialUse="Sell") == [other["id"], model["id"]]
    assert listed(server, owner, allowCommercialUse="Rent") == [other["id"]]
    assert listed(server, owner, allowDifferentLicense="true") == [other["id"]]

    assert patch(server, owner, model["id"], {"allowCommercialUse": []}).status_code == 200  # [] is Civitai's None
    assert get_model(server, model["id"])["allowCommercialUse"] == []
    assert listed(server, owner, allowCommercialUse="None") == [model["id"]]
    assert patch(server, owner, model["id"], {"allowCommercialUse": ["None"]}).status_code == 200
    assert get_model(server, model["id"])["allowCommercialUse"] == []
    assert patch(server, owner, model["id"], {"name": "Ink Wash II"}).status_code == 200  # an edit keeps it
    assert licence_of(get_model(server, model["id"])) == {**expected, "allowCommercialUse": []}


def test_only_the_owner_or_an_admin_changes_the_licence(server, folder):
    owner, intruder = register(server), register(server)
    model = upload_model(server, owner, folder, seed=1711)
    before = licence_of(model)
    assert patch(server, None, model["id"], {"allowNoCredit": False}).status_code == 401
    refused = patch(server, intruder, model["id"], {"allowNoCredit": False, "allowCommercialUse": []})
    assert refused.status_code == 403 and "owner" in refused.json()["error"]
    assert licence_of(get_model(server, model["id"])) == before

    admin = {"token": server.admin_token}
    assert patch(server, admin, model["id"], {"allowDerivatives": False}).status_code == 200
    assert get_model(server, model["id"])["allowDerivatives"] is False


@pytest.mark.parametrize(("body", "named"), [
    ({"allowCommercialUse": ["Image", "Lend"]}, "'Lend'"),
    ({"allowCommercialUse": "Everything"}, "'Everything'"),
    ({"allowCommercialUse": ["None", "Sell"]}, "None cannot be combined"),
    ({"allowNoCredit": "maybe"}, "allowNoCredit"),
    ({"allowDerivatives": [True]}, "allowDerivatives"),
    ({"allowCommercialUse": ["Image"] * 9}, "allowCommercialUse"),
])
def test_a_bad_licence_is_refused_naming_it_and_changes_nothing(server, folder, body, named):
    owner = register(server)
    model = upload_model(server, owner, folder, seed=next(SEEDS))
    reply = patch(server, owner, model["id"], {"name": "renamed", "allowDifferentLicense": False, **body})
    assert reply.status_code == 400, reply.text
    assert named in reply.json()["error"]
    if "allowCommercialUse" in body and named.startswith("'"):
        assert "allowCommercialUse" in reply.json()["error"]
    after = get_model(server, model["id"])
    assert (after["name"], licence_of(after)) == (model["name"], licence_of(model))


def test_the_upload_form_takes_the_licence_too(server, folder):
    owner = register(server)
    model = upload_model(server, owner, folder, seed=1731, allowNoCredit="false", allowCommercialUse="Image,Rent",
                         allowDerivatives="true")
    assert licence_of(model) == {"allowNoCredit": False, "allowCommercialUse": ["Image", "Rent"],
                                 "allowDerivatives": True, "allowDifferentLicense": True}
    total = requests.get(server.api("/api/v1/models"), timeout=30).json()["metadata"]["totalItems"]
    for bad, named in (({"allowCommercialUse": "Sell,Lend"}, "'Lend'"), ({"allowNoCredit": "perhaps"}, "allowNoCredit")):
        path = sample_files.embedding(folder / "refused.safetensors", seed=1732)
        with open(path, "rb") as handle:
            reply = requests.post(server.api("/api/v1/models"), headers=bearer(owner["token"]), timeout=60,
                                  files={"file": (path.name, handle)}, data=bad)
        assert reply.status_code == 400 and named in reply.json()["error"], reply.text
    assert requests.get(server.api("/api/v1/models"), timeout=30).json()["metadata"]["totalItems"] == total
    assert incoming_leftovers(server) == []


def permission(body, key: str):
    return body.locator(f'.va-licence [data-licence="{key}"]')


def test_the_owner_edits_the_permissions_in_my_uploads_and_the_model_page_shows_them(server, folder):
    owner, intruder = register(server), register(server)
    model = upload_model(server, owner, folder, seed=1741, name="Permit Test")
    with chromium() as browser:
        page = logged_in_page(browser, server, owner["token"])
        open_tab(page, "Upload")
        open_tab(page, "My uploads")
        expect(page.locator("#my-uploads-list")).to_contain_text("Permit Test", timeout=TIMEOUT)
        choose(page, "my-model", f"Permit Test (#{model['id']})")
        expect(page.locator("#edit-allow-no-credit input")).to_be_checked(timeout=TIMEOUT)
        uses = page.locator("#edit-commercial-use")
        expect(uses.get_by_label("Sell this model or merges of it")).to_be_checked()
        page.locator("#edit-allow-no-credit input").uncheck()
        uses.get_by_label("Sell this model or merges of it").uncheck()
        uses.get_by_label("Run it on services that generate images for money").uncheck()
        page.locator("#save-licence-button").click()
        expect(page.locator("#my-uploads-status")).to_contain_text("Saved the permissions of Permit Test",
                                                                   timeout=TIMEOUT)
        assert licence_of(get_model(server, model["id"])) == {
            "allowNoCredit": False, "allowCommercialUse": ["Image", "RentCivit"], "allowDerivatives": True,
            "allowDifferentLicense": True}

        open_tab(page, "Models")
        page.locator(".va-card", has_text="Permit Test").click()
        body = page.locator("#model-page-body")
        expect(body.locator(".va-licence")).to_contain_text("Permissions", timeout=TIMEOUT)
        for key, allowed in (("no_credit", False), ("use_image", True), ("use_rent", False), ("use_rentcivit", True),
                             ("derivatives", True), ("use_sell", False), ("different_license", True)):
            expect(permission(body, key)).to_have_class("va-yes" if allowed else "va-no")
        expect(permission(body, "no_credit")).to_contain_text("✗ Use the model without crediting the creator")
        expect(permission(body, "use_image")).to_contain_text("✓ Sell images they generate")
        screenshot(page, "model-licence")

        open_tab(page, "Upload")
        screenshot(page, "my-uploads-licence")

        chinese = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"}).new_page()
        chinese.goto(server.url)
        chinese.get_by_role("tab", name="模型", exact=True).click()
        chinese.locator(".va-card", has_text="Permit Test").click()
        licence = chinese.locator("#model-page-body .va-licence")
        expect(licence).to_contain_text("使用许可", timeout=TIMEOUT)
        expect(permission(chinese.locator("#model-page-body"), "no_credit")).to_contain_text("✗ 使用此模型时无需注明作者")

    with pytest.raises(AppError, match="owner"):  # the same event for someone else's model: refused, unchanged
        api_client(server, intruder["token"]).predict(model_id=model["id"], no_credit=True, commercial_use=EVERY_USE,
                                                      derivatives=True, different_license=True,
                                                      api_name="/edit_licence")
    assert get_model(server, model["id"])["allowNoCredit"] is False
