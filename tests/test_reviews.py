"""Reviews over real HTTP: one per person per version, Civitai's stats on versions and models, Highest Rated, the
owner told, and 8 threads × 100 people reviewing and liking at once leaving exact counts."""

from __future__ import annotations

import hashlib
import threading

import requests

from tests.community_helpers import upload_model
from tests.conftest import bearer, register, unique_name

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def many_members(server, count: int) -> list[str]:
    """``count`` accounts with a login session each, written straight into the database as another program
    would (registering 800 people over HTTP would spend minutes hashing passwords); their tokens."""
    names = [unique_name("crowd") for _ in range(count)]
    rows = ", ".join("(?, ?, ?, 'x', '', false, false, '2026-01-01 00:00:00')" for _ in names)
    server.sql(f'INSERT INTO "user" (username, username_key, username_skeleton, password_hash, bio, is_admin, '
               f'is_banned, created_at) VALUES {rows}', tuple(value for name in names for value in (name,) * 3))
    tokens = [f"crowd-token-{name}" for name in names]
    sessions = ", ".join("(?, (SELECT id FROM \"user\" WHERE username = ?), '2026-01-01 00:00:00', "
                         "'2099-01-01 00:00:00')" for _ in names)
    server.sql(f"INSERT INTO session (token_hash, user_id, created_at, expires_at) VALUES {sessions}",
               tuple(value for name, token in zip(names, tokens)
                     for value in (hashlib.sha256(token.encode()).hexdigest(), name)))
    return tokens


def review(server, token, version_id, recommended, details=""):
    return requests.post(server.api(f"/api/v1/model-versions/{version_id}/reviews"),
                         json={"recommended": recommended, "details": details}, headers=bearer(token), timeout=60)


def stats(server, model_id) -> tuple[dict, dict]:
    model = requests.get(server.api(f"/api/v1/models/{model_id}"), timeout=30).json()
    return model["stats"], model["modelVersions"][0]["stats"]


def test_one_review_per_person_per_version_and_the_stats(server, tmp_path):
    owner, fan, critic = register(server), register(server), register(server)
    model = upload_model(server, owner, tmp_path, seed=901, name="Reviewed Model")
    version_id = model["modelVersions"][0]["id"]
    first = review(server, fan["token"], version_id, True, "crisp and clean")
    assert first.status_code == 200, first.text
    assert (first.json()["recommended"], first.json()["details"]) == (True, "crisp and clean")
    review(server, critic["token"], version_id, False, "too soft")
    again = review(server, fan["token"], version_id, False, "changed my mind")  # the same person: edited
    assert again.json()["id"] == first.json()["id"]
    model_stats, version_stats = stats(server, model["id"])
    assert (version_stats["thumbsUpCount"], version_stats["thumbsDownCount"], version_stats["ratingCount"]) == (0, 2, 2)
    assert (model_stats["thumbsUpCount"], model_stats["thumbsDownCount"], model_stats["rating"]) == (0, 2, 0)

    review(server, fan["token"], version_id, True, "back to yes")
    model_stats, _ = stats(server, model["id"])
    assert (model_stats["thumbsUpCount"], model_stats["rating"], model_stats["ratingCount"]) == (1, 2.5, 2)
    listing = requests.get(server.api(f"/api/v1/models/{model['id']}/reviews"), timeout=30).json()
    assert [(r["username"], r["recommended"], r["details"]) for r in listing["items"]] == \
        [(fan["user"]["username"], True, "back to yes"), (critic["user"]["username"], False, "too soft")]

    told = requests.get(server.api("/api/v1/notifications"), headers=bearer(owner["token"]), timeout=30).json()
    assert sorted(n["actor"] for n in told["items"] if n["type"] == "review") == \
        sorted([fan["user"]["username"], critic["user"]["username"]])  # told once per person, not per edit
    assert review(server, owner["token"], version_id, True).status_code == 403  # not one's own
    assert requests.post(server.api(f"/api/v1/model-versions/{version_id}/reviews"), json={"recommended": "yes"},
                         headers=bearer(fan["token"]), timeout=30).status_code == 400
    mine = listing["items"][0]["id"]
    assert requests.delete(server.api(f"/api/v1/reviews/{mine}"), headers=bearer(critic["token"]),
                           timeout=30).status_code == 403
    assert requests.delete(server.api(f"/api/v1/reviews/{mine}"), headers=bearer(fan["token"]),
                           timeout=30).status_code == 200
    assert stats(server, model["id"])[0]["thumbsUpCount"] == 0


def test_highest_rated_and_the_rating_filter(server, tmp_path):
    owner, a, b = register(server), register(server), register(server)
    loved = upload_model(server, owner, tmp_path, seed=902, name="Loved")
    mixed = upload_model(server, owner, tmp_path, seed=903, name="Mixed")
    for account, model, verdict in ((a, loved, True), (b, loved, True), (a, mixed, True), (b, mixed, False)):
        review(server, account["token"], model["modelVersions"][0]["id"], verdict)
    listed = requests.get(server.api("/api/v1/models"), params={"username": owner["user"]["username"],
                                                                "sort": "Highest Rated"}, timeout=30).json()
    assert [m["name"] for m in listed["items"]] == ["Loved", "Mixed"]
    rated = requests.get(server.api("/api/v1/models"), params={"username": owner["user"]["username"], "rating": "4"},
                         timeout=30).json()
    assert [m["name"] for m in rated["items"]] == ["Loved"]  # 5.0; Mixed is 2.5


def test_eight_threads_of_a_hundred_people_review_and_like_at_once(server, tmp_path):
    owner = register(server)
    model = upload_model(server, owner, tmp_path, seed=904, name="Crowded Model")
    version_id = model["modelVersions"][0]["id"]
    tokens = many_members(server, 800)
    failures: list[str] = []

    def crowd(part: list[str], index: int) -> None:
        with requests.Session() as http:
            for number, token in enumerate(part):
                verdict = (number + index) % 4 != 0  # three in four recommend it
                answers = [http.post(server.api(f"/api/v1/model-versions/{version_id}/reviews"),
                                     json={"recommended": verdict}, headers=bearer(token), timeout=120),
                           http.put(server.api(f"/api/v1/models/{model['id']}/like"), headers=bearer(token),
                                    timeout=120)]
                failures.extend(f"{a.status_code} {a.text[:100]}" for a in answers if a.status_code != 200)

    threads = [threading.Thread(target=crowd, args=(tokens[i::8], i)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    expected_up = sum((n + i) % 4 != 0 for i in range(8) for n in range(len(tokens[i::8])))
    model_stats, version_stats = stats(server, model["id"])
    assert (model_stats["thumbsUpCount"], model_stats["thumbsDownCount"]) == (expected_up, 800 - expected_up)
    assert (version_stats["thumbsUpCount"], version_stats["ratingCount"]) == (expected_up, 800)
    assert model_stats["favoriteCount"] == 800
    assert server.sql("SELECT COUNT(*) FROM review WHERE model_id = ?", (model["id"],)) == [(800,)]
