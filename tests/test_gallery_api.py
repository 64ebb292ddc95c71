"""The gallery over real HTTP: uploads, publishing, listings, /media access, deletes."""

from __future__ import annotations

import http.client
import io
import json

import pytest
import requests
from PIL import Image

from tests.community_helpers import (
    image_ids,
    parameters,
    picture,
    png_header_only,
    private_image,
    upload_image,
    upload_model,
)
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


@pytest.fixture(scope="module")
def painter(server):
    return register(server)


@pytest.fixture(scope="module")
def checkpoint(server, painter, tmp_path_factory):
    """A model whose file hash generated pictures can name."""
    model = upload_model(server, painter, tmp_path_factory.mktemp("g"), seed=201, name="Gallery Base")
    return model, model["modelVersions"][0]


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "GIF")
    return buffer.getvalue()


def images(server, token=None, **params):
    return requests.get(server.api("/api/v1/images"), params=params, headers=bearer(token) if token else {},
                        timeout=30)


def test_the_loras_and_embeddings_an_image_was_made_with_are_listed_as_civitai_lists_them(server, painter):
    text = parameters("a castle") + ', Lora hashes: "add_detail: 7c6bad76eb54", TI hashes: "EasyNegative: c74b4e810b03"'
    image = upload_image(server, painter, picture("PNG", text)).json()
    assert image["meta"]["hashes"] == {"lora:add_detail": "7c6bad76eb54", "embed:EasyNegative": "c74b4e810b03"}
    assert image["meta"]["resources"] == [{"name": "add_detail", "type": "lora", "hash": "7c6bad76eb54"},
                                          {"name": "EasyNegative", "type": "embed", "hash": "c74b4e810b03"}]


def test_upload_png_keeps_parameters_and_links_the_model(server, painter, checkpoint):
    model, version = checkpoint
    autov2 = version["files"][0]["hashes"]["AutoV2"]
    reply = upload_image(server, painter, picture("PNG", parameters("a castle on a hill", model_hash=autov2.lower())))
    assert reply.status_code == 201, reply.text
    image = reply.json()
    assert (image["width"], image["height"]) == (64, 48)
    assert image["username"] == painter["user"]["username"]
    assert image["modelId"] == model["id"] and image["modelVersionId"] == version["id"]
    assert image["meta"]["prompt"] == "a castle on a hill"
    assert image["meta"]["negativePrompt"] == "blurry"
    assert image["meta"]["seed"] == 42 and image["meta"]["steps"] == 25
    assert image["meta"]["sampler"] == "DPM++ 2M" and image["meta"]["cfgScale"] == 6.5
    assert image["meta"]["Size"] == "64x48" and image["meta"]["Model hash"] == autov2.lower()
    assert image["meta"]["resources"] == [{"name": "dreamy", "type": "model", "hash": autov2.lower()}]
    assert image["stats"]["likeCount"] == 0
    assert image["url"].startswith(server.url + "/media/")
    served = requests.get(image["url"], timeout=30)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).info["parameters"].startswith("a castle on a hill\n")
    stored = server.outputs_dir / image["url"].split("/media/", 1)[1]
    assert stored.is_file() and stored.parent.parent == server.outputs_dir


def test_sha256_prefix_links_the_model(server, painter, checkpoint):
    model, version = checkpoint
    sha = version["files"][0]["hashes"]["SHA256"]
    image = upload_image(server, painter, picture("PNG", parameters("by sha", model_hash=sha[:12]))).json()
    assert image["modelId"] == model["id"]
    assert upload_image(server, painter, picture("PNG", parameters("unknown", model_hash="0123456789"))
                        ).json()["modelId"] is None


def test_jpeg_and_webp_become_png_with_parameters(server, painter):
    for fmt in ("JPEG", "WEBP"):
        reply = upload_image(server, painter, picture(fmt, parameters(f"a {fmt} sunset")), name=f"x.{fmt.lower()}")
        assert reply.status_code == 201, reply.text
        served = requests.get(reply.json()["url"], timeout=30)
        converted = Image.open(io.BytesIO(served.content))
        assert converted.format == "PNG"
        assert converted.info["parameters"].startswith(f"a {fmt} sunset")
        assert "exif" not in converted.info
    plain = upload_image(server, painter, picture("PNG")).json()
    assert plain["meta"] is None


def test_bad_uploads_are_refused_clearly(server, painter):
    before = sorted(p.name for p in server.outputs_dir.rglob("*") if p.is_file())
    checks = [
        (b"not an image at all", 400, "PNG, JPEG or WebP"),
        (picture("PNG")[:-40], 400, "damaged"),
        (gif(), 400, "PNG, JPEG or WebP"),
        (png_header_only(20_000, 20_000), 413, "pixels"),
        (png_header_only(10_000, 9_500), 413, "pixels"),
    ]
    for data, status, words in checks:
        reply = upload_image(server, painter, data)
        assert reply.status_code == status, reply.text
        assert words in reply.json()["error"]
    huge = upload_image(server, painter, b"\0" * (31 * 1024 * 1024))
    assert huge.status_code == 413
    assert "30 MB" in huge.json()["error"]
    no_file = requests.post(server.api("/api/v1/images"), headers=bearer(painter["token"]), data={"x": "1"})
    assert no_file.status_code == 400
    wrong_type = requests.post(server.api("/api/v1/images"), headers=bearer(painter["token"]), data="hello")
    assert wrong_type.status_code == 400
    after = sorted(p.name for p in server.outputs_dir.rglob("*") if p.is_file())
    assert after == before  # nothing written for refused uploads


def test_publish_a_generated_image(server, painter):
    private = private_image(server, painter["user"]["id"], "a secret garden")
    url = f"/media/{private['path']}"
    other = register(server)
    assert requests.get(server.api(url)).status_code == 404
    assert requests.get(server.api(url), headers=bearer(other["token"])).status_code == 404
    assert requests.get(server.api(url), headers=bearer(painter["token"])).status_code == 200
    assert requests.get(server.api(url), headers=bearer(server.admin_token)).status_code == 200
    assert private["id"] not in image_ids(images(server))
    assert private["id"] not in image_ids(images(server, query="garden"))
    assert private["id"] in image_ids(images(server, painter["token"], mine="true"))
    assert requests.get(server.api(f"/api/v1/images/{private['id']}")).status_code == 404

    reply = requests.post(server.api("/api/v1/images"), json={"image_id": private["id"]},
                          headers=bearer(painter["token"]))
    assert reply.status_code == 201, reply.text
    assert reply.json()["published"] is True
    assert requests.get(server.api(url)).status_code == 200
    assert image_ids(images(server))[0] == private["id"]
    assert private["id"] in image_ids(images(server, query="GARD"))
    again = requests.post(server.api("/api/v1/images"), json={"image_id": private["id"]},
                          headers=bearer(painter["token"]))
    assert again.status_code == 201  # publishing twice is harmless


def test_listing_filters_sorts_and_pages(server, painter, checkpoint):
    model, version = checkpoint
    autov2 = version["files"][0]["hashes"]["AutoV2"]
    linked = upload_image(server, painter, picture("PNG", parameters("filter me", model_hash=autov2))).json()
    someone = register(server)
    theirs = upload_image(server, someone, picture("PNG", parameters("someone else's"))).json()
    assert linked["id"] in image_ids(images(server, modelId=model["id"]))
    assert theirs["id"] not in image_ids(images(server, modelId=model["id"]))
    assert linked["id"] in image_ids(images(server, modelVersionId=version["id"]))
    assert image_ids(images(server, username=someone["user"]["username"])) == [theirs["id"]]
    requests.put(server.api(f"/api/v1/images/{theirs['id']}/like"), headers=bearer(painter["token"]))
    assert image_ids(images(server, sort="most_liked"))[0] == theirs["id"]
    assert image_ids(images(server, sort="Most Reactions"))[0] == theirs["id"]
    assert images(server, sort="bogus").status_code == 400
    first = images(server, limit=1).json()
    assert first["metadata"]["nextCursor"] and first["metadata"]["totalItems"] > 1
    second = images(server, limit=1, cursor=first["metadata"]["nextCursor"]).json()
    assert second["items"][0]["id"] != first["items"][0]["id"]
    assert images(server, cursor="!!").status_code == 400


def test_delete_removes_the_file(server, painter):
    image = upload_image(server, painter, picture("PNG", parameters("to be deleted"))).json()
    relative = image["url"].split("/media/", 1)[1]
    assert (server.outputs_dir / relative).is_file()
    assert requests.delete(server.api(f"/api/v1/images/{image['id']}"), headers=bearer(painter["token"])
                           ).status_code == 200
    assert not (server.outputs_dir / relative).exists()
    assert requests.get(image["url"]).status_code == 404
    assert requests.get(server.api(f"/api/v1/images/{image['id']}")).status_code == 404
    assert requests.delete(server.api(f"/api/v1/images/{image['id']}"), headers=bearer(painter["token"])
                           ).status_code == 404


def test_media_serves_only_known_images_inside_outputs(server, painter):
    stray = server.outputs_dir / "stray.png"
    stray.write_bytes(picture("PNG"))
    for path in ("/media/stray.png", "/media/../data/visionary.db", "/media/%2e%2e/data/visionary.db",
                 "/media/", "/media/nothing/here.png"):
        reply = requests.get(server.api(path), headers=bearer(server.admin_token))
        assert reply.status_code == 404, path


def test_private_instance_closes_media_to_visitors(tmp_path):
    from tests.live_server import LiveServer

    private = LiveServer(tmp_path / "private", args=["--private"]).start()
    try:
        account = requests.post(private.api("/api/v1/auth/register"),
                                json={"username": "private_owner", "password": "correct horse battery"}).json()
        image = upload_image(private, account, picture("PNG", parameters("members only"))).json()
        assert requests.get(image["url"]).status_code == 401
        assert requests.get(image["url"], headers=bearer(account["token"])).status_code == 200
    finally:
        private.stop()


def post_pictures(server, account, pictures: list[bytes]) -> requests.Response:
    """One multipart request with a ``file`` part per picture."""
    return requests.post(server.api("/api/v1/images"), headers=bearer(account["token"]), timeout=60,
                         files=[("file", (f"pic{n}.png", data)) for n, data in enumerate(pictures)])


def stored_files(server) -> list[str]:
    return sorted(str(p) for p in server.outputs_dir.rglob("*") if p.is_file())


def test_several_pictures_sent_together_become_one_post(server, painter, checkpoint):
    model, version = checkpoint
    autov2 = version["files"][0]["hashes"]["AutoV2"].lower()
    reply = post_pictures(server, painter, [picture("PNG", parameters("harbour at dawn", model_hash=autov2)),
                                            picture("JPEG", parameters("harbour at noon"), color="gold"),
                                            picture("PNG", None, color="gray")])
    assert reply.status_code == 201, reply.text
    post = reply.json()
    ids = [item["id"] for item in post["items"]]
    assert ids == sorted(ids) and post["postId"] == ids[0]
    assert {item["postId"] for item in post["items"]} == {ids[0]}
    assert [item["meta"] and item["meta"]["prompt"] for item in post["items"]] == [
        "harbour at dawn", "harbour at noon", None]
    assert post["items"][0]["modelVersionId"] == version["id"] and post["items"][1]["modelId"] is None
    assert sorted(image_ids(images(server, postId=post["postId"]))) == ids
    for item in post["items"]:
        assert requests.get(item["url"], timeout=30).status_code == 200
    single = upload_image(server, painter, picture("PNG", parameters("a post of its own"))).json()
    assert single["postId"] == single["id"] and "items" not in single  # one file: the image, as before
    assert image_ids(images(server, postId=single["id"])) == [single["id"]]


def test_one_bad_picture_refuses_the_whole_post(server, painter):
    mine_before = image_ids(images(server, painter["token"], mine="true", limit=200))
    files_before = stored_files(server)
    good = picture("PNG", parameters("a good one"))
    checks = [
        ([good, b"not an image at all"], 400, "picture 2: not a PNG, JPEG or WebP"),
        ([good, good, picture("PNG")[:-40]], 400, "picture 3:"),
        ([good, png_header_only(20_000, 20_000)], 413, "picture 2:"),
        ([good, b"\0" * (31 * 1024 * 1024)], 413, "picture 2: images can be at most 30 MB"),
        ([good] * 21, 400, "at most 20 pictures"),
    ]
    for pictures, status, words in checks:
        reply = post_pictures(server, painter, pictures)
        assert reply.status_code == status, reply.text
        assert words in reply.json()["error"]
    assert image_ids(images(server, painter["token"], mine="true", limit=200)) == mine_before
    assert stored_files(server) == files_before  # nothing written for a refused post


def test_a_post_too_large_altogether_is_refused_before_it_is_read(server, painter):
    connection = http.client.HTTPConnection(server.url.split("://", 1)[1].rstrip("/"), timeout=30)
    try:
        connection.putrequest("POST", "/api/v1/images")
        for name, value in (("Authorization", f"Bearer {painter['token']}"), ("Content-Length", str(300 * 2**20)),
                            ("Content-Type", "multipart/form-data; boundary=xyz")):
            connection.putheader(name, value)
        connection.endheaders()
        reply = connection.getresponse()
        assert reply.status == 413
        assert "100 MB together" in json.loads(reply.read())["error"]
    finally:
        connection.close()


def test_publishing_several_generated_images_makes_one_post(server, painter):
    drafts = [private_image(server, painter["user"]["id"], f"sketch of a fox {n}")["id"] for n in range(2)]
    someone = register(server)
    theirs = private_image(server, someone["user"]["id"], "someone's fox")["id"]
    refused = requests.post(server.api("/api/v1/images"), json={"image_ids": [*drafts, theirs]},
                            headers=bearer(painter["token"]), timeout=30)
    assert refused.status_code == 404, refused.text
    assert not set(drafts) & set(image_ids(images(server, query="fox")))  # all or none
    for bad in ([], [True], ["1"], list(range(1, 22))):
        reply = requests.post(server.api("/api/v1/images"), json={"image_ids": bad}, headers=bearer(painter["token"]),
                              timeout=30)
        assert reply.status_code == 400, (bad, reply.text)
    reply = requests.post(server.api("/api/v1/images"), json={"image_ids": drafts}, headers=bearer(painter["token"]),
                          timeout=30)
    assert reply.status_code == 201, reply.text
    post = reply.json()
    assert post["postId"] == min(drafts) and [item["id"] for item in post["items"]] == drafts
    assert all(item["published"] for item in post["items"])
    assert sorted(image_ids(images(server, postId=post["postId"]))) == sorted(drafts)


def test_a_post_carries_its_title_description_and_tags(server, painter):
    drafts = [private_image(server, painter["user"]["id"], f"harbour at dawn {n}")["id"] for n in range(2)]
    too_long = requests.post(server.api("/api/v1/images"), headers=bearer(painter["token"]), timeout=30,
                             json={"image_ids": drafts, "title": "t" * 201})
    assert (too_long.status_code, too_long.json()["error"]) == (
        400, "a post's title can be at most 200 characters; this one has 201")
    assert not set(drafts) & set(image_ids(images(server, query="harbour")))  # nothing was published
    reply = requests.post(server.api("/api/v1/images"), headers=bearer(painter["token"]), timeout=30, json={
        "image_ids": drafts, "title": "  Harbour at dawn ", "description": "Two **takes**.", "tags": "Sea, dawn,sea"})
    assert reply.status_code == 201, reply.text
    for item in reply.json()["items"]:
        assert item["post"] == {"title": "Harbour at dawn", "description": "Two **takes**.", "tags": ["dawn", "sea"]}
    listed = images(server, postId=reply.json()["postId"]).json()["items"]
    assert {item["post"]["title"] for item in listed} == {"Harbour at dawn"}
    plain = upload_image(server, painter, picture("PNG", parameters("no words about it"))).json()
    assert plain["post"] is None


def test_published_images_take_comments_and_count_them(server, painter):
    shown = upload_image(server, painter, picture("PNG", parameters("a lighthouse to talk about"))).json()
    quiet = upload_image(server, painter, picture("PNG", parameters("a lighthouse nobody mentions"))).json()
    private = private_image(server, painter["user"]["id"], "a private lighthouse")
    reader = register(server)
    route = f"/api/v1/images/{shown['id']}/comments"
    refused = requests.post(server.api(route), json={"body": "drive-by"}, timeout=30)
    assert refused.status_code == 401
    posted = requests.post(server.api(route), json={"body": "What a light!"}, headers=bearer(reader["token"]),
                           timeout=30)
    assert posted.status_code == 201, posted.text
    assert (posted.json()["imageId"], posted.json()["modelId"]) == (shown["id"], None)
    listed = requests.get(server.api(route), timeout=30).json()
    assert [c["body"] for c in listed["items"]] == ["What a light!"]
    assert images(server, postId=shown["postId"]).json()["items"][0]["stats"]["commentCount"] == 1
    most = image_ids(images(server, sort="Most Comments", username=painter["user"]["username"]))
    assert most.index(shown["id"]) < most.index(quiet["id"])
    mine = requests.get(server.api(f"/api/v1/users/{reader['user']['username']}/comments"), timeout=30).json()
    assert [c["imageId"] for c in mine["items"]] == [shown["id"]]
    for hidden in (private["id"], 987654):  # a private picture takes no comments and shows none
        assert requests.post(server.api(f"/api/v1/images/{hidden}/comments"), json={"body": "hi"},
                             headers=bearer(reader["token"]), timeout=30).status_code == 404
        assert requests.get(server.api(f"/api/v1/images/{hidden}/comments"), timeout=30).status_code == 404
    deleted = requests.delete(server.api(f"/api/v1/comments/{posted.json()['id']}"), headers=bearer(reader["token"]),
                              timeout=30)
    assert deleted.status_code == 200
    assert images(server, postId=shown["postId"]).json()["items"][0]["stats"]["commentCount"] == 0
