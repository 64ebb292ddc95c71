"""Comments and likes over real HTTP, including concurrent likes and comments on one model."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


@pytest.fixture(scope="module")
def author(server):
    return register(server)


@pytest.fixture(scope="module")
def model(server, author, tmp_path_factory):
    return upload_model(server, author, tmp_path_factory.mktemp("m"), seed=101, name="Comment Target")


def comments_of(server, model_id, **params):
    reply = requests.get(server.api(f"/api/v1/models/{model_id}/comments"), params=params, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def model_stats(server, model_id, token=None):
    headers = bearer(token) if token else {}
    return requests.get(server.api(f"/api/v1/models/{model_id}"), headers=headers, timeout=30).json()["stats"]


def post(server, account, model_id, body):
    return requests.post(server.api(f"/api/v1/models/{model_id}/comments"), json={"body": body},
                         headers=bearer(account["token"]), timeout=30)


def test_comment_story(server, author, model):
    reader = register(server)
    first = post(server, reader, model["id"], "  Lovely colours!  ")
    assert first.status_code == 201, first.text
    assert first.json()["body"] == "Lovely colours!"
    assert first.json()["username"] == reader["user"]["username"]
    assert first.json()["modelId"] == model["id"]
    second = post(server, author, model["id"], "Thanks!")
    listing = comments_of(server, model["id"])
    assert [c["id"] for c in listing["items"]][:2] == [second.json()["id"], first.json()["id"]]  # newest first
    assert model_stats(server, model["id"])["commentCount"] == listing["metadata"]["totalItems"]

    paged = comments_of(server, model["id"], limit=1)
    assert len(paged["items"]) == 1 and paged["metadata"]["nextPage"]
    assert comments_of(server, model["id"], limit=1, page=2)["items"][0]["id"] == first.json()["id"]

    mine = requests.get(server.api(f"/api/v1/users/{reader['user']['username']}/comments"), timeout=30).json()
    assert [(c["modelId"], c["modelName"]) for c in mine["items"]] == [(model["id"], "Comment Target")]

    deleted = requests.delete(server.api(f"/api/v1/comments/{first.json()['id']}"), headers=bearer(reader["token"]))
    assert deleted.status_code == 200
    after = comments_of(server, model["id"])
    assert first.json()["id"] not in [c["id"] for c in after["items"]]
    assert model_stats(server, model["id"])["commentCount"] == after["metadata"]["totalItems"]


def test_comment_length_and_plain_text(server, author, model):
    for bad, error in (("", "write something first: the comment is empty"),
                       ("   \n ", "write something first: the comment is empty"),
                       ("x" * 5001, "a comment can be at most 5000 characters; this one has 5001")):
        reply = post(server, author, model["id"], bad)
        assert (reply.status_code, reply.json()["error"]) == (400, error), bad[:10]
    assert post(server, author, model["id"], "y" * 5000).status_code == 201
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    stored = post(server, author, model["id"], payload)
    assert stored.status_code == 201
    assert comments_of(server, model["id"])["items"][0]["body"] == payload  # kept as text; the UI escapes it
    assert requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={},
                         headers=bearer(author["token"])).status_code == 400
    assert post(server, author, 999_999, "hello").status_code == 404


def test_private_model_comments_are_hidden(server, author, tmp_path):
    private = upload_model(server, author, tmp_path, seed=102, visibility="private")
    other = register(server)
    assert post(server, other, private["id"], "peek").status_code == 404
    assert requests.get(server.api(f"/api/v1/models/{private['id']}/comments")).status_code == 404
    assert post(server, author, private["id"], "note to self").status_code == 201
    mine = requests.get(server.api(f"/api/v1/users/{author['user']['username']}/comments")).json()
    assert private["id"] not in [c["modelId"] for c in mine["items"]]  # not shown to visitors


def like(server, account, path, on=True):
    method = requests.put if on else requests.delete
    return method(server.api(path), headers=bearer(account["token"]), timeout=30)


def test_model_likes_are_idempotent(server, author, model):
    path = f"/api/v1/models/{model['id']}/like"
    fan = register(server)
    before = model_stats(server, model["id"])["favoriteCount"]
    assert like(server, fan, path).json() == {"liked": True, "likes": before + 1}
    assert like(server, fan, path).json() == {"liked": True, "likes": before + 1}
    assert requests.get(server.api(path), headers=bearer(fan["token"])).json() == {"liked": True, "likes": before + 1}
    assert requests.get(server.api(path)).json() == {"liked": False, "likes": before + 1}
    assert like(server, fan, path, on=False).json() == {"liked": False, "likes": before}
    assert like(server, fan, path, on=False).json() == {"liked": False, "likes": before}
    assert model_stats(server, model["id"])["favoriteCount"] == before
    assert like(server, fan, "/api/v1/models/999999/like").status_code == 404


def test_image_likes(server, author):
    image = upload_image(server, author, picture()).json()
    path = f"/api/v1/images/{image['id']}/like"
    fans = [register(server) for _ in range(2)]
    assert like(server, fans[0], path).json() == {"liked": True, "likes": 1}
    assert like(server, fans[1], path).json() == {"liked": True, "likes": 2}
    assert like(server, fans[1], path).json() == {"liked": True, "likes": 2}
    listed = requests.get(server.api(f"/api/v1/images/{image['id']}")).json()
    assert listed["stats"]["likeCount"] == 2
    assert like(server, fans[0], path, on=False).json() == {"liked": False, "likes": 1}


def test_concurrent_likes_and_comments_stay_exact(server, author, model):
    """8 clients x 100 like/unlike toggles, plus comments, on one model: counts exact, no errors."""
    path = server.api(f"/api/v1/models/{model['id']}/like")
    clients = [register(server) for _ in range(8)]
    start_comments = comments_of(server, model["id"])["metadata"]["totalItems"]
    start_likes = model_stats(server, model["id"])["favoriteCount"]
    failures, final_state = [], {}

    def work(index: int, account: dict) -> None:
        session = requests.Session()
        session.headers.update(bearer(account["token"]))
        liked = False
        for step in range(100):
            liked = not liked
            reply = (session.put if liked else session.delete)(path, timeout=60)
            if reply.status_code != 200:
                failures.append(reply.text)
            if step % 10 == 0:
                sent = session.post(server.api(f"/api/v1/models/{model['id']}/comments"),
                                    json={"body": f"client {index} step {step}"}, timeout=60)
                if sent.status_code != 201:
                    failures.append(sent.text)
        if index % 2 == 0:  # 100 toggles end unliked; half the clients like once more
            liked = session.put(path, timeout=60).json()["liked"]
        final_state[index] = liked

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:3]
    stats = model_stats(server, model["id"])
    assert stats["favoriteCount"] == start_likes + sum(final_state.values())
    listing = comments_of(server, model["id"])
    assert listing["metadata"]["totalItems"] == start_comments + 8 * 10
    assert stats["commentCount"] == listing["metadata"]["totalItems"]
    assert "database is locked" not in server.log()
