"""Notifications over real HTTP: who is told of what, grouping, read state, opt-outs, replies and mentions."""

from __future__ import annotations

import time

import requests

from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def inbox(server, account, **params) -> dict:
    reply = requests.get(server.api("/api/v1/notifications"), params=params, headers=bearer(account["token"]),
                         timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def unread(server, account) -> int:
    return inbox(server, account, limit=1)["metadata"]["unreadCount"]


def eventually(read, wanted, timeout: float = 20):
    """``read()`` once it equals ``wanted`` (followers are told moments after a publication, by the server's
    background writer); its last value otherwise, for the assertion to show."""
    deadline = time.monotonic() + timeout
    while (value := read()) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def comment(server, account, model_id, body, parent=None) -> dict:
    reply = requests.post(server.api(f"/api/v1/models/{model_id}/comments"), json={"body": body, "parentId": parent},
                          headers=bearer(account["token"]), timeout=30)
    assert reply.status_code == 201, reply.text
    return reply.json()


def like(server, account, model_id, liked=True) -> None:
    method = requests.put if liked else requests.delete
    assert method(server.api(f"/api/v1/models/{model_id}/like"), headers=bearer(account["token"]),
                  timeout=30).status_code == 200


def follow(server, account, username) -> None:
    assert requests.put(server.api(f"/api/v1/users/{username}/follow"), headers=bearer(account["token"]),
                        timeout=30).status_code == 200


def test_comment_reply_and_mention_tell_each_person_once(server, tmp_path):
    author, fan, friend = register(server), register(server), register(server)
    model = upload_model(server, author, tmp_path, seed=301, name="Told Model")

    first = comment(server, fan, model["id"], "Lovely! @nobody_here and @" + friend["user"]["username"])
    assert first["mentions"] == [friend["user"]["username"]]  # only people who exist
    [told] = inbox(server, author)["items"]
    assert (told["type"], told["actor"], told["modelId"], told["commentId"], told["read"]) == \
        ("comment", fan["user"]["username"], model["id"], first["id"], False)
    assert told["modelName"] == "Told Model" and told["excerpt"].startswith("Lovely!")
    assert [n["type"] for n in inbox(server, friend)["items"]] == ["mention"]
    assert inbox(server, fan)["items"] == []  # nobody is told of their own comment

    answer = comment(server, author, model["id"], f"Thanks @{fan['user']['username']}!", parent=first["id"])
    assert answer["parentId"] == first["id"]
    [reply_notice] = inbox(server, fan)["items"]  # answered and mentioned: told once, as an answer
    assert (reply_notice["type"], reply_notice["commentId"]) == ("reply", answer["id"])
    deeper = comment(server, friend, model["id"], "me too", parent=answer["id"])
    assert deeper["parentId"] == first["id"]  # one level: an answer to an answer joins the thread

    thread = requests.get(server.api(f"/api/v1/models/{model['id']}/comments"), timeout=30).json()
    assert [c["id"] for c in thread["items"]] == [first["id"]]
    assert [r["id"] for r in thread["items"][0]["replies"]] == [answer["id"], deeper["id"]]

    requests.delete(server.api(f"/api/v1/comments/{first['id']}"), headers=bearer(fan["token"]), timeout=30)
    assert inbox(server, author)["items"] == [] and inbox(server, friend)["items"] == []  # gone with the comment


def test_answering_a_comment_elsewhere_is_refused(server, tmp_path):
    author = register(server)
    one = upload_model(server, author, tmp_path, seed=302)
    other = upload_model(server, author, tmp_path, seed=303)
    first = comment(server, author, one["id"], "here")
    reply = requests.post(server.api(f"/api/v1/models/{other['id']}/comments"),
                          json={"body": "there", "parentId": first["id"]}, headers=bearer(author["token"]), timeout=30)
    assert reply.status_code == 404 and "to answer" in reply.json()["error"]


def test_likes_group_and_an_unlike_leaves_nothing_stale(server, tmp_path):
    author = register(server)
    fans = [register(server) for _ in range(3)]
    model = upload_model(server, author, tmp_path, seed=304)
    for fan in fans:
        like(server, fan, model["id"])
    like(server, fans[0], model["id"])  # liking twice tells nothing more
    [grouped] = inbox(server, author)["items"]
    assert (grouped["type"], grouped["count"], grouped["actor"]) == ("like", 3, fans[2]["user"]["username"])
    assert unread(server, author) == 3

    like(server, fans[2], model["id"], liked=False)
    [grouped] = inbox(server, author)["items"]
    assert (grouped["count"], grouped["actor"]) == (2, fans[1]["user"]["username"])
    like(server, fans[0], model["id"], liked=False)
    like(server, fans[1], model["id"], liked=False)
    assert inbox(server, author)["items"] == [] and unread(server, author) == 0


def test_marking_read_one_entry_and_all(server, tmp_path):
    author, fan = register(server), register(server)
    model = upload_model(server, author, tmp_path, seed=305)
    like(server, fan, model["id"])
    follow(server, fan, author["user"]["username"])
    comment(server, fan, model["id"], "nice")
    assert unread(server, author) == 3
    items = inbox(server, author)["items"]
    assert [n["type"] for n in items] == ["comment", "follow", "like"]  # newest first
    read = requests.post(server.api("/api/v1/notifications/read"), json={"id": items[1]["id"]},
                         headers=bearer(author["token"]), timeout=30)
    assert read.json() == {"unreadCount": 2}
    assert [n["type"] for n in inbox(server, author, unread="true")["items"]] == ["comment", "like"]
    someone_elses = requests.post(server.api("/api/v1/notifications/read"), json={"id": items[0]["id"]},
                                  headers=bearer(fan["token"]), timeout=30)
    assert someone_elses.status_code == 404
    everything = requests.post(server.api("/api/v1/notifications/read"), json={"all": True},
                               headers=bearer(author["token"]), timeout=30)
    assert everything.json() == {"unreadCount": 0} and all(n["read"] for n in inbox(server, author)["items"])
    assert requests.get(server.api("/api/v1/notifications"), timeout=30).status_code == 401


def test_followers_hear_of_new_models_and_pictures_unless_they_opted_out(server, tmp_path):
    creator, fan, quiet = register(server), register(server), register(server)
    for account in (fan, quiet):
        follow(server, account, creator["user"]["username"])
    off = requests.put(server.api("/api/v1/notifications/settings"), json={"off": ["new_model"]},
                       headers=bearer(quiet["token"]), timeout=30)
    assert off.status_code == 200 and off.json()["off"] == ["new_model"]
    wrong = requests.put(server.api("/api/v1/notifications/settings"), json={"off": ["everything"]},
                         headers=bearer(quiet["token"]), timeout=30)
    assert wrong.status_code == 400 and "new_model" in wrong.json()["error"]

    model = upload_model(server, creator, tmp_path, seed=306, name="Fresh")
    secret = upload_model(server, creator, tmp_path, seed=307, visibility="private")
    image = upload_image(server, creator, picture()).json()

    def told(account):
        return [(n["type"], n["modelId"] or n["imageId"]) for n in inbox(server, account)["items"]]

    wanted = [("new_image", image["id"]), ("new_model", model["id"])]
    assert eventually(lambda: told(fan), wanted) == wanted
    assert eventually(lambda: told(quiet), wanted[:1]) == wanted[:1]  # told in order: the model was skipped

    made_public = requests.patch(server.api(f"/api/v1/models/{secret['id']}"), json={"visibility": "public"},
                                 headers=bearer(creator["token"]), timeout=30)
    assert made_public.status_code == 200, made_public.text
    assert eventually(lambda: told(fan)[0], ("new_model", secret["id"])) == ("new_model", secret["id"])
    requests.patch(server.api(f"/api/v1/models/{secret['id']}"), json={"visibility": "private"},
                   headers=bearer(creator["token"]), timeout=30)
    assert secret["id"] not in [n["modelId"] for n in inbox(server, fan)["items"]]  # what one cannot see is left out


def test_a_banned_users_actions_notify_nobody(server, tmp_path):
    author, troll = register(server), register(server)
    model = upload_model(server, author, tmp_path, seed=308)
    comment(server, troll, model["id"], "first!")
    like(server, troll, model["id"])
    assert unread(server, author) == 2
    ban = requests.post(server.api(f"/api/v1/admin/users/{troll['user']['username']}/ban"),
                        headers=bearer(server.admin_token), timeout=30)
    assert ban.status_code == 200
    assert inbox(server, author)["items"] == [] and unread(server, author) == 0
    refused = requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={"body": "again"},
                            headers=bearer(troll["token"]), timeout=30)
    assert refused.status_code in (401, 403) and unread(server, author) == 0
