"""The model library through the real UI (headless Chromium) and through Gradio's API client."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest
import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from playwright.sync_api import expect

from tests import sample_files
from tests.browser import chromium, screenshot
from tests.conftest import bearer, register
from tests.test_library_api import upload

TIMEOUT = 30_000


def logged_in_page(browser, server, token: str):
    """A page whose browser holds the session cookie (as after logging in), on the home tab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "visionary_session", "value": token, "url": server.url, "httpOnly": True}])
    page = context.new_page()
    page.goto(server.url)
    expect(page.locator("#whoami")).to_contain_text("Logged in as", timeout=TIMEOUT)
    return page


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def field(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).click()


def api_client(server, token: str | None = None) -> Client:
    headers = {"Cookie": f"visionary_session={token}"} if token else None
    return Client(server.url, analytics_enabled=False, headers=headers, verbose=False, download_files=False)


def get_model(server, model_id: int, token: str | None = None) -> requests.Response:
    return requests.get(server.api(f"/api/v1/models/{model_id}"), headers=bearer(token) if token else None, timeout=30)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_files(server) -> set[str]:
    return {str(p.relative_to(server.models_dir)) for p in server.models_dir.rglob("*") if p.is_file()}


# Gradio's file preview shows the name's stem and extension in two parts, laid out apart while it settles.
SHOWN_FILE_NAME = re.compile(r"pastel_style\s*\.safetensors")


def test_upload_in_the_ui_then_browse_open_and_download(server, tmp_path):
    owner = register(server)
    lora = sample_files.kohya_lora(tmp_path / "pastel_style.safetensors", seed=21)
    digest = sha256(lora)
    with chromium() as browser:
        page = logged_in_page(browser, server, owner["token"])
        open_tab(page, "Upload")
        expect(page.locator("#upload-who")).to_contain_text(owner["user"]["username"], timeout=TIMEOUT)
        page.locator("#upload-file input[type=file]").set_input_files(str(lora))
        expect(page.locator("#upload-file")).to_contain_text(SHOWN_FILE_NAME, timeout=TIMEOUT)
        field(page, "upload-name").fill("Pastel Dream")
        field(page, "upload-description").fill("Soft **pastel** colours.")
        field(page, "upload-tags").fill("pastel, style")
        page.locator("#upload-button").click()
        status = page.locator("#upload-status")
        expect(status).to_contain_text("Uploaded Pastel Dream: LoRA · SD 1.5", timeout=60_000)
        expect(status).to_contain_text(digest[:10].upper())

        open_tab(page, "Models")
        card = page.locator(".va-card", has_text="Pastel Dream")
        expect(card).to_contain_text("LoRA", timeout=TIMEOUT)
        expect(card).to_contain_text("SD 1.5")
        expect(card).to_contain_text(f"by {owner['user']['username']}")
        page.wait_for_timeout(500)  # let the fade-in finish before the picture
        screenshot(page, "models-tab")

        card.click()
        body = page.locator("#model-page-body")
        expect(body.locator(".va-sha256")).to_have_text(digest.upper(), timeout=TIMEOUT)
        expect(body.locator(".va-autov2")).to_have_text(digest[:10].upper())
        expect(body.locator(".va-meta")).to_contain_text("ss_output_name")
        expect(body.locator(".va-meta")).to_contain_text("pastel_style")
        expect(body.locator(".va-description strong")).to_have_text("pastel")
        expect(body.locator(".va-tags")).to_contain_text("pastel")
        page.wait_for_timeout(500)
        screenshot(page, "model-page")
        href = body.locator("a.va-download").get_attribute("href")
        page.locator("#model-page-back").click()
        expect(page.locator("#model-grid")).to_be_visible()

        open_tab(page, "Upload")  # the same file again: a clear error naming the model that holds it
        page.locator("#upload-file input[type=file]").set_input_files(str(lora))
        expect(page.locator("#upload-file")).to_contain_text(SHOWN_FILE_NAME, timeout=TIMEOUT)
        page.locator("#upload-button").click()
        expect(page.locator(".toast-body")).to_contain_text("already in the library", timeout=TIMEOUT)
        expect(page.locator(".toast-body")).to_contain_text("Pastel Dream")
    download = requests.get(server.url + href, timeout=30)
    assert download.status_code == 200
    assert download.content == lora.read_bytes()


def test_filters_sorts_and_pages(server, tmp_path):
    author = register(server)
    name = author["user"]["username"]
    models = [upload(server, author, sample_files.embedding(tmp_path / f"emb_{i:02}.safetensors", seed=100 + i)).json()
              for i in range(25)]
    popular = models[3]
    requests.get(server.api(f"/api/download/models/{popular['modelVersions'][0]['id']}"), timeout=30)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url)
        open_tab(page, "Models")
        field(page, "models-creator").fill(name)
        field(page, "models-creator").press("Enter")
        expect(page.locator("#models-page-info")).to_contain_text("Page 1 of 2 · 25 models", timeout=TIMEOUT)
        expect(page.locator(".va-card")).to_have_count(24)
        expect(page.locator(".va-card").first).to_contain_text("emb_24")  # newest first
        page.locator("#models-next").click()
        expect(page.locator("#models-page-info")).to_contain_text("Page 2 of 2", timeout=TIMEOUT)
        expect(page.locator(".va-card")).to_have_count(1)
        expect(page.locator(".va-card")).to_contain_text("emb_00")
        choose(page, "models-sort", "Most downloaded")
        expect(page.locator("#models-page-info")).to_contain_text("Page 1 of 2", timeout=TIMEOUT)
        expect(page.locator(".va-card").first).to_contain_text(popular["name"])
        choose(page, "models-type", "Checkpoint")
        expect(page.locator("#model-grid")).to_contain_text("No models match", timeout=TIMEOUT)
        choose(page, "models-type", "Embedding")
        expect(page.locator("#models-page-info")).to_contain_text("25 models", timeout=TIMEOUT)


def test_hostile_name_and_description_render_inert(server, tmp_path):
    author = register(server)
    hostile_name = '<img src=x onerror="window.__pwned=1">Evil'
    description = ("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
                   "[click me](javascript:alert(1))\n\n<img src=x onerror=\"window.__pwned=2\">\n\n**still bold**")
    reply = upload(server, author, sample_files.vae(tmp_path / "evil.safetensors", seed=31), name=hostile_name,
                   description=description)
    assert reply.status_code == 201, reply.text
    with chromium() as browser:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url)
        open_tab(page, "Models")
        card = page.locator(".va-card", has_text="Evil")
        expect(card).to_contain_text(hostile_name, timeout=TIMEOUT)
        card.click()
        body = page.locator("#model-page-body")
        expect(body.locator(".va-title")).to_have_text(hostile_name, timeout=TIMEOUT)
        expect(body.locator(".va-description strong")).to_have_text("still bold")
        expect(body.locator(".va-description")).to_contain_text("<script>alert(1)</script>")
        body.get_by_text("click me").click()
        page.wait_for_timeout(500)
        assert dialogs == []
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#model-grid img, #model-page-body img, #model-page-body script").count() == 0
        assert body.locator("a[href^='javascript' i]").count() == 0


def test_my_uploads_edit_and_delete_with_confirmation(server, tmp_path):
    owner = register(server)
    path = sample_files.embedding(tmp_path / "soft_hands.safetensors", seed=41)
    model = upload(server, owner, path).json()
    files_before = stored_files(server)
    with chromium() as browser:
        page = logged_in_page(browser, server, owner["token"])
        open_tab(page, "Upload")
        open_tab(page, "My uploads")
        expect(page.locator("#my-uploads-list")).to_contain_text("soft_hands.safetensors", timeout=TIMEOUT)
        choose(page, "my-model", f"soft_hands (#{model['id']})")
        expect(field(page, "edit-name")).to_have_value("soft_hands", timeout=TIMEOUT)
        field(page, "edit-name").fill("Soft Hands")
        field(page, "edit-description").fill("Fixes *hands*.")
        page.locator("#save-model-button").click()
        expect(page.locator("#my-uploads-status")).to_contain_text("Saved Soft Hands", timeout=TIMEOUT)
        expect(page.locator("#my-uploads-list")).to_contain_text("Soft Hands", timeout=TIMEOUT)
        edited = get_model(server, model["id"]).json()
        assert (edited["name"], edited["description"], edited["type"]) == ("Soft Hands", "Fixes *hands*.",
                                                                           "TextualInversion")

        choose(page, "delete-target", "The whole model “Soft Hands” (1 version(s))")
        page.locator("#delete-button").click()
        expect(page.locator(".toast-body")).to_contain_text("I understand", timeout=TIMEOUT)
        assert get_model(server, model["id"]).status_code == 200
        page.locator("#delete-confirm input").check()
        page.locator("#delete-button").click()
        expect(page.locator("#my-uploads-status")).to_contain_text("Deleted the model", timeout=TIMEOUT)
        expect(page.locator("#my-uploads-list")).not_to_contain_text("Soft Hands", timeout=TIMEOUT)
        expect(page.locator("#delete-confirm input")).not_to_be_checked()
    assert get_model(server, model["id"]).status_code == 404
    assert len(files_before - stored_files(server)) == 1


def test_visitor_cannot_upload_edit_or_delete_through_the_api(server, tmp_path):
    owner = register(server)
    model = upload(server, owner, sample_files.vae(tmp_path / "kept.safetensors", seed=51)).json()
    files_before = stored_files(server)
    total_before = requests.get(server.api("/api/v1/models"), timeout=30).json()["metadata"]["totalItems"]
    visitor = api_client(server)
    with pytest.raises(httpx.HTTPStatusError):  # Gradio's upload route itself is closed to visitors
        visitor.predict(file_path=handle_file(str(sample_files.vae(tmp_path / "new.safetensors", seed=52))),
                        mode="new", api_name="/upload_model")
    with pytest.raises(AppError, match="log in"):
        visitor.predict(target_value=f"model:{model['id']}", confirmed=True, api_name="/delete_upload")
    with pytest.raises(AppError, match="log in"):
        visitor.predict(model_id=model["id"], name="hijacked", kind=None, base=None, visibility=None,
                        description=None, tags=None, trigger_words=None, api_name="/edit_model")
    assert get_model(server, model["id"]).json()["name"] == "kept"
    assert requests.get(server.api("/api/v1/models"), timeout=30).json()["metadata"]["totalItems"] == total_before
    assert stored_files(server) == files_before


def test_another_user_cannot_edit_or_delete_through_the_api(server, tmp_path):
    owner, other = register(server), register(server)
    model = upload(server, owner, sample_files.vae(tmp_path / "mine.safetensors", seed=61)).json()
    version = model["modelVersions"][0]
    files_before = stored_files(server)
    intruder = api_client(server, other["token"])
    for target in (f"model:{model['id']}", f"version:{version['id']}", f"file:{version['files'][0]['id']}"):
        with pytest.raises(AppError, match="owner"):
            intruder.predict(target_value=target, confirmed=True, api_name="/delete_upload")
    with pytest.raises(AppError, match="owner"):
        intruder.predict(model_id=model["id"], name="hijacked", kind=None, base=None, visibility="private",
                         description=None, tags=None, trigger_words=None, api_name="/edit_model")
    after = get_model(server, model["id"]).json()
    assert (after["name"], after["visibility"]) == ("mine", "public")
    assert stored_files(server) == files_before


def test_owner_uploads_versions_and_deletes_a_file_through_the_api(server, tmp_path):
    owner = register(server)
    client = api_client(server, owner["token"])
    first = sample_files.embedding(tmp_path / "api_style.safetensors", seed=71)
    second = sample_files.embedding(tmp_path / "api_style_v2.safetensors", seed=72)
    reply = client.predict(file_path=handle_file(str(first)), mode="new", name="Api Style", tags="api",
                           visibility="private", api_name="/upload_model")
    assert "Uploaded" in reply and "Api Style" in reply
    listing = requests.get(server.api("/api/v1/models"), params={"username": owner["user"]["username"]},
                           headers=bearer(owner["token"]), timeout=30).json()
    (model,) = listing["items"]
    assert (model["name"], model["visibility"], model["tags"]) == ("Api Style", "private", ["api"])
    reply = client.predict(file_path=handle_file(str(second)), mode="version", target=model["id"],
                           version_name="v2", api_name="/upload_model")
    assert "Added version <strong>v2</strong> to <strong>Api Style</strong>" in reply
    with pytest.raises(AppError, match="already in the library"):
        client.predict(file_path=handle_file(str(second)), mode="new", api_name="/upload_model")
    canary = tmp_path / "canary"
    pickle_file = sample_files.canary_pickle(tmp_path / "evil.ckpt", canary)
    with pytest.raises(AppError, match="safetensors"):
        client.predict(file_path=handle_file(str(pickle_file)), mode="new", api_name="/upload_model")
    assert not canary.exists()

    versions = get_model(server, model["id"], owner["token"]).json()["modelVersions"]
    assert [v["name"] for v in versions] == ["v2", "v1"]
    v1_file = versions[1]["files"][0]["id"]
    with pytest.raises(AppError, match="I understand"):
        client.predict(target_value=f"file:{v1_file}", confirmed=False, api_name="/delete_upload")
    assert "Deleted the file" in client.predict(target_value=f"file:{v1_file}", confirmed=True,
                                                api_name="/delete_upload")
    versions = get_model(server, model["id"], owner["token"]).json()["modelVersions"]
    assert [v["name"] for v in versions] == ["v2"]
    assert not list((server.models_dir / ".incoming").glob("*.part"))
