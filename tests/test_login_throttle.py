"""Finding 5 of the red-team: the login throttle keyed by (username, client address) and by client address.

The attacker and the owner connect from two loopback addresses (the server listens on 127.0.0.1; Linux routes all
of 127/8 locally), so the server sees two clients. The attacker sends an ``X-Forwarded-For`` of its own choosing
with every guess: the server must not take it as the client's address (no proxy is trusted by default).
"""

from __future__ import annotations

import base64

import pytest
import requests

from tests.client_address import client_at
from tests.conftest import PASSWORD, register, unique_name
from tests.live_server import LiveServer

ATTACKER = "127.0.0.1"
OWNER_ELSEWHERE = "127.0.0.2"
SPRAYER = "127.0.0.3"


DATABASES = ("sqlite", "postgresql")  # the counts live in the database: every test here runs on both


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """An app of its own: the guesses below lock the test's own addresses for a quarter of an hour."""
    live = LiveServer(tmp_path_factory.mktemp("throttle"), database_url=database_url).start()
    register(live, "throttle_admin")
    yield live
    live.stop()


def log_in(server, client: requests.Session, username: str, password: str, **headers) -> requests.Response:
    return client.post(server.api("/api/v1/auth/login"), json={"username": username, "password": password},
                       headers=headers, timeout=60)


def spoofed(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"10.{n}.{n}.{n}", "X-Real-IP": f"10.{n}.{n}.{n}"}


def test_forwarded_for_does_not_dodge_the_throttle_and_the_owner_still_gets_in(server):
    owner = register(server)["user"]["username"]
    attacker = client_at(ATTACKER)
    statuses = [log_in(server, attacker, owner, f"guess number {n}", **spoofed(n)).status_code for n in range(30)]
    # Five free guesses from that client, then it waits (2, 4, 8... seconds between guesses): every new header
    # value is still the same client. (Trusting the header, all 30 were 401.)
    assert statuses[:6] == [401] * 5 + [429]
    assert statuses.count(429) >= 20
    throttled = log_in(server, attacker, owner, "one more guess", **spoofed(99))
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error"].startswith("too many failed logins")
    # The owner, from another address, gets in with the right password while the attacker waits.
    at_home = log_in(server, client_at(OWNER_ELSEWHERE), owner, PASSWORD)
    assert at_home.status_code == 200, at_home.text
    assert at_home.json()["user"]["username"] == owner
    # From the attacker's address even the right password waits: that key is (username, client).
    assert log_in(server, attacker, owner, PASSWORD).status_code == 429


def test_guessing_many_usernames_from_one_client_is_throttled_per_client(server):
    owner = register(server)["user"]["username"]
    sprayer = client_at(SPRAYER)
    statuses = [log_in(server, sprayer, unique_name("victim"), "Summer2024!", **spoofed(n)).status_code
                for n in range(30)]
    # Twenty free failures per address (it may be a NAT shared by many people), then every name waits.
    assert statuses[:21] == [401] * 20 + [429]
    assert statuses.count(429) >= 8
    assert log_in(server, sprayer, owner, PASSWORD).status_code == 429
    assert log_in(server, client_at(OWNER_ELSEWHERE), owner, PASSWORD).status_code == 200


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_http_basic_on_sdapi_counts_the_same_way(server):
    owner = register(server)["user"]["username"]
    attacker = client_at(ATTACKER)
    progress = server.api("/sdapi/v1/progress")
    statuses = [attacker.get(progress, headers={**basic(owner, f"guess {n}"), **spoofed(n)}, timeout=60).status_code
                for n in range(12)]
    assert statuses[:6] == [401] * 5 + [429]
    assert statuses.count(429) >= 5
    elsewhere = client_at(OWNER_ELSEWHERE).get(progress, headers=basic(owner, PASSWORD), timeout=60)
    assert elsewhere.status_code == 200, elsewhere.text
