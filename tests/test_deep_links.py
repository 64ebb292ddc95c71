"""Pages you can share (issue 22): every page a person would paste into a chat has an address that opens it
directly, for a visitor and a member, survives a reload and follows navigation; what does not exist or is private
shows a clear not-found page; a pasted link previews with the item's own card."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests import sample_files
from tests.browser import chromium, visit
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register

TIMEOUT = 30_000


@pytest.fixture(scope="module")
def site(server, tmp_path_factory):
    """A painter with a public embedding tagged "lighthouse" (two versions), a private one, and a published
    picture made with the public one."""
    painter = register(server)
    folder = tmp_path_factory.mktemp("deep_links")
    public = upload_model(server, painter, folder, seed=801, name="Harbour Lights", tags="lighthouse,sea",
                          description="Lights on the **harbour** at night.")
    second_file = sample_files.embedding(folder / "v2.safetensors", seed=803)
    second = requests.post(server.api(f"/api/v1/models/{public['id']}/versions"), headers=bearer(painter["token"]),
                           files={"file": ("v2.safetensors", second_file.read_bytes())}, data={"name": "v2"},
                           timeout=60)
    assert second.status_code == 201, second.text
    secret = upload_model(server, painter, folder, seed=802, name="Hidden Cove", visibility="private")
    autov2 = public["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
    made = upload_image(server, painter, picture("PNG", parameters("a lighthouse at dusk", model_hash=autov2),
                                                 color="orange"))
    assert made.status_code == 201, made.text
    return {"painter": painter, "public": public, "secret": secret, "image": made.json()}


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def selected_tab(page) -> str:
    return page.locator("#main-tabs button[role=tab][aria-selected=true][id^=tab-]").get_attribute("id")


def address_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_a_model_link_opens_its_page_for_visitors_and_members_and_survives_a_reload(browser, server, site):
    model = site["public"]
    for token in (None, site["painter"]["token"]):
        page = visit(browser, server, f"/?model={model['id']}", token)
        expect(page.locator("#model-page-body h2")).to_have_text("Harbour Lights", timeout=TIMEOUT)
        assert selected_tab(page) == "tab-models-button"
        expect(page.locator("#model-comments")).to_be_visible()
        page.reload()
        expect(page.locator("#model-page-body h2")).to_have_text("Harbour Lights", timeout=TIMEOUT)
        assert address_of(page) == {"model": [str(model["id"])]}
        page.context.close()


def test_a_version_link_shows_that_version_first(browser, server, site):
    versions = requests.get(server.api(f"/api/v1/models/{site['public']['id']}"), timeout=30).json()["modelVersions"]
    older = min(v["id"] for v in versions)
    page = visit(browser, server, f"/?model={site['public']['id']}&version={older}")
    shown = page.locator("#model-page-body section.va-version").first
    expect(shown).to_have_attribute("data-version-id", str(older), timeout=TIMEOUT)
    expect(shown).to_have_class(re.compile("va-version-shown"))
    page.context.close()


def test_image_profile_tag_search_and_gallery_links_open_their_pages(browser, server, site):
    painter = site["painter"]["user"]["username"]
    cases = [
        (f"/?image={site['image']['id']}", "tab-gallery-button", "#image-page-body", "a lighthouse at dusk"),
        (f"/?user={painter}", "tab-profile-button", "#profile-header", painter),
        ("/?tag=lighthouse", "tab-models-button", "#model-grid", "Harbour Lights"),
        ("/?q=harbour", "tab-search-button", "#search-models-results", "Harbour Lights"),
        (f"/?gallery=newest&by={painter}", "tab-gallery-button", "#gallery-grid", None),
    ]
    for address, tab, where, words in cases:
        page = visit(browser, server, address)
        if words:
            expect(page.locator(where)).to_contain_text(words, timeout=TIMEOUT)
        assert selected_tab(page) == tab, address
        page.context.close()
    gallery = visit(browser, server, f"/?gallery=newest&by={painter}")
    expect(gallery.locator("#gallery-user input, #gallery-user textarea").first).to_have_value(painter,
                                                                                               timeout=TIMEOUT)
    expect(gallery.locator(f"#gallery-grid [data-open=image][data-key='{site['image']['id']}']")).to_be_visible()
    gallery.context.close()


def test_navigation_writes_the_address_and_back_returns(browser, server, site):
    model = site["public"]
    page = visit(browser, server, "/?tab=models")
    page.locator(f"#model-grid .va-card[data-model-id='{model['id']}']").click()
    expect(page.locator("#model-page-body h2")).to_have_text("Harbour Lights", timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(rf"\?model={model['id']}$"), timeout=TIMEOUT)
    page.locator("#model-page-body button[data-open=tag][data-key=lighthouse]").click()  # a tag on the page
    expect(page).to_have_url(re.compile(r"\?tag=lighthouse$"), timeout=TIMEOUT)
    expect(page.locator("#model-grid")).to_contain_text("Harbour Lights")
    page.go_back()
    expect(page.locator("#model-page-body h2")).to_have_text("Harbour Lights", timeout=TIMEOUT)
    page.locator("#model-creator").click()
    expect(page).to_have_url(re.compile(rf"\?user={site['painter']['user']['username']}$"), timeout=TIMEOUT)
    page.locator("#tab-models-button").click()  # a tab remembers its page
    expect(page).to_have_url(re.compile(rf"\?model={model['id']}$"), timeout=TIMEOUT)
    page.locator("#model-page-back").click()
    expect(page).to_have_url(re.compile(r"\?tab=models$"), timeout=TIMEOUT)
    page.context.close()


def test_a_private_or_missing_item_shows_not_found_and_its_owner_sees_it(browser, server, site):
    secret, stranger = site["secret"], register(server)
    for address, body in ((f"/?model={secret['id']}", "#model-page-body"), ("/?model=987654", "#model-page-body"),
                          ("/?model=not-a-number", "#model-page-body"), ("/?image=987654", "#image-page-body"),
                          ("/?user=nobody_by_that_name", "#profile-header")):
        for token in (None, stranger["token"]):
            page = visit(browser, server, address, token)
            expect(page.locator(f"{body} .va-not-found")).to_contain_text("Not found", timeout=TIMEOUT)
            assert "Hidden Cove" not in page.content()
            page.context.close()
    own = visit(browser, server, f"/?model={secret['id']}", site["painter"]["token"])
    expect(own.locator("#model-page-body h2")).to_have_text("Hidden Cove", timeout=TIMEOUT)
    own.context.close()


def test_copy_link_puts_the_pages_address_on_the_clipboard(browser, server, site):
    page = visit(browser, server, f"/?image={site['image']['id']}")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    expect(page.locator("#image-page-body")).to_contain_text("a lighthouse at dusk", timeout=TIMEOUT)
    page.locator("#image-copy-link").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == f"{server.url}/?image={site['image']['id']}"
    page.context.close()


def meta(page_html: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', page_html)
    return html.unescape(found.group(1)) if found else None


def test_a_pasted_link_previews_with_the_items_own_card(server, site):
    model_page = requests.get(server.api(f"/?model={site['public']['id']}"), timeout=30).text
    assert meta(model_page, "og:title") == "Harbour Lights · Visionary Art"
    assert meta(model_page, "og:description") == "Lights on the harbour at night."
    assert meta(model_page, "og:url") == f"{server.url}/?model={site['public']['id']}"
    assert meta(model_page, "og:image") == site["image"]["url"]  # its cover: the picture made with it
    image_page = requests.get(server.api(f"/?image={site['image']['id']}"), timeout=30).text
    assert meta(image_page, "og:description") == "a lighthouse at dusk"
    assert meta(image_page, "og:image").startswith(server.url + "/media/")
    assert meta(image_page, "twitter:card") == "summary_large_image"
    for hidden in (f"/?model={site['secret']['id']}", "/?model=987654"):
        card = requests.get(server.api(hidden), timeout=30).text
        assert meta(card, "og:title") == "Visionary Art" and "Hidden Cove" not in card
    assert model_page.count('property="og:title"') == 1  # Gradio's own generic card is gone
