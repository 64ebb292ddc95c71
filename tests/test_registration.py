"""Finding 7 of the red-team: registration throttled per client address, and ``--registration open|invite|closed``
with single-use invite codes made by admins.

Every refusal is checked to change nothing on the server: no user row, no invite used, no registration counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.client_address import client_at
from tests.conftest import PASSWORD, bearer
from tests.live_server import LiveServer

ALLOWANCE = 3
CLOSED = "registration is closed on this site: ask an admin for an invite code"
INVITE_NEEDED = "this site is invitation-only: enter the invite code an admin gave you"
DATABASES = ("sqlite", "postgresql")
INVALID = "this invite code is not valid: it was mistyped, is used or has expired (ask an admin for a new one)"


def live(request, tmp_path_factory, name: str, *args: str):
    """A site of its own (its own SQLite file, or its own PostgreSQL database) run with ``args``."""
    on_postgres = request.getfixturevalue("database") == "postgresql"
    database_url = request.getfixturevalue("postgres").new_database() if on_postgres else None
    server = LiveServer(tmp_path_factory.mktemp(name), args=list(args), database_url=database_url).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limited(request, database, tmp_path_factory):
    """An open site allowing ALLOWANCE accounts per client address an hour; its admin registered from elsewhere."""
    for server in live(request, tmp_path_factory, "limited", "--registrations-per-hour", str(ALLOWANCE)):
        admin = sign_up(server, "limited_admin", client=client_at("127.0.0.5"))
        assert admin.status_code == 201, admin.text
        server.admin_token = admin.json()["token"]
        yield server


@pytest.fixture(scope="module")
def private(request, database, tmp_path_factory):
    yield from live(request, tmp_path_factory, "private", "--private")


@pytest.fixture(scope="module")
def invite_only(request, database, tmp_path_factory):
    yield from live(request, tmp_path_factory, "invite", "--registration", "invite")


def sign_up(server, username: str, invite_code: str | None = None, client: requests.Session | None = None,
            password: str = PASSWORD) -> requests.Response:
    body = {"username": username, "password": password}
    if invite_code is not None:
        body["invite_code"] = invite_code
    return (client or requests).post(server.api("/api/v1/auth/register"), json=body, timeout=60)


def count(server, table: str) -> int:
    return server.sql(f'SELECT count(*) FROM "{table}"')[0][0]


def usernames(server) -> set[str]:
    return {name for (name,) in server.sql('SELECT username FROM "user"')}


def make_invite(server, token: str, **body) -> requests.Response:
    return requests.post(server.api("/api/v1/admin/invites"), json=body, headers=bearer(token), timeout=60)


def assert_refused(reply: requests.Response, status: int, message: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json() == {"error": message}


# --------------------------------------------------------------------------- the per-client allowance
def test_registrations_from_one_client_are_throttled_and_nothing_is_made_beyond(limited):
    # Refusals that cost nothing count nothing: a taken name, a look-alike, a bad form.
    for refused in (sign_up(limited, "limited_admin"), sign_up(limited, "LIMITED_ADMIN"),
                    sign_up(limited, "l1mited_admin"), sign_up(limited, "x"),
                    sign_up(limited, "new_name", password="short")):
        assert refused.status_code in (400, 409), refused.text
    for name in ("first_user", "second_user", "third_user"):
        assert sign_up(limited, name).status_code == 201
    users, sessions = usernames(limited), count(limited, "session")

    for name in ("fourth_user", "fifth_user"):
        throttled = sign_up(limited, name)
        assert_refused(throttled, 429, "too many new accounts from your address: try again later")
        assert 1 <= int(throttled.headers["Retry-After"]) <= 3600
    assert usernames(limited) == users  # nothing made beyond the allowance
    assert count(limited, "session") == sessions
    # The allowance is per client address: someone else registers as usual, and logging in is not throttled.
    assert sign_up(limited, "fourth_user", client=client_at("127.0.0.2")).status_code == 201
    login = requests.post(limited.api("/api/v1/auth/login"), json={"username": "third_user", "password": PASSWORD},
                          timeout=60)
    assert login.status_code == 200


# --------------------------------------------------------------------------- --private: closed by default
def test_a_private_site_takes_its_first_account_then_only_invited_people(private):
    assert requests.get(private.api("/api/v1/health"), timeout=60).json()["registration"] == "closed"
    owner = sign_up(private, "private_owner")
    assert owner.status_code == 201 and owner.json()["user"]["isAdmin"] is True  # the first account always may
    users = usernames(private)

    assert_refused(sign_up(private, "stranger"), 403, CLOSED)
    assert_refused(sign_up(private, "stranger", invite_code="made-up-code"), 403, INVALID)
    assert usernames(private) == users

    # An admin's invite is how a closed site grows.
    code = make_invite(private, owner.json()["token"]).json()["code"]
    friend = sign_up(private, "invited_friend", code)
    assert friend.status_code == 201, friend.text
    assert friend.json()["user"]["isAdmin"] is False
    assert_refused(sign_up(private, "friend_of_friend", code), 403, INVALID)  # single use
    assert usernames(private) == users | {"invited_friend"}


# --------------------------------------------------------------------------- --registration invite
@pytest.fixture(scope="module")
def invite_admin(invite_only) -> str:
    reply = sign_up(invite_only, "invite_admin")  # the first account needs no code
    assert reply.status_code == 201, reply.text
    return reply.json()["token"]


def test_invite_mode_needs_a_valid_unused_code(invite_only, invite_admin):
    assert requests.get(invite_only.api("/api/v1/health"), timeout=60).json()["registration"] == "invite"
    users, invites = usernames(invite_only), count(invite_only, "invite")
    assert_refused(sign_up(invite_only, "no_code"), 403, INVITE_NEEDED)
    assert_refused(sign_up(invite_only, "no_code", invite_code="   "), 403, INVITE_NEEDED)
    assert_refused(sign_up(invite_only, "bad_code", invite_code="not-a-real-code"), 403, INVALID)
    assert usernames(invite_only) == users

    made = make_invite(invite_only, invite_admin, expires_in_days=7)
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert made.json()["status"] == "unused" and made.json()["createdBy"] == "invite_admin"
    assert count(invite_only, "invite") == invites + 1
    assert sign_up(invite_only, "guest_one", f"  {code} ").status_code == 201
    assert_refused(sign_up(invite_only, "guest_two", code), 403, INVALID)
    assert usernames(invite_only) == users | {"guest_one"}

    listed = requests.get(invite_only.api("/api/v1/admin/invites"), headers=bearer(invite_admin), timeout=60).json()
    entry = next(item for item in listed["items"] if item["id"] == made.json()["id"])
    assert (entry["status"], entry["usedBy"], entry["createdBy"]) == ("used", "guest_one", "invite_admin")
    assert entry["usedAt"] and "code" not in entry
    assert code not in repr(invite_only.sql("SELECT * FROM invite"))  # only its hash is kept
    if invite_only.database_url is None:  # nor anywhere in the SQLite file or its log
        files = (invite_only.db_path, invite_only.db_path.with_name("visionary.db-wal"))
        assert not [path for path in files if path.exists() and code.encode() in path.read_bytes()]


def test_an_expired_code_is_refused(invite_only, invite_admin):
    made = make_invite(invite_only, invite_admin, expires_in_days=1).json()
    a_minute_ago = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=1)  # a day and a bit later
    invite_only.sql("UPDATE invite SET expires_at = ? WHERE id = ?", (a_minute_ago.isoformat(" "), made["id"]))
    users = usernames(invite_only)
    assert_refused(sign_up(invite_only, "too_late", made["code"]), 403, INVALID)
    assert usernames(invite_only) == users
    listed = requests.get(invite_only.api("/api/v1/admin/invites"), headers=bearer(invite_admin), timeout=60).json()
    assert next(item for item in listed["items"] if item["id"] == made["id"])["status"] == "expired"


def test_only_admins_make_or_list_invites(invite_only, invite_admin):
    code = make_invite(invite_only, invite_admin).json()["code"]
    member = sign_up(invite_only, "plain_member", code).json()["token"]
    invites = count(invite_only, "invite")
    assert make_invite(invite_only, member).status_code == 403
    assert requests.post(invite_only.api("/api/v1/admin/invites"), timeout=60).status_code == 401
    assert requests.get(invite_only.api("/api/v1/admin/invites"), headers=bearer(member), timeout=60).status_code == 403
    for days in (0, 366, -1):
        reply = make_invite(invite_only, invite_admin, expires_in_days=days)
        assert_refused(reply, 400, "an invite can last 1-365 days, or forever (no expiry)")
    assert make_invite(invite_only, invite_admin, expires_in_days="soon").status_code == 400
    assert count(invite_only, "invite") == invites
    forever = make_invite(invite_only, invite_admin)  # no body field: it never expires
    assert forever.status_code == 201 and forever.json()["expiresAt"] is None
    audit = requests.get(invite_only.api("/api/v1/admin/audit"), headers=bearer(invite_admin), timeout=60).json()
    invited = [entry["target"] for entry in audit["items"] if entry["action"] == "invite"]
    assert f"invite:{forever.json()['id']}" in invited


# --------------------------------------------------------------------------- --registration open
def test_open_mode_still_takes_and_uses_up_an_invite_code(limited):
    code = make_invite(limited, limited.admin_token).json()["code"]
    client = client_at("127.0.0.4")
    assert sign_up(limited, "open_guest", code, client=client).status_code == 201
    assert_refused(sign_up(limited, "open_guest_two", code, client=client), 403, INVALID)
    assert sign_up(limited, "open_guest_two", client=client).status_code == 201  # open: no code needed
