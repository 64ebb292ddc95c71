"""9. Notification fan-out: a creator with 10,000 followers publishes a model vs one with none.

Both upload a small embedding over HTTP (``POST /api/v1/models``), alternately,
to one app on SQLite.  The first creator's followers are real accounts (three
registered over HTTP, the rest written straight into the database as another
program would); the publish tells them all in its own transaction
(``core.notifications.notify_followers``: one ``INSERT … SELECT``).  Target:
the publish with followers takes at most twice the one without, and every
follower's unread count is exactly the number of models published (checked in
the database for all of them, and over the API for the registered three).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from bench import server as srv
from bench.common import Row, Workspace, alternate, median, timed, wait_until
from tests import sample_files
from tests.live_server import LiveServer

TARGET = 2.0


@dataclass(frozen=True)
class Sizes:
    followers: int
    rounds: int


FULL = Sizes(followers=10_000, rounds=12)
QUICK = Sizes(followers=200, rounds=2)
REGISTERED_FOLLOWERS = 3


def add_followers(server: LiveServer, creator_id: int, count: int) -> None:
    """``count`` accounts following ``creator_id``, written in two statements."""
    server.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
               "INSERT INTO user (username, username_key, username_skeleton, password_hash, bio, is_admin, "
               "is_banned, created_at) SELECT 'fan' || i, 'fan' || i, 'fan' || i, 'x', '', 0, 0, "
               "'2026-01-01 00:00:00' FROM n", (count,))
    server.sql("INSERT INTO follow (follower_id, followee_id, created_at) SELECT id, ?, '2026-01-01 00:00:00' "
               "FROM user WHERE username LIKE 'fan%'", (creator_id,))


class Publisher:
    """Uploads a new small embedding as one creator (a new file each time: the library refuses duplicates)."""

    def __init__(self, server: LiveServer, ws: Workspace, name: str, seed: int):
        self.server, self.folder, self.seed = server, ws.path(f"fanout-{name}"), seed
        reply = requests.post(server.api("/api/v1/auth/register"), json={"username": name, "password": srv.PASSWORD},
                              timeout=60)
        reply.raise_for_status()
        self.id = reply.json()["user"]["id"]
        self.headers = {"Authorization": f"Bearer {reply.json()['token']}"}

    def publish(self) -> float:
        self.seed += 1
        path = sample_files.embedding(self.folder / f"e{self.seed}.safetensors", seed=self.seed)
        with open(path, "rb") as handle:
            files = {"file": (path.name, handle.read())}

        def upload():
            reply = requests.post(self.server.api("/api/v1/models"), headers=self.headers, files=files, timeout=120)
            reply.raise_for_status()
        return timed(upload)


def unread_right(server: LiveServer, creator_id: int, followers: int, published: int,
                 registered: list[dict]) -> bool:
    wait_until(lambda: server.sql("SELECT COUNT(*) FROM pending_fanout") == [(0,)], 120, 0.1, "followers told")
    [(right,)] = server.sql(
        "SELECT COUNT(*) FROM (SELECT recipient_id, COUNT(*) AS told FROM notification WHERE actor_id = ? AND "
        "kind = 'new_model' AND read_at IS NULL GROUP BY recipient_id) WHERE told = ?", (creator_id, published))
    over_api = [requests.get(server.api("/api/v1/notifications"), headers=headers, params={"limit": 1},
                             timeout=60).json()["metadata"]["unreadCount"] for headers in registered]
    return right == followers and over_api == [published] * len(registered)


def time_to_tell(server: LiveServer, publisher: Publisher) -> float:
    """Seconds from a publish's answer until every follower has been told (the background writer's delay)."""
    publisher.publish()
    return timed(lambda: wait_until(lambda: server.sql("SELECT COUNT(*) FROM pending_fanout") == [(0,)], 120, 0.005,
                                    "followers told"))


def run(ws: Workspace) -> list[Row]:
    sizes = QUICK if ws.quick else FULL
    server = srv.start(ws.path("fanout-app"))
    try:
        famous = Publisher(server, ws, "famous", 1_000)
        unknown = Publisher(server, ws, "unknown", 2_000)
        registered = [srv.register(server, f"follower{n}") for n in range(REGISTERED_FOLLOWERS)]
        for headers in registered:
            requests.put(server.api("/api/v1/users/famous/follow"), headers=headers, timeout=60).raise_for_status()
        add_followers(server, famous.id, sizes.followers - REGISTERED_FOLLOWERS)
        famous.publish(), unknown.publish()  # warm-up: the first upload imports safetensors and torch
        with ws.profiled(server.process.pid, "fanout"):
            with_followers, without = alternate(sizes.rounds, famous.publish, unknown.publish)
        right = unread_right(server, famous.id, sizes.followers, sizes.rounds + 1, registered)
        told_after = time_to_tell(server, famous)
    finally:
        server.stop()
    ours, baseline = median(with_followers) * 1000, median(without) * 1000
    return [Row(f"9 publish a model: {sizes.followers:,} followers told vs none (POST /api/v1/models, median)",
                ours, baseline, "ms", f"≤ {TARGET:.0f}× and counts right",
                ours <= TARGET * baseline and right,
                detail={"unread_counts_right": right, "rounds": sizes.rounds, "all_told_after_s": told_after})]
