"""An explicit picture in the browser: blurred for a visitor and for "blur", absent for "hide", shown for "show", in
every place the UI shows pictures (gallery, model page, feed, search, profile, the picture's own page) — and the
setting changed in Account takes effect at once."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.browser import chromium, screenshot, visit
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register
from tests.test_ui_library import TIMEOUT

EXPLICIT = "[data-rating=explicit]"


def set_view(server, account, view: str) -> None:
    requests.patch(server.api("/api/v1/me"), json={"matureContent": view}, headers=bearer(account["token"]),
                   timeout=30).raise_for_status()


def filter_of(locator) -> str:
    """The CSS filter on the explicit picture's <img>."""
    return locator.locator("img").first.evaluate("img => getComputedStyle(img).filter")


def places(owner, model, image) -> dict[str, tuple[str, str, str | None]]:
    """Each place that lists the explicit picture: (address, area, sub-tab to open)."""
    return {"gallery": ("/?tab=gallery", "#gallery-grid", None),
            "model page": (f"/?model={model['id']}", "#model-samples", None),
            "feed": ("/?tab=feed", "#feed-list", None),
            "search": ("/?q=harbour", "#search-images-results", "Images"),
            "profile": (f"/?user={owner['user']['username']}", "#profile-images", None),
            "picture page": (f"/?image={image['id']}", "#image-page-body", None)}


# Where each viewer looks (every place for a visitor but the members' feed; the blur is the page's one setting, so
# "blur" and "show" are seen once each; "hide" is left out on the server: tests/test_content_rating.py checks every
# REST listing, these the pages built from other queries).
LOOKS = {"visitor": ("gallery", "model page", "search", "profile", "picture page"), "blur": ("feed",),
         "hide": ("gallery", "feed", "picture page"), "show": ("search",)}
EXPECTED = {"visitor": "blurred", "blur": "blurred", "hide": "absent", "show": "shown"}


def seen_in(page, area: str, view: str) -> str:
    if view == "hide":
        page.wait_for_timeout(1500)  # the area has filled in
        return "absent" if page.locator(f"{area} {EXPLICIT}").count() == 0 else "present"
    explicit = page.locator(f"{area} {EXPLICIT}").first
    expect(explicit).to_be_visible(timeout=TIMEOUT)
    return "blurred" if "blur" in filter_of(explicit) else "shown"


def test_explicit_picture_blurred_hidden_or_shown_everywhere(server, tmp_path):
    owner = register(server)
    model = upload_model(server, owner, tmp_path, seed=801, name="Harbour Model")
    autov2 = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"]
    image = upload_image(server, owner, picture(params=parameters("a harbour at night", model_hash=autov2))).json()
    requests.patch(server.api(f"/api/v1/images/{image['id']}"), json={"rating": "explicit"},
                   headers=bearer(owner["token"]), timeout=30).raise_for_status()
    viewers = {view: register(server) for view in ("blur", "hide", "show")}
    for view, account in viewers.items():
        set_view(server, account, view)
        requests.put(server.api(f"/api/v1/users/{owner['user']['username']}/follow"),
                     headers=bearer(account["token"]), timeout=30)
    where = places(owner, model, image)
    seen: dict[tuple[str, str], str] = {}
    with chromium() as browser:
        for view, names in LOOKS.items():
            page = visit(browser, server, "/", token=viewers[view]["token"] if view in viewers else None)
            for name in names:
                address, area, sub_tab = where[name]
                page.goto(server.url + address)
                if sub_tab:
                    page.get_by_role("tab", name=sub_tab).click()  # "Images (1)"
                expect(page.locator(area)).to_be_visible(timeout=TIMEOUT)
                seen[(view, name)] = seen_in(page, area, view)
                if (view, name) == ("visitor", "gallery"):
                    screenshot(page, "explicit-blurred")
            page.context.close()
    assert seen == {key: EXPECTED[key[0]] for key in seen}


def test_changing_the_setting_in_account_applies_at_once(server, tmp_path):
    owner, member = register(server), register(server)
    image = upload_image(server, owner, picture(params=parameters("a stormy cliff"))).json()
    requests.patch(server.api(f"/api/v1/images/{image['id']}"), json={"rating": "mature"},
                   headers=bearer(owner["token"]), timeout=30).raise_for_status()
    with chromium() as browser:
        page = visit(browser, server, "/?tab=account", token=member["token"])
        choices = page.locator("#content-view-setting")
        expect(choices.get_by_label("Blur them")).to_be_checked(timeout=TIMEOUT)
        choices.get_by_label("Show them").check()
        page.locator("#save-content-view-button").click()
        expect(page.get_by_text("Saved: mature and explicit content follows your choice.")).to_be_visible(
            timeout=TIMEOUT)
        page.get_by_role("tab", name="Gallery", exact=True).click()
        mature = page.locator("#gallery-grid [data-rating=mature]").first
        expect(mature).to_be_visible(timeout=TIMEOUT)
        expect(mature).to_contain_text("Mature")  # the badge
        assert filter_of(mature) == "none"
    assert requests.get(server.api("/api/v1/me"), headers=bearer(member["token"]),
                        timeout=30).json()["matureContent"] == "show"
