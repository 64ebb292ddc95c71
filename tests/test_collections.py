"""Collections over real HTTP: public and private, items the viewer may see, owner-only changes, and 8 threads
adding 100 pictures each to one collection at once leaving an exact count."""

from __future__ import annotations

import threading

import requests

from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def new_collection(server, account, name, visibility="public"):
    reply = requests.post(server.api("/api/v1/collections"), json={"name": name, "visibility": visibility},
                          headers=bearer(account["token"]), timeout=30)
    assert reply.status_code == 201, reply.text
    return reply.json()


def add(server, account, collection_id, **item):
    return requests.post(server.api(f"/api/v1/collections/{collection_id}/items"), json=item,
                         headers=bearer(account["token"]), timeout=60)


def test_a_collection_of_models_and_pictures(server, tmp_path):
    keeper, maker, stranger = register(server), register(server), register(server)
    model = upload_model(server, maker, tmp_path, seed=1101, name="Kept Model")
    secret = upload_model(server, maker, tmp_path, seed=1102, visibility="private")
    image = upload_image(server, maker, picture()).json()
    favourites = new_collection(server, keeper, "Favourites")
    hidden = new_collection(server, keeper, "Just for me", visibility="private")
    assert add(server, keeper, favourites["id"], modelId=model["id"]).json()["itemCount"] == 1
    assert add(server, keeper, favourites["id"], modelId=model["id"]).json()["itemCount"] == 1  # again: once
    assert add(server, keeper, favourites["id"], imageId=image["id"]).json()["itemCount"] == 2
    assert add(server, keeper, favourites["id"], modelId=secret["id"]).status_code == 404  # not theirs to see
    assert add(server, stranger, favourites["id"], modelId=model["id"]).status_code == 403
    assert add(server, keeper, favourites["id"]).status_code == 400

    shown = requests.get(server.api(f"/api/v1/collections/{favourites['id']}"), timeout=30).json()
    assert ([m["name"] for m in shown["models"]], [i["id"] for i in shown["images"]]) == (["Kept Model"], [image["id"]])
    listed = requests.get(server.api("/api/v1/collections"), params={"username": keeper["user"]["username"]},
                          timeout=30).json()
    assert [c["name"] for c in listed["items"]] == ["Favourites"]  # the private one only for its owner
    own = requests.get(server.api("/api/v1/collections"), params={"username": keeper["user"]["username"]},
                       headers=bearer(keeper["token"]), timeout=30).json()
    assert sorted(c["name"] for c in own["items"]) == ["Favourites", "Just for me"]
    assert requests.get(server.api(f"/api/v1/collections/{hidden['id']}"), timeout=30).status_code == 404

    requests.patch(server.api(f"/api/v1/models/{model['id']}"), json={"visibility": "private"},
                   headers=bearer(maker["token"]), timeout=30)
    after = requests.get(server.api(f"/api/v1/collections/{favourites['id']}"), timeout=30).json()
    assert after["models"] == []  # a model made private drops out for others
    removed = requests.delete(server.api(f"/api/v1/collections/{favourites['id']}/items"),
                              params={"imageId": image["id"]}, headers=bearer(keeper["token"]), timeout=30)
    assert removed.json()["itemCount"] == 1
    assert requests.post(server.api("/api/v1/collections"), json={"name": " "}, headers=bearer(keeper["token"]),
                         timeout=30).status_code == 400
    assert requests.delete(server.api(f"/api/v1/collections/{favourites['id']}"), headers=bearer(stranger["token"]),
                           timeout=30).status_code == 403


def many_pictures(server, owner_id: int, count: int) -> list[int]:
    """``count`` published pictures of ``owner_id``, written straight into the database (their files are not
    needed to keep them in a collection)."""
    rows = ", ".join("(?, ?, 64, 64, 'crowd picture', '', '', '{}', '', true, '2026-01-01 00:00:00', "
                     "'2026-01-01 00:00:00', 0, 0)" for _ in range(count))
    paths = [f"bulk/{owner_id}-{n}.png" for n in range(count)]
    server.sql("INSERT INTO image (owner_id, path, width, height, prompt, negative_prompt, parameters, meta, "
               f"model_hash, published, published_at, created_at, like_count, comment_count) VALUES {rows}",
               tuple(value for path in paths for value in (owner_id, path)))
    return [row[0] for row in server.sql("SELECT id FROM image WHERE path LIKE ? ORDER BY id", (f"bulk/{owner_id}-%",))]


def test_eight_threads_add_a_hundred_pictures_each_at_once(server):
    keeper = register(server)
    crowd = new_collection(server, keeper, "Crowd")
    images = many_pictures(server, keeper["user"]["id"], 800)
    failures: list[str] = []

    def adder(part: list[int]) -> None:
        with requests.Session() as http:
            for number, image_id in enumerate(part):
                reply = http.post(server.api(f"/api/v1/collections/{crowd['id']}/items"), json={"imageId": image_id},
                                  headers=bearer(keeper["token"]), timeout=120)
                again = http.post(server.api(f"/api/v1/collections/{crowd['id']}/items"),
                                  json={"imageId": part[0]}, headers=bearer(keeper["token"]), timeout=120) \
                    if number % 10 == 0 else reply  # some twice
                failures.extend(f"{a.status_code} {a.text[:80]}" for a in (reply, again) if a.status_code != 200)

    threads = [threading.Thread(target=adder, args=(images[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    shown = requests.get(server.api(f"/api/v1/collections/{crowd['id']}"), timeout=30).json()
    assert shown["itemCount"] == 800
    assert server.sql("SELECT COUNT(*) FROM collection_item WHERE collection_id = ?", (crowd["id"],)) == [(800,)]
