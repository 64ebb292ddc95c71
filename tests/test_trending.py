"""Rankings within a period over real HTTP: ``sort=Most Liked|Most Downloaded|Most Commented&period=Week`` counts
only the week's likes, downloads and comments (an unlike takes its like back), models without any follow newest
first, and ``AllTime`` ranks by the whole count — for models and for pictures.  In process: likes that leave a
period stop counting at once, before the ageing pass moves the counters, and the same after it."""

from __future__ import annotations

import datetime as dt

import requests

from community.likes import set_model_like
from core.accounts.accounts import user_info
from core.events import TrendWatermark
from core.library import trending
from core.library.library import ModelQuery, list_models
from core.library.model_filters import ModelFilters
from core.migrations import open_store
from core.tables import AiModel, ModelLike, User
from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


# The events a test moves back in time: their item's table and column, and the counters they feed.
COUNTED = {"model_like": ("model", "model_id", "created_at", "likes"),
           "image_like": ("image", "image_id", "created_at", "likes"),
           "download_event": ("model", "model_id", "at", "downloads")}


def long_ago(server, table: str, where: str, params: tuple, days: int = 20) -> None:
    """Move events back ``days`` (in the server's own database), out of a Week, and set their items' period
    counters from the rows as the ageing pass does (``core.library.trending``): as if they had happened then."""
    moment = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).replace(tzinfo=None).isoformat(sep=" ")
    items, item, at, kind = COUNTED[table]
    server.sql(f"UPDATE {table} SET {at} = ? WHERE {where}", (moment, *params))
    for period in ("Day", "Week", "Month", "Year"):
        server.sql(f"UPDATE {items} SET {kind}_{period.lower()} = (SELECT COUNT(*) FROM {table} WHERE "
                   f"{table}.{item} = {items}.id AND {table}.{at} >= (SELECT since FROM trend_watermark "
                   f"WHERE period = ?))", (period,))


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


def _ranked(period: str) -> list[str]:
    query = ModelQuery(sort="most_liked", limit=10, filters=ModelFilters(period=period))
    return [model.name for model in list_models(None, query).items]


def _days_pass(store, days: int) -> None:
    """``days`` go by without an ageing pass: every like and every watermark is that much older."""
    moved = dt.timedelta(days=days)
    with store.write():
        for row in list(TrendWatermark.select()):
            TrendWatermark.update(since=row.since - moved).where(TrendWatermark.period == row.period).execute()
        for like in list(ModelLike.select()):
            ModelLike.update(created_at=like.created_at - moved).where(ModelLike.id == like.id).execute()


def test_likes_leaving_the_week_stop_counting_before_and_after_the_ageing_pass(store_target):
    store = open_store(store_target)
    try:
        people = [user_info(User.create(username=f"fan{n}", username_key=f"fan{n}", username_skeleton=f"fan{n}",
                                        password_hash="x")) for n in range(3)]
        old_hit, steady, quiet = (AiModel.create(owner=people[0].id, name=name, type="checkpoint",
                                                 base_model="SD 1.5") for name in ("Old Hit", "Steady", "Quiet"))
        for person in people:
            set_model_like(store, person, old_hit.id, True)
        set_model_like(store, people[1], steady.id, True)
        assert _ranked("Week") == ["Old Hit", "Steady", "Quiet"]

        _days_pass(store, 10)
        set_model_like(store, people[2], steady.id, True)
        before_the_pass = {period: _ranked(period) for period in ("Day", "Week", "Month", "AllTime")}
        assert before_the_pass == {"Day": ["Steady", "Quiet", "Old Hit"], "Week": ["Steady", "Quiet", "Old Hit"],
                                   "Month": ["Old Hit", "Steady", "Quiet"], "AllTime": ["Old Hit", "Steady", "Quiet"]}

        assert trending.age(store) >= 2  # both liked models left the day and the week
        assert {period: _ranked(period) for period in before_the_pass} == before_the_pass
        counted = AiModel.get_by_id(old_hit.id)
        assert (counted.likes_day, counted.likes_week, counted.likes_month, counted.like_count) == (0, 0, 3, 3)
        assert trending.age(store) == 0  # a second pass (another process's) finds nothing left

        set_model_like(store, people[0], old_hit.id, False)  # an old like taken back leaves the month too
        counted = AiModel.get_by_id(old_hit.id)
        assert (counted.likes_week, counted.likes_month, counted.like_count) == (0, 2, 2)
        assert _ranked("Week") == ["Steady", "Quiet", "Old Hit"]
    finally:
        store.close()
