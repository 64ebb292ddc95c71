"""The community UI: comments, likes, gallery, follows and admin events through Gradio's API client (with and
without a session), hostile user text in headless Chromium, empty states, and the Admin tab's visibility."""

from __future__ import annotations

import httpx
import pytest
import requests
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from playwright.sync_api import expect

from tests.browser import chromium, screenshot
from tests.community_helpers import parameters, picture, private_image, upload_image, upload_model
from tests.conftest import PASSWORD, bearer, register
from tests.test_ui_library import TIMEOUT, api_client, field, logged_in_page, open_tab

XSS = ["<script>window.__pwned=1;alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
       "<svg onload=alert(1)>", "[a](java&#115;cript:alert(1))", '<a href="javascript:alert(1)">y</a>',
       "[b](JaVaScRiPt:alert(1))", "![i](javascript:alert(1))", '"><img src=x onerror="window.__pwned=2">',
       "<iframe src=javascript:alert(1)></iframe>"]
HOSTILE = "xsscorpus " + "\n\n".join(XSS)


def comments_of(server, model_id: int) -> list[dict]:
    reply = requests.get(server.api(f"/api/v1/models/{model_id}/comments"), timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()["items"]


def audit_actions(server) -> list[str]:
    reply = requests.get(server.api("/api/v1/admin/audit"), headers=bearer(server.admin_token), timeout=30)
    return [entry["action"] for entry in reply.json()["items"]]


def image_status(server, image_id: int, token: str | None = None) -> int:
    return requests.get(server.api(f"/api/v1/images/{image_id}"), headers=bearer(token) if token else None,
                        timeout=30).status_code


def test_comment_and_like_events_check_the_session(server, tmp_path):
    owner, author = register(server), register(server)
    model = upload_model(server, owner, tmp_path, seed=301, name="Talked About")
    visitor, writer = api_client(server), api_client(server, author["token"])
    model_owner, admin = api_client(server, owner["token"]), api_client(server, server.admin_token)
    with pytest.raises(AppError, match="log in"):
        visitor.predict(model_id=model["id"], body="drive-by", api_name="/post_comment")
    with pytest.raises(AppError, match="log in"):
        visitor.predict(model_id=model["id"], like=True, api_name="/like_model")
    assert comments_of(server, model["id"]) == []

    writer.predict(model_id=model["id"], body="Lovely *colours*", api_name="/post_comment")
    (comment,) = comments_of(server, model["id"])
    assert (comment["body"], comment["username"]) == ("Lovely *colours*", author["user"]["username"])
    with pytest.raises(AppError, match="at most 5000 characters; this one has 5001"):  # refused, never cut
        writer.predict(model_id=model["id"], body="x" * 5001, api_name="/post_comment")
    for _ in range(2):  # liking twice counts once
        writer.predict(model_id=model["id"], like=True, api_name="/like_model")
    like = requests.get(server.api(f"/api/v1/models/{model['id']}/like"), headers=bearer(author["token"]), timeout=30)
    assert like.json() == {"liked": True, "likes": 1}

    with pytest.raises(AppError, match="log in"):
        visitor.predict(comment_id=comment["id"], api_name="/delete_comment")
    with pytest.raises(AppError, match="only the comment's author or a moderator"):
        model_owner.predict(comment_id=comment["id"], api_name="/delete_comment")
    assert [c["id"] for c in comments_of(server, model["id"])] == [comment["id"]]
    admin.predict(comment_id=comment["id"], api_name="/delete_comment")
    assert comments_of(server, model["id"]) == []
    assert "delete_comment" in audit_actions(server)

    writer.predict(model_id=model["id"], body="second thoughts", api_name="/post_comment")
    (own,) = comments_of(server, model["id"])
    writer.predict(comment_id=own["id"], api_name="/delete_comment")
    assert comments_of(server, model["id"]) == []
    writer.predict(model_id=model["id"], like=False, api_name="/like_model")
    assert requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=30).json()["stats"]["favoriteCount"] == 0


def test_gallery_events_check_the_session(server, tmp_path):
    owner, other = register(server), register(server)
    image = private_image(server, owner["user"]["id"], prompt="an unpublished sketch")
    visitor, stranger = api_client(server), api_client(server, other["token"])
    mine, admin = api_client(server, owner["token"]), api_client(server, server.admin_token)
    with pytest.raises(AppError, match="log in"):
        visitor.predict(image_id=image["id"], api_name="/publish_image")
    with pytest.raises(AppError, match="no image"):
        stranger.predict(image_id=image["id"], api_name="/publish_image")
    with pytest.raises(AppError, match="no image"):
        stranger.predict(image_id=image["id"], like=True, api_name="/like_image")
    assert image_status(server, image["id"]) == 404
    mine.predict(image_id=image["id"], api_name="/publish_image")
    assert image_status(server, image["id"]) == 200

    with pytest.raises(AppError, match="log in"):
        visitor.predict(image_id=image["id"], like=True, api_name="/like_image")
    stranger.predict(image_id=image["id"], like=True, api_name="/like_image")
    assert requests.get(server.api(f"/api/v1/images/{image['id']}/like"), timeout=30).json()["likes"] == 1
    with pytest.raises(AppError, match="log in"):
        visitor.predict(image_id=image["id"], api_name="/delete_image")
    with pytest.raises(AppError, match="owner or a moderator"):
        stranger.predict(image_id=image["id"], api_name="/delete_image")
    assert image["file"].exists()
    mine.predict(image_id=image["id"], api_name="/delete_image")
    assert image_status(server, image["id"], owner["token"]) == 404
    assert not image["file"].exists()

    theirs = upload_image(server, other, picture("PNG", parameters("a lighthouse"))).json()
    admin.predict(image_id=theirs["id"], api_name="/delete_image")
    assert image_status(server, theirs["id"]) == 404
    assert "delete_image" in audit_actions(server)


def test_uploading_a_picture_through_the_ui_api(server, tmp_path):
    owner = register(server)
    model = upload_model(server, owner, tmp_path, seed=311, name="Linked Style")
    autov2 = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"]
    png = tmp_path / "made_here.png"
    png.write_bytes(picture("PNG", parameters("a red barn at dusk", model_hash=autov2)))
    with pytest.raises(httpx.HTTPStatusError):  # Gradio's upload route is closed to visitors
        api_client(server).predict(file_path=handle_file(str(png)), api_name="/upload_image")
    client = api_client(server, owner["token"])
    status, image_id = client.predict(file_path=handle_file(str(png)), api_name="/upload_image")
    assert "Uploaded and published" in status and "linked to its model" in status
    shown = requests.get(server.api(f"/api/v1/images/{int(image_id)}"), timeout=30).json()
    assert (shown["modelId"], shown["meta"]["prompt"], shown["username"]) == (model["id"], "a red barn at dusk",
                                                                              owner["user"]["username"])
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(AppError, match="not a PNG, JPEG or WebP"):
        client.predict(file_path=handle_file(str(text)), api_name="/upload_image")


def test_follow_event_checks_the_session(server):
    fan, star = register(server), register(server)
    name = star["user"]["username"]

    def followers() -> int:
        return requests.get(server.api(f"/api/v1/users/{name}"), timeout=30).json()["stats"]["followerCount"]

    with pytest.raises(AppError, match="log in"):
        api_client(server).predict(username=name, follow=True, api_name="/follow_user")
    with pytest.raises(AppError, match="cannot follow yourself"):
        api_client(server, star["token"]).predict(username=name, follow=True, api_name="/follow_user")
    client = api_client(server, fan["token"])
    client.predict(username=name, follow=True, api_name="/follow_user")
    client.predict(username=name, follow=True, api_name="/follow_user")
    assert followers() == 1
    client.predict(username=name, follow=False, api_name="/follow_user")
    assert followers() == 0


def test_admin_events_are_refused_to_everyone_but_admins(server, tmp_path):
    target, user = register(server), register(server)
    name = target["user"]["username"]
    model = upload_model(server, target, tmp_path, seed=321)
    comment = requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={"body": "keep me"},
                            headers=bearer(target["token"]), timeout=30).json()
    calls = [("/site_stats", {}), ("/audit_log", {}), ("/generation_pool", {}), ("/rescan_models", {}),
             ("/ban_user", {"username": name}),
             ("/unban_user", {"username": name}),
             ("/remove_content", {"kind": "comment", "item_id": comment["id"], "confirmed": True})]
    for client, refusal in ((api_client(server), "log in"), (api_client(server, user["token"]), "only admins")):
        for api_name, kwargs in calls:
            with pytest.raises(AppError, match=refusal):
                client.predict(**kwargs, api_name=api_name)
    assert requests.get(server.api("/api/v1/me"), headers=bearer(target["token"]), timeout=30).status_code == 200
    assert [c["id"] for c in comments_of(server, model["id"])] == [comment["id"]]

    admin = api_client(server, server.admin_token)
    assert "Users" in admin.predict(api_name="/site_stats")
    assert "one process beside this server" in admin.predict(api_name="/generation_pool")
    assert "Rescan done" in admin.predict(api_name="/rescan_models")
    assert name in admin.predict(username=name, api_name="/ban_user")
    banned_session = requests.get(server.api("/api/v1/me"), headers=bearer(target["token"]), timeout=30)
    assert banned_session.status_code == 403 and "banned" in banned_session.text
    login = requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD}, timeout=30)
    assert login.status_code == 403 and "banned" in login.text
    admin.predict(username=name, api_name="/unban_user")
    login = requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200
    with pytest.raises(AppError, match="I am sure"):
        admin.predict(kind="comment", item_id=comment["id"], confirmed=False, api_name="/remove_content")
    admin.predict(kind="comment", item_id=comment["id"], confirmed=True, api_name="/remove_content")
    assert comments_of(server, model["id"]) == []
    told = requests.get(server.api("/api/v1/notifications"), headers=bearer(login.json()["token"]),
                        timeout=30).json()
    assert [(n["type"], n["detail"]["action"], n["detail"]["name"]) for n in told["items"]] == \
        [("removed", "delete", "keep me")]  # its author learns it was removed
    log_html, _ = admin.predict(api_name="/audit_log")
    for action in ("ban", "unban", "rescan", "delete_comment"):
        assert f"<td>{action}</td>" in log_html


def no_injected_markup(page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("[onerror], [onload], iframe").count() == 0
    assert page.locator("[href^='javascript' i], [src^='javascript' i]").count() == 0
    for area in ("#model-page-body", "#model-comments", "#model-samples", "#gallery-grid", "#image-page-body",
                 "#profile-header", "#profile-comments", "#search-models-results", "#search-images-results"):
        assert page.locator(f"{area} script, {area} svg").count() == 0


def test_hostile_user_text_renders_inert_everywhere(server, tmp_path):
    author, critic = register(server), register(server)
    assert requests.patch(server.api("/api/v1/me"), json={"bio": HOSTILE}, headers=bearer(author["token"]),
                          timeout=30).status_code == 200
    model = upload_model(server, author, tmp_path, seed=331, name='<img src=x onerror="window.__pwned=3">xsscorpus',
                         description=HOSTILE, trigger_words="<svg onload=alert(1)>")
    autov2 = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"]
    uploaded = upload_image(server, author, picture("PNG", parameters(HOSTILE, model_hash=autov2)))
    assert uploaded.status_code == 201, uploaded.text
    requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={"body": HOSTILE},
                  headers=bearer(critic["token"]), timeout=30).raise_for_status()
    with chromium() as browser:
        page = logged_in_page(browser, server, critic["token"])
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_tab(page, "Models")
        page.locator(".va-card", has_text="xsscorpus").click()
        expect(page.locator("#model-comments .va-comment")).to_contain_text("<script>", timeout=TIMEOUT)
        expect(page.locator("#model-page-body .va-description")).to_contain_text("<svg onload=alert(1)>")
        expect(page.locator("#model-samples .va-shot")).to_have_count(1)
        no_injected_markup(page)

        page.locator("#model-creator").click()
        expect(page.locator("#profile-header .va-bio")).to_contain_text("<img src=x onerror=alert(1)>",
                                                                         timeout=TIMEOUT)
        expect(page.locator("#profile-models .va-card")).to_have_count(1)
        no_injected_markup(page)

        open_tab(page, "Gallery")
        page.locator("#gallery-grid .va-shot", has_text="xsscorpus").first.click()
        expect(page.locator("#image-page-body .va-prompt").first).to_contain_text("<iframe", timeout=TIMEOUT)
        no_injected_markup(page)

        open_tab(page, "Search")
        field(page, "search-query").fill("xsscorpus")
        page.locator("#search-button").click()
        expect(page.locator("#search-models-results .va-card")).to_have_count(1, timeout=TIMEOUT)
        page.get_by_role("tab", name="Images (1)").click()
        expect(page.locator("#search-images-results .va-shot")).to_have_count(1, timeout=TIMEOUT)
        page.wait_for_timeout(500)
        no_injected_markup(page)
        assert dialogs == []


def test_empty_states_say_what_to_do_next(server):
    newcomer = register(server)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url)
        open_tab(page, "Feed")
        expect(page.locator("#feed-list")).to_contain_text("Log in", timeout=TIMEOUT)
        page.close()

        page = logged_in_page(browser, server, newcomer["token"])
        open_tab(page, "Feed")
        expect(page.locator("#feed-list")).to_contain_text("Follow people", timeout=TIMEOUT)
        open_tab(page, "Gallery")
        open_tab(page, "My images")
        expect(page.locator("#gallery-mine-grid")).to_contain_text("generate one in the Generate tab",
                                                                   timeout=TIMEOUT)
        open_tab(page, "Browse")
        field(page, "gallery-user").fill(newcomer["user"]["username"])
        field(page, "gallery-user").press("Enter")
        expect(page.locator("#gallery-grid")).to_contain_text("No published images match", timeout=TIMEOUT)
        open_tab(page, "Profile")
        expect(page.locator("#profile-header")).to_contain_text(newcomer["user"]["username"], timeout=TIMEOUT)
        expect(page.locator("#profile-models")).to_contain_text("upload one in the Upload tab")
        expect(page.locator("#profile-images")).to_contain_text("publish one from Gallery")
        expect(page.locator("#profile-follow")).to_be_hidden()
        open_tab(page, "Search")
        expect(page.locator("#search-models-results")).to_contain_text("Type a few words", timeout=TIMEOUT)
        field(page, "search-query").fill("qqzzxxnothing")
        page.locator("#search-button").click()
        expect(page.locator("#search-models-results")).to_contain_text("No models match", timeout=TIMEOUT)


def test_admin_tab_only_for_admins(server):
    user = register(server)
    with chromium() as browser:
        page = browser.new_page()
        page.goto(server.url)
        expect(page.locator("#whoami")).to_contain_text("Not logged in", timeout=TIMEOUT)
        expect(page.get_by_role("tab", name="Admin")).to_have_count(0)
        page.close()
        page = logged_in_page(browser, server, user["token"])
        expect(page.get_by_role("tab", name="Account")).to_be_visible()
        expect(page.get_by_role("tab", name="Admin")).to_have_count(0)
        page.close()

        page = logged_in_page(browser, server, server.admin_token)
        open_tab(page, "Admin")
        expect(page.locator("#admin-stats")).to_contain_text("Users", timeout=TIMEOUT)
        page.locator("#admin-rescan").click()
        expect(page.locator("#admin-rescan-report")).to_contain_text("Rescan done", timeout=TIMEOUT)
        field(page, "admin-username").fill(user["user"]["username"])
        page.locator("#admin-ban").click()
        expect(page.locator("#admin-status")).to_contain_text("is banned", timeout=TIMEOUT)
        expect(page.locator("#admin-audit")).to_contain_text(f"user:{user['user']['username']}", timeout=TIMEOUT)
        page.locator("#admin-unban").click()
        expect(page.locator("#admin-status")).to_contain_text("is unbanned", timeout=TIMEOUT)
        page.wait_for_timeout(500)
        screenshot(page, "admin-tab")


def test_publish_like_and_use_settings_in_the_browser(server):
    owner, fan = register(server), register(server)
    image = private_image(server, owner["user"]["id"], prompt="a quiet harbour at dawn")
    with chromium() as browser:
        page = logged_in_page(browser, server, owner["token"])
        open_tab(page, "Gallery")
        open_tab(page, "My images")
        page.locator("#gallery-mine-grid .va-shot", has_text="quiet harbour").click()
        expect(page.locator("#image-page-body")).to_contain_text("Private", timeout=TIMEOUT)
        expect(page.locator("#image-like")).to_be_hidden()
        page.locator("#image-publish").click()
        expect(page.locator("#image-page-body")).to_contain_text("published", timeout=TIMEOUT)
        expect(page.locator("#image-publish")).to_be_hidden()
        page.close()

        page = logged_in_page(browser, server, fan["token"])
        open_tab(page, "Gallery")
        page.locator("#gallery-grid .va-shot", has_text="quiet harbour").click()
        expect(page.locator("#image-delete")).to_be_hidden(timeout=TIMEOUT)
        page.locator("#image-like").click()
        expect(page.locator("#image-like")).to_contain_text("Liked · 1", timeout=TIMEOUT)
        page.wait_for_timeout(500)
        screenshot(page, "image-page")
        page.locator("#image-use-settings").click()
        generate_tab = page.get_by_role("tab", name="Generate", exact=True)
        expect(generate_tab).to_have_attribute("aria-selected", "true", timeout=TIMEOUT)
        expect(field(page, "generate-prompt")).to_have_value("a quiet harbour at dawn", timeout=TIMEOUT)
        expect(field(page, "generate-negative-prompt")).to_have_value("blurry")
        expect(field(page, "generate-seed")).to_have_value("42")
        page.close()

        page = logged_in_page(browser, server, owner["token"])
        open_tab(page, "Gallery")
        page.locator("#gallery-grid .va-shot", has_text="quiet harbour").click()
        page.locator("#image-delete").click()
        page.locator("#image-delete-confirm").click()
        expect(page.locator("#gallery-grid")).not_to_contain_text("quiet harbour", timeout=TIMEOUT)
    assert image_status(server, image["id"], owner["token"]) == 404
