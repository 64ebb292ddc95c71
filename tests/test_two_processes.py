"""Two app processes serving one site (issue 18): one PostgreSQL database, one models folder, two ports, as behind
a load balancer. What one process writes, the other serves at once (its read cache included); counts stay exact
under writes spread over both; a ban and the login throttle hold on both."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import requests

from tests.community_helpers import upload_model
from tests.conftest import PASSWORD, bearer, register
from tests.live_server import LiveServer
from tests.postgres import PostgresServer


@pytest.fixture(scope="module")
def pair(tmp_path_factory, postgres):
    home = tmp_path_factory.mktemp("two")
    url = postgres.new_database("two")
    first = LiveServer(home, database_url=url).start()
    second = LiveServer(home, database_url=url).start()  # same home: the same models and outputs folders
    admin = requests.post(first.api("/api/v1/auth/register"), json={"username": "pair_admin", "password": PASSWORD},
                          timeout=60)
    first.admin_token = second.admin_token = admin.json()["token"]
    yield first, second
    second.stop()
    first.stop()


def names(reply: requests.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [item["name"] for item in reply.json()["items"]]


def test_an_upload_through_one_is_listed_found_and_downloaded_through_the_other(pair, tmp_path):
    first, second = pair
    owner = register(first)
    assert "Shared Lighthouse" not in names(requests.get(second.api("/api/v1/models"), timeout=60))  # cached now
    model = upload_model(first, owner, tmp_path, seed=1201, name="Shared Lighthouse", tags="beacon")
    assert "Shared Lighthouse" in names(requests.get(second.api("/api/v1/models"), timeout=60))
    assert names(requests.get(second.api("/api/v1/models"), params={"query": "beac"}, timeout=60)) == \
        ["Shared Lighthouse"]
    version = model["modelVersions"][0]
    download = requests.get(second.api(f"/api/download/models/{version['id']}"), timeout=60)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest().upper() == version["files"][0]["hashes"]["SHA256"]


def test_likes_spread_over_both_stay_exact(pair, tmp_path):
    first, second = pair
    model = upload_model(first, register(first), tmp_path, seed=1202, name="Liked Twice Over")
    clients, failures, final = [register(first) for _ in range(8)], [], {}

    def toggle(index: int, account: dict) -> None:
        liked = False
        for step in range(100):
            server = (first, second)[(index + step) % 2]
            liked = not liked
            reply = (requests.put if liked else requests.delete)(
                server.api(f"/api/v1/models/{model['id']}/like"), headers=bearer(account["token"]), timeout=60)
            if reply.status_code != 200:
                failures.append(reply.text)
        if index % 2 == 0:  # 100 toggles end unliked; half the clients like once more
            liked = requests.put(second.api(f"/api/v1/models/{model['id']}/like"),
                                 headers=bearer(account["token"]), timeout=60).json()["liked"]
        final[index] = liked

    threads = [threading.Thread(target=toggle, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:3]
    for server in (first, second):
        stats = requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=60).json()["stats"]
        assert stats["favoriteCount"] == sum(final.values()) == 4


def test_a_ban_through_one_ends_the_session_on_the_other(pair):
    first, second = pair
    victim = register(second)
    assert requests.get(second.api("/api/v1/me"), headers=bearer(victim["token"]), timeout=60).status_code == 200
    ban = requests.post(first.api(f"/api/v1/admin/users/{victim['user']['username']}/ban"),
                        headers=bearer(first.admin_token), timeout=60)
    assert ban.status_code == 200
    refused = requests.get(second.api("/api/v1/me"), headers=bearer(victim["token"]), timeout=60)
    assert (refused.status_code, refused.json()["error"]) == (403, "this account is banned")


def test_a_password_guessing_burst_split_over_both_is_throttled(pair):
    first, second = pair
    owner = register(first)["user"]["username"]
    statuses = [requests.post((first, second)[n % 2].api("/api/v1/auth/login"),
                              json={"username": owner, "password": f"guess {n}"}, timeout=60).status_code
                for n in range(8)]
    assert statuses[:6] == [401] * 5 + [429]  # five free guesses in all, not five on each


def test_a_lost_database_is_said_in_one_line_and_the_site_comes_back_with_it(tmp_path):
    """PostgreSQL stops under a running app: requests get a 503 saying so at once (no hang, no 500), and once
    the database is back the same app serves again."""
    database = PostgresServer().start()
    app = LiveServer(tmp_path, database_url=database.new_database("lost")).start()
    try:
        member = register(app)
        database.pause()
        started = time.monotonic()
        for path, token in (("/api/v1/models", None), ("/api/v1/me", member["token"])):
            reply = requests.get(app.api(path), headers=bearer(token) if token else {}, timeout=60)
            assert (reply.status_code, reply.json()["error"]) == (
                503, "the database cannot be reached right now: try again in a moment"), path
        assert time.monotonic() - started < 20
        database.resume()
        deadline = time.monotonic() + 30
        while requests.get(app.api("/api/v1/me"), headers=bearer(member["token"]), timeout=60).status_code != 200:
            assert time.monotonic() < deadline, app.log()
            time.sleep(0.5)
        assert "Traceback" not in app.log()
    finally:
        app.stop()
        database.stop()
