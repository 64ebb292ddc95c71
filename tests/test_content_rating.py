"""Content ratings over real HTTP: owners rate, moderators re-rate, and each viewer's setting (hide / blur / show)
decides what the REST listings give, with Civitai's ``nsfw`` fields and filter."""

from __future__ import annotations

import requests

from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def viewer(server, view: str) -> dict:
    account = register(server)
    changed = requests.patch(server.api("/api/v1/me"), json={"matureContent": view},
                             headers=bearer(account["token"]), timeout=30)
    assert changed.status_code == 200 and changed.json()["matureContent"] == view
    return account


def get(server, path, account=None, **params):
    headers = bearer(account["token"]) if account else {}
    return requests.get(server.api(path), params=params, headers=headers, timeout=30)


def image_ids(server, account=None, **params) -> list[int]:
    return [i["id"] for i in get(server, "/api/v1/images", account, limit=200, **params).json()["items"]]


def model_ids(server, account=None, **params) -> list[int]:
    return [m["id"] for m in get(server, "/api/v1/models", account, limit=100, **params).json()["items"]]


def test_explicit_content_in_every_rest_listing_by_the_viewers_setting(server, tmp_path):
    owner = register(server)
    hider, blurrer, shower = viewer(server, "hide"), viewer(server, "blur"), viewer(server, "show")
    for account in (hider, blurrer, shower):
        requests.put(server.api(f"/api/v1/users/{owner['user']['username']}/follow"),
                     headers=bearer(account["token"]), timeout=30)
    safe_model = upload_model(server, owner, tmp_path, seed=701, name="Safe Model")
    explicit_model = upload_model(server, owner, tmp_path, seed=702, name="Explicit Model", rating="explicit")
    assert (explicit_model["nsfw"], explicit_model["nsfwLevel"], explicit_model["rating"]) == (True, 8, "explicit")
    safe_image = upload_image(server, owner, picture(params=parameters("a calm lake"))).json()
    explicit_image = upload_image(server, owner, picture(params=parameters("an explicit scene"))).json()
    rated = requests.patch(server.api(f"/api/v1/images/{explicit_image['id']}"), json={"rating": "explicit"},
                           headers=bearer(owner["token"]), timeout=30)
    assert rated.status_code == 200 and (rated.json()["nsfw"], rated.json()["nsfwLevel"]) == (True, "X")

    for account in (None, blurrer, shower):  # a visitor blurs; blur and show both get it (clients blur or not)
        assert explicit_image["id"] in image_ids(server, account)
        assert explicit_model["id"] in model_ids(server, account)
        assert get(server, f"/api/v1/images/{explicit_image['id']}", account).status_code == 200
    hidden_from = [
        explicit_image["id"] in image_ids(server, hider),
        explicit_image["id"] in image_ids(server, hider, username=owner["user"]["username"]),
        explicit_model["id"] in model_ids(server, hider),
        explicit_model["id"] in model_ids(server, hider, query="Explicit"),
        get(server, f"/api/v1/images/{explicit_image['id']}", hider).status_code != 404,
        get(server, f"/api/v1/models/{explicit_model['id']}", hider).status_code != 404,
        explicit_image["id"] in [i["id"] for i in get(server, f"/api/v1/users/{owner['user']['username']}",
                                                      hider).json()["images"]],
        explicit_image["id"] in [(i["image"] or {}).get("id") for i in get(server, "/api/v1/feed",
                                                                           hider).json()["items"]],
    ]
    assert hidden_from == [False] * len(hidden_from)  # absent everywhere for "hide"
    assert safe_image["id"] in image_ids(server, hider) and safe_model["id"] in model_ids(server, hider)

    assert explicit_image["id"] not in image_ids(server, shower, nsfw="false")  # Civitai's filter
    assert explicit_image["id"] not in image_ids(server, shower, nsfw="Mature")
    assert explicit_image["id"] in image_ids(server, shower, nsfw="X")
    assert explicit_model["id"] not in model_ids(server, shower, nsfw="false")
    assert explicit_image["id"] in image_ids(server, owner)  # never hidden from its owner


def test_who_may_rate(server, tmp_path):
    owner, other, mod = register(server), register(server), register(server)
    requests.put(server.api(f"/api/v1/admin/users/{mod['user']['username']}/moderator"),
                 headers=bearer(server.admin_token), timeout=30)
    model = upload_model(server, owner, tmp_path, seed=703)
    image = upload_image(server, owner, picture()).json()
    for path, body in ((f"/api/v1/models/{model['id']}", {"rating": "mature"}),
                       (f"/api/v1/images/{image['id']}", {"rating": "mature"})):
        assert requests.patch(server.api(path), json=body, headers=bearer(other["token"]),
                              timeout=30).status_code == 403
        by_mod = requests.patch(server.api(path), json=body, headers=bearer(mod["token"]), timeout=30)
        assert by_mod.status_code == 200 and by_mod.json()["rating"] == "mature"
        wrong = requests.patch(server.api(path), json={"rating": "spicy"}, headers=bearer(owner["token"]), timeout=30)
        assert wrong.status_code == 400 and "safe, mature or explicit" in wrong.json()["error"]
    moderated_edit = requests.patch(server.api(f"/api/v1/models/{model['id']}"), json={"name": "renamed"},
                                    headers=bearer(mod["token"]), timeout=30)
    assert moderated_edit.status_code == 403  # a moderator changes the rating, not the rest
    bad_view = requests.patch(server.api("/api/v1/me"), json={"matureContent": "peek"},
                              headers=bearer(other["token"]), timeout=30)
    assert bad_view.status_code == 400
