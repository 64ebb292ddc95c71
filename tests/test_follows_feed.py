"""Following people, profiles and the feed over real HTTP."""

from __future__ import annotations

import pytest
import requests

from tests.community_helpers import parameters, picture, private_image, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


@pytest.fixture(scope="module")
def star(server):
    return register(server, "feed_star")


@pytest.fixture(scope="module")
def fan(server):
    return register(server, "feed_fan")


def follow(server, account, username, on=True):
    method = requests.put if on else requests.delete
    return method(server.api(f"/api/v1/users/{username}/follow"), headers=bearer(account["token"]), timeout=30)


def profile(server, username, token=None):
    reply = requests.get(server.api(f"/api/v1/users/{username}"), headers=bearer(token) if token else {}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def feed(server, account, **params):
    reply = requests.get(server.api("/api/v1/feed"), params=params, headers=bearer(account["token"]), timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_follow_unfollow_is_idempotent(server, star, fan):
    assert follow(server, fan, "feed_star").json() == {"following": True, "followers": 1}
    assert follow(server, fan, "FEED_STAR").json() == {"following": True, "followers": 1}
    assert profile(server, "feed_star", fan["token"])["isFollowing"] is True
    assert profile(server, "feed_star")["isFollowing"] is False
    assert profile(server, "feed_fan")["stats"]["followingCount"] == 1
    assert follow(server, fan, "feed_star", on=False).json() == {"following": False, "followers": 0}
    assert follow(server, fan, "feed_star", on=False).json() == {"following": False, "followers": 0}
    selfie = follow(server, fan, "feed_fan")
    assert selfie.status_code == 400 and "yourself" in selfie.json()["error"]
    assert follow(server, fan, "nobody_here").status_code == 404
    assert requests.put(server.api("/api/v1/users/feed_star/follow")).status_code == 401


def test_profile_shows_bio_models_images_and_counts(server, star, fan, tmp_path):
    requests.patch(server.api("/api/v1/me"), json={"bio": "I make <b>moody</b> landscapes"},
                   headers=bearer(star["token"]))
    public = upload_model(server, star, tmp_path, seed=401, name="Moody Peaks")
    hidden = upload_model(server, star, tmp_path, seed=402, name="Unreleased", visibility="private")
    shown = upload_image(server, star, picture("PNG", parameters("foggy valley"))).json()
    private_image(server, star["user"]["id"], "draft")
    page = profile(server, "feed_star")
    assert page["bio"] == "I make <b>moody</b> landscapes"
    assert [m["name"] for m in page["models"]] == ["Moody Peaks"]
    assert [i["id"] for i in page["images"]] == [shown["id"]]
    assert page["stats"]["modelCount"] == 1 and page["stats"]["imageCount"] == 1
    own_view = profile(server, "feed_star", star["token"])
    assert {m["id"] for m in own_view["models"]} == {public["id"], hidden["id"]}
    assert requests.get(server.api("/api/v1/users/nobody_here")).status_code == 404


def test_feed_lists_new_public_work_of_followed_users(server, star, fan, tmp_path):
    stranger = register(server)
    assert follow(server, fan, "feed_star").status_code == 200
    upload_model(server, stranger, tmp_path, seed=403, name="Stranger Model")
    upload_image(server, stranger, picture("PNG", parameters("stranger image")))
    model = upload_model(server, star, tmp_path, seed=404, name="Fresh Drop")
    upload_model(server, star, tmp_path, seed=405, name="Still Private", visibility="private")
    image = upload_image(server, star, picture("PNG", parameters("fresh image"))).json()
    private_image(server, star["user"]["id"], "unpublished work")

    items = feed(server, fan)["items"]
    kinds = [(item["kind"], (item["model"] or item["image"])["id"]) for item in items]
    assert kinds[:2] == [("image", image["id"]), ("model", model["id"])]  # newest first
    assert all(item["model"]["creator"]["username"] == "feed_star" for item in items if item["model"])
    assert all(item["image"]["username"] == "feed_star" for item in items if item["image"])
    names = [item["model"]["name"] for item in items if item["model"]]
    assert "Still Private" not in names and "Stranger Model" not in names
    assert all(item["image"]["published"] for item in items if item["image"])
    times = [item["createdAt"] for item in items]
    assert times == sorted(times, reverse=True)

    total = feed(server, fan)["metadata"]["totalItems"]
    first = feed(server, fan, limit=1)
    second = feed(server, fan, limit=1, page=2)
    assert first["metadata"]["totalItems"] == total and first["metadata"]["nextPage"]
    assert second["items"][0] != first["items"][0]
    assert requests.get(server.api("/api/v1/feed")).status_code == 401
    assert feed(server, stranger)["items"] == []
