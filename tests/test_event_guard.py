"""Gradio events are guarded like routes: ``--private`` closes every one of them to visitors, a file in an event
is only ever one that this user uploaded (never a path on the server), and private models never leak their name
or id through duplicates or image links (red-team findings 1, 2 and 8)."""

from __future__ import annotations

import asyncio
import re

import gradio as gr
import pytest
import requests
from starlette.requests import Request

from tests import sample_files
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import PASSWORD, bearer, register
from tests.gradio_events import call_event, file_data, gradio_events, gradio_upload
from tests.live_server import LiveServer

PRIVATE_SITE = "this instance is private: log in first"
UPLOAD_AGAIN = "this file was not uploaded in this session: choose it again"
# The events a visitor needs to log in on a private site; they show only the caller's own session.
OPEN_TO_VISITORS = {"show_who_is_here", "after_auth", "after_register", "after_logout", "after_ban", "show_account",
                    "ring_bell"}
UPLOAD_FORM_REST = ["new", "v1", "", "detect", "detect", "public", "", "", "", None]


def login(server, username: str) -> str:
    """A second login session of the same user: its token."""
    reply = requests.post(server.api("/api/v1/auth/login"), json={"username": username, "password": PASSWORD},
                          timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()["token"]


def base_name(api_name: str) -> str:
    return re.sub(r"_\d+$", "", api_name)


def model_count(server, token: str | None = None) -> int:
    reply = requests.get(server.api("/api/v1/models"), headers=bearer(token) if token else {},
                         params={"limit": 100}, timeout=60)
    return reply.json()["metadata"]["totalItems"]


def stored_files(server) -> list:
    return sorted(p for p in server.models_dir.rglob("*") if p.is_file() and ".incoming" not in p.parts)


# --------------------------------------------------------------------------- finding 1: --private and events
@pytest.fixture(scope="module")
def private_site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("private"), args=["--private"]).start()
    admin = requests.post(live.api("/api/v1/auth/register"), json={"username": "site_admin", "password": PASSWORD},
                          timeout=60)
    assert admin.status_code == 201, admin.text
    live.admin_token = admin.json()["token"]
    yield live
    live.stop()


def test_a_private_site_answers_no_event_to_a_visitor(private_site):
    events = gradio_events(private_site)
    assert len(events) > 60 and "txt2img" in events and "upload_model" in events
    answered = {}
    for name, event in events.items():
        message = call_event(private_site, event, [None] * len(event["inputs"]), None)
        if base_name(name) in OPEN_TO_VISITORS:
            assert message["success"], (name, message)
        elif message["success"] or message["output"].get("error") != PRIVATE_SITE:
            answered[name] = message["output"]
    assert not answered, f"these events answered a visitor on a private site: {answered}"


def test_a_private_site_tells_a_visitor_only_to_log_in(private_site):
    events = gradio_events(private_site)
    header = call_event(private_site, events["show_who_is_here"], [], None)
    assert "Not logged in" in header["output"]["data"][0]
    page = requests.get(private_site.api("/config"), timeout=60).text
    # The library and its people stay behind the login, also in the page's first paint.
    assert "Visionary Shapes (demo)" not in page and "site_admin" not in page


def test_a_member_of_a_private_site_uses_its_events(private_site):
    events = gradio_events(private_site)
    header = call_event(private_site, events["show_who_is_here"], [], private_site.admin_token)
    assert "site_admin" in header["output"]["data"][0]
    cancel = call_event(private_site, events["cancel"], [], private_site.admin_token)
    assert cancel["success"], cancel


def test_an_event_added_later_is_guarded_without_being_told(tmp_path):
    """A hand-added event, wired with plain Gradio and no check of its own, still refuses a visitor."""
    from core.config import load_config
    from ui.app import build_ui
    from visionary_app import build_context

    config = load_config(["--private", "--db", str(tmp_path / "app.db"), "--models-dir", str(tmp_path / "models"),
                          "--outputs-dir", str(tmp_path / "outputs")], environ={})
    context = build_context(config)
    try:
        blocks = build_ui(context)
        leaked = []
        with blocks:
            secret = gr.Textbox()
            gr.Button().click(lambda: leaked.append(1) or "the library's secrets", None, secret)
        added = blocks.fns[max(blocks.fns)]
        visitor = gr.Request(request=Request({"type": "http", "method": "POST", "path": "/", "headers": [],
                                              "query_string": b""}))
        with pytest.raises(gr.Error, match="log in first"):
            asyncio.run(blocks.process_api(added, [], request=visitor))
        assert leaked == []
    finally:
        context.close()


# --------------------------------------------------------------------------- finding 2: files in events
@pytest.fixture(scope="module")
def painter(server) -> dict:
    return register(server)


def elsewhere_on_disk(tmp_path_factory):
    """A real, valid model file on the server's disk that nobody uploaded."""
    return sample_files.embedding(tmp_path_factory.mktemp("elsewhere") / "secret.safetensors", seed=4242)


def test_upload_route_answers_a_handle_not_a_server_path(server, painter):
    content = picture("PNG", parameters("a handle"))
    reply = requests.post(server.api("/gradio_api/upload"), files={"files": ("mine.png", content)},
                          cookies={"visionary_session": painter["token"]}, timeout=60)
    assert reply.status_code == 200
    handle = reply.json()[0]
    assert not handle.startswith("/") and str(server.home) not in reply.text and handle.endswith("mine.png")
    preview = requests.get(server.api(f"/gradio_api/file={handle}"), timeout=60)
    assert preview.status_code == 200 and preview.content == content
    unknown = requests.get(server.api("/gradio_api/file=upload-nosuchhandle/mine.png"), timeout=60)
    assert unknown.status_code == 404


def test_upload_event_refuses_any_path_it_did_not_hand_out(server, painter, tmp_path_factory):
    """Finding 2 as reported: a client-sent server path was copied in and published as the caller's model."""
    events = gradio_events(server)
    secret = elsewhere_on_disk(tmp_path_factory)
    other = register(server)
    others_upload = gradio_upload(server, other["token"], secret.read_bytes(), "theirs.safetensors")
    my_other_session = login(server, painter["user"]["username"])
    upload_in_my_other_session = gradio_upload(server, my_other_session, secret.read_bytes(), "mine.safetensors")
    before = (model_count(server), stored_files(server))
    for path in (str(secret), "/no/such/file.safetensors", "/etc/passwd", "../../etc/passwd",
                 "http://127.0.0.1:9/model.safetensors", others_upload["path"], upload_in_my_other_session["path"]):
        message = call_event(server, events["upload_model"], [file_data(path), *UPLOAD_FORM_REST], painter["token"])
        assert not message["success"], path
        assert message["output"]["error"] == UPLOAD_AGAIN, path  # the same words whether the path exists or not
    assert (model_count(server), stored_files(server)) == before


def test_upload_event_takes_the_file_this_user_uploaded(server, painter, tmp_path_factory):
    events = gradio_events(server)
    model_file = sample_files.embedding(tmp_path_factory.mktemp("mine") / "mine.safetensors", seed=4343)
    uploaded = gradio_upload(server, painter["token"], model_file.read_bytes(), "mine.safetensors")
    before = model_count(server)
    message = call_event(server, events["upload_model"], [uploaded, *UPLOAD_FORM_REST], painter["token"])
    assert message["success"], message
    assert model_count(server) == before + 1


def test_picture_events_read_only_uploaded_pictures(server, painter, tmp_path_factory):
    events = gradio_events(server)
    folder = tmp_path_factory.mktemp("pictures")
    on_disk = folder / "server_side.png"
    on_disk.write_bytes(picture("PNG", parameters("a secret prompt on the server's disk")))
    images_before = requests.get(server.api("/api/v1/images"), params={"limit": 100}, timeout=60).json()
    for name in ("read_image", "upload_image"):
        message = call_event(server, events[name], [file_data(str(on_disk), "server_side.png")], painter["token"])
        assert (message["success"], message["output"].get("error")) == (False, UPLOAD_AGAIN), name
        assert "secret prompt" not in str(message["output"])
    images_after = requests.get(server.api("/api/v1/images"), params={"limit": 100}, timeout=60).json()
    assert images_after["metadata"]["totalItems"] == images_before["metadata"]["totalItems"]
    mine = gradio_upload(server, painter["token"], on_disk.read_bytes(), "mine.png")
    message = call_event(server, events["read_image"], [mine], painter["token"])
    assert message["success"] and "secret prompt" in message["output"]["data"][0]


# --------------------------------------------------------------------------- finding 8: private names
def test_a_duplicate_of_someone_elses_private_model_names_nothing(server, tmp_path_factory):
    owner, other = register(server), register(server)
    folder = tmp_path_factory.mktemp("dupes")
    secret = upload_model(server, owner, folder, 4545, name="SECRETMODEL", visibility="private")
    path = folder / "emb_4545.safetensors"
    before = model_count(server, server.admin_token)
    reply = requests.post(server.api("/api/v1/models"), headers=bearer(other["token"]),
                          files={"file": ("copy.safetensors", path.read_bytes())}, timeout=60)
    assert (reply.status_code, reply.json()["error"]) == (409, "this file is already in the library")
    assert "SECRETMODEL" not in reply.text and str(secret["id"]) not in reply.text
    own = requests.post(server.api("/api/v1/models"), headers=bearer(owner["token"]),
                        files={"file": ("again.safetensors", path.read_bytes())}, timeout=60)
    assert own.status_code == 409 and "SECRETMODEL" in own.json()["error"]  # the owner may see their own model
    assert model_count(server, server.admin_token) == before


def test_the_upload_tab_names_no_private_model_either(server, tmp_path_factory):
    owner, other = register(server), register(server)
    folder = tmp_path_factory.mktemp("tab_dupes")
    secret = upload_model(server, owner, folder, 4747, name="SECRETTAB", visibility="private")
    copy = gradio_upload(server, other["token"], (folder / "emb_4747.safetensors").read_bytes(), "copy.safetensors")
    before = (model_count(server, server.admin_token), stored_files(server))
    message = call_event(server, gradio_events(server)["upload_model"], [copy, *UPLOAD_FORM_REST], other["token"])
    assert not message["success"] and message["output"]["error"] == "this file is already in the library"
    assert "SECRETTAB" not in str(message) and secret["name"] == "SECRETTAB"
    assert (model_count(server, server.admin_token), stored_files(server)) == before


def test_pictures_link_only_to_models_the_viewer_may_see(server, tmp_path_factory):
    owner, other = register(server), register(server)
    secret = upload_model(server, owner, tmp_path_factory.mktemp("linked"), 4646, name="SECRETLINK",
                          visibility="private")
    autov2 = secret["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
    made_with_it = picture("PNG", parameters("made with a private model", model_hash=autov2))
    theirs = upload_image(server, other, made_with_it).json()
    assert theirs["modelId"] is None  # someone else's picture is never linked to a private model
    own = upload_image(server, owner, picture("PNG", parameters("the owner's own", model_hash=autov2),
                                              color="navy")).json()
    assert own["modelId"] == secret["id"]
    for viewer in (None, other["token"]):
        headers = bearer(viewer) if viewer else {}
        listed = requests.get(server.api("/api/v1/images"), params={"modelId": secret["id"]}, headers=headers,
                              timeout=60).json()
        assert listed["items"] == []
        shown = requests.get(server.api(f"/api/v1/images/{own['id']}"), headers=headers, timeout=60).json()
        assert shown["modelId"] is None and shown["modelVersionId"] is None
    as_owner = requests.get(server.api("/api/v1/images"), params={"modelId": secret["id"]},
                            headers=bearer(owner["token"]), timeout=60).json()
    assert [item["id"] for item in as_owner["items"]] == [own["id"]]
