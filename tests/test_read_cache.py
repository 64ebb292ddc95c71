"""Model listings and pages come from the read cache, yet always show the library as it is now.

The cache is keyed by the library version that database triggers move on every
write (``core.data_version``), so these tests change the library through every
kind of path (REST edits, likes, comments, a raw SQL write from another
connection) and check that the next read shows it at once.
"""

from __future__ import annotations

import pytest
import requests

from core import data_version
from core.migrations import open_store
from core.read_cache import ReadCache
from core.tables import AiModel, Image, User
from tests import sample_files
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def owner(server):
    return register(server)


@pytest.fixture(scope="module")
def model(server, owner, tmp_path_factory):
    path = sample_files.sd15_checkpoint(tmp_path_factory.mktemp("cache") / "cached_mix.safetensors", seed=7)
    with open(path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), headers=bearer(owner["token"]),
                              files={"file": (path.name, handle, "application/octet-stream")})
    assert reply.status_code == 201, reply.text
    return reply.json()


def page(server, model_id, token=None):
    reply = requests.get(server.api(f"/api/v1/models/{model_id}"), headers=bearer(token) if token else {})
    return reply.status_code, reply.json()


def listed_ids(server, token=None, **params):
    reply = requests.get(server.api("/api/v1/models"), params={"limit": 100, **params},
                         headers=bearer(token) if token else {})
    assert reply.status_code == 200, reply.text
    return {item["id"] for item in reply.json()["items"]}


def test_a_repeated_read_is_the_same_answer(server, model):
    first, second = page(server, model["id"]), page(server, model["id"])
    assert first == second and first[1]["name"] == "cached_mix"


def test_every_kind_of_write_shows_on_the_next_read(server, owner, model):
    model_id, token = model["id"], owner["token"]
    page(server, model_id)
    reply = requests.patch(server.api(f"/api/v1/models/{model_id}"), headers=bearer(token),
                           json={"name": "Renamed Mix", "tags": ["sunset"]})
    assert reply.status_code == 200, reply.text
    _, shown = page(server, model_id)
    assert (shown["name"], shown["tags"]) == ("Renamed Mix", ["sunset"])

    fan = register(server)
    assert requests.put(server.api(f"/api/v1/models/{model_id}/like"), headers=bearer(fan["token"])).ok
    assert page(server, model_id)[1]["stats"]["favoriteCount"] == 1
    assert requests.post(server.api(f"/api/v1/models/{model_id}/comments"), headers=bearer(fan["token"]),
                         json={"body": "lovely"}).status_code == 201
    assert page(server, model_id)[1]["stats"]["commentCount"] == 1

    # another program writing to the same database
    server.sql("UPDATE model SET description = 'edited elsewhere' WHERE id = ?", (model_id,))
    assert page(server, model_id)[1]["description"] == "edited elsewhere"


def test_a_private_model_read_by_its_owner_is_never_served_to_others(server, owner, model):
    model_id, token = model["id"], owner["token"]
    assert requests.patch(server.api(f"/api/v1/models/{model_id}"), headers=bearer(token),
                          json={"visibility": "private"}).ok
    try:
        assert page(server, model_id, token)[0] == 200
        assert model_id in listed_ids(server, token, sort="newest")
        assert page(server, model_id)[0] == 404
        assert model_id not in listed_ids(server, sort="newest")
        stranger = register(server)
        assert page(server, model_id, stranger["token"])[0] == 404
        assert model_id not in listed_ids(server, stranger["token"], sort="newest")
    finally:
        requests.patch(server.api(f"/api/v1/models/{model_id}"), headers=bearer(token), json={"visibility": "public"})
    assert model_id in listed_ids(server, sort="newest")


def test_the_library_version_moves_with_library_writes_only(store_target):
    store = open_store(store_target)
    try:
        def version():
            return data_version.read(store.db)

        start = version()
        user = User.create(username="painter", username_key="painter", username_skeleton="painter",
                           password_hash="x")
        after_user = version()
        row = AiModel.create(owner=user, name="m", type="checkpoint", base_model="SD 1.5")
        after_model = version()
        Image.create(owner=user, model=row, path="a.png", width=64, height=64, prompt="draft", published=False)
        after_draft = version()
        Image.create(owner=user, model=row, path="b.png", width=64, height=64, prompt="shown", published=True)
        assert start < after_user < after_model == after_draft < version()
    finally:
        store.close()


def test_the_cache_holds_at_most_its_byte_budget_dropping_the_least_recently_read(store_target):
    store = open_store(store_target)
    try:
        cache = ReadCache(store, max_bytes=250)
        for key in ("a", "b"):
            version, body = cache.lookup(key)
            assert body is None
            cache.keep(key, version, key.encode() * 100)
        assert cache.lookup("a")[1] == b"a" * 100  # "a" is now the most recently read
        version, _ = cache.lookup("c")
        cache.keep("c", version, b"c" * 100)  # 300 bytes > 250: the least recently read ("b") goes
        assert cache.lookup("b")[1] is None
        assert cache.lookup("a")[1] == b"a" * 100 and cache.lookup("c")[1] == b"c" * 100
        cache.keep("huge", version, b"h" * 251)  # larger than the whole budget: not kept, nothing dropped
        assert cache.lookup("huge")[1] is None and cache.lookup("a")[1] == b"a" * 100
    finally:
        store.close()
