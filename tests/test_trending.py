"""Rankings within a period over real HTTP: ``sort=Most Liked|Most Downloaded|Most Commented&period=Week`` counts
only the week's likes, downloads and comments (an unlike takes its like back), models without any follow newest
first, and ``AllTime`` ranks by the whole count — for models and for pictures."""

from __future__ import annotations

import datetime as dt

import requests

from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def long_ago(server, table: str, where: str, params: tuple, days: int = 20) -> None:
    """Move events back ``days`` (in the server's own database), out of a Week."""
    moment = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).replace(tzinfo=None).isoformat(sep=" ")
    column = "at" if table == "download_event" else "created_at"
    server.sql(f"UPDATE {table} SET {column} = ? WHERE {where}", (moment, *params))


def names(server, owner, **params) -> list[str]:
    reply = requests.get(server.api("/api/v1/models"), params={"username": owner["user"]["username"], **params},
                         timeout=30)
    assert reply.status_code == 200, reply.text
    return [m["name"] for m in reply.json()["items"]]


def test_models_ranked_by_the_periods_events(server, tmp_path):
    owner = register(server)
    fans = [register(server) for _ in range(3)]
    old_hit, new_hit, quiet = (upload_model(server, owner, tmp_path, seed=1301 + n, name=name)
                               for n, name in enumerate(("Old Hit", "New Hit", "Quiet")))
    for fan in fans:
        requests.put(server.api(f"/api/v1/models/{old_hit['id']}/like"), headers=bearer(fan["token"]), timeout=30)
    long_ago(server, "model_like", "model_id = ?", (old_hit["id"],))
    requests.put(server.api(f"/api/v1/models/{new_hit['id']}/like"), headers=bearer(fans[0]["token"]), timeout=30)

    assert names(server, owner, sort="Most Liked", period="Week") == ["New Hit", "Quiet", "Old Hit"]
    assert names(server, owner, sort="Most Liked", period="AllTime") == ["Old Hit", "New Hit", "Quiet"]
    assert names(server, owner, sort="Most Liked", period="Month") == ["Old Hit", "New Hit", "Quiet"]
    paged = [names(server, owner, sort="Most Liked", period="Week", limit=1, page=n)[0] for n in (1, 2, 3)]
    assert paged == ["New Hit", "Quiet", "Old Hit"]  # pages across the ranked and the unranked part

    requests.delete(server.api(f"/api/v1/models/{new_hit['id']}/like"), headers=bearer(fans[0]["token"]), timeout=30)
    assert names(server, owner, sort="Most Liked", period="Week") == ["Quiet", "New Hit", "Old Hit"]  # newest first

    for model, times in ((quiet, 2), (old_hit, 3)):
        version = model["modelVersions"][0]
        for _ in range(times):
            got = requests.get(server.api(f"/api/download/models/{version['id']}"), timeout=30)
            assert got.status_code == 200
    long_ago(server, "download_event", "model_id = ?", (old_hit["id"],))
    assert names(server, owner, sort="Most Downloaded", period="Week")[0] == "Quiet"
    assert names(server, owner, sort="Most Downloaded", period="AllTime")[0] == "Old Hit"

    requests.post(server.api(f"/api/v1/models/{old_hit['id']}/comments"), json={"body": "still good"},
                  headers=bearer(fans[1]["token"]), timeout=30)
    assert names(server, owner, sort="Most Commented", period="Day")[0] == "Old Hit"


def test_pictures_ranked_by_the_periods_likes(server):
    owner, fan, other = register(server), register(server), register(server)
    popular = upload_image(server, owner, picture(color="red")).json()
    fresh = upload_image(server, owner, picture(color="blue")).json()
    for account in (fan, other):
        requests.put(server.api(f"/api/v1/images/{popular['id']}/like"), headers=bearer(account["token"]), timeout=30)
    long_ago(server, "image_like", "image_id = ?", (popular["id"],))
    requests.put(server.api(f"/api/v1/images/{fresh['id']}/like"), headers=bearer(fan["token"]), timeout=30)

    def ranked(period):
        reply = requests.get(server.api("/api/v1/images"), params={"username": owner["user"]["username"],
                                                                   "sort": "Most Reactions", "period": period},
                             timeout=30).json()
        return [image["id"] for image in reply["items"]]
    assert ranked("Week") == [fresh["id"], popular["id"]]
    assert ranked("AllTime") == [popular["id"], fresh["id"]]
