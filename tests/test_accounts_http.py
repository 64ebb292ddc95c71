"""Accounts and sessions over real HTTP against the real app and a real SQLite file."""

from __future__ import annotations

import hashlib
import re

import requests

from tests.conftest import PASSWORD, bearer, register, unique_name

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def test_register_login_me_logout(server):
    name = unique_name("alice")
    session = requests.Session()
    reply = session.post(server.api("/api/v1/auth/register"), json={"username": name, "password": PASSWORD})
    assert reply.status_code == 201
    assert reply.json()["user"]["username"] == name
    assert reply.json()["user"]["isAdmin"] is False  # the fixture's account came first

    session = requests.Session()
    login = session.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD})
    assert login.status_code == 200
    assert session.get(server.api("/api/v1/me")).json()["username"] == name

    assert session.post(server.api("/api/v1/auth/logout")).status_code == 200
    me = requests.get(server.api("/api/v1/me"), cookies={"visionary_session": login.json()["token"]})
    assert me.status_code == 401
    assert "error" in me.json()


def test_session_cookie_flags(server):
    reply = requests.post(server.api("/api/v1/auth/register"),
                          json={"username": unique_name(), "password": PASSWORD})
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Max-Age=2592000" in cookie


def test_bearer_token_authenticates_api_clients(server):
    account = register(server)
    me = requests.get(server.api("/api/v1/me"), headers=bearer(account["token"]))
    assert me.status_code == 200
    assert me.json()["username"] == account["user"]["username"]
    assert requests.get(server.api("/api/v1/me"), headers=bearer("not-a-token")).status_code == 401


def test_raw_token_is_never_stored(server, database):
    account = register(server)
    stored = repr(server.sql('SELECT * FROM "session"') + server.sql('SELECT * FROM "user"'))
    assert hashlib.sha256(account["token"].encode()).hexdigest() in stored  # the rows read are the right ones
    assert account["token"] not in stored and PASSWORD not in stored
    if database == "sqlite":  # nor anywhere in the file, old pages and the write-ahead log included
        data = server.db_path.read_bytes()
        wal = server.db_path.with_name(server.db_path.name + "-wal")
        data += wal.read_bytes() if wal.exists() else b""
        assert account["token"].encode() not in data and PASSWORD.encode() not in data


def test_wrong_password_is_401(server):
    account = register(server)
    reply = requests.post(server.api("/api/v1/auth/login"),
                          json={"username": account["user"]["username"], "password": "wrong password"})
    assert reply.status_code == 401
    assert reply.json() == {"error": "wrong username or password"}


def test_repeated_bad_logins_are_throttled(server):
    account = register(server)
    statuses = []
    for _ in range(8):
        reply = requests.post(server.api("/api/v1/auth/login"),
                              json={"username": account["user"]["username"], "password": "bad guess 123"})
        statuses.append(reply.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    assert int(reply.headers["Retry-After"]) >= 1
    # Even the right password waits now: the lock is per username.
    right = requests.post(server.api("/api/v1/auth/login"),
                          json={"username": account["user"]["username"], "password": PASSWORD})
    assert right.status_code == 429


def test_long_password_works(server):
    long_password = "p" * 50 + "ä" * 50  # 100 characters, 150 bytes: past bcrypt's 72-byte limit
    account = register(server, password=long_password)
    name = account["user"]["username"]
    ok = requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": long_password})
    assert ok.status_code == 200
    # A password that only differs after byte 72 must not log in.
    other = requests.post(server.api("/api/v1/auth/login"),
                          json={"username": name, "password": "p" * 50 + "ä" * 49 + "x"})
    assert other.status_code == 401


def test_duplicate_and_look_alike_usernames_are_refused(server):
    name = unique_name("Mallory")
    register(server, name)
    for variant in (name, name.lower(), name.upper(), name.replace("l", "1"), name.replace("o", "0")):
        reply = requests.post(server.api("/api/v1/auth/register"), json={"username": variant, "password": PASSWORD})
        assert reply.status_code == 409, variant
        assert "username" in reply.json()["error"]
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in name)
    assert requests.post(server.api("/api/v1/auth/register"),
                         json={"username": fullwidth, "password": PASSWORD}).status_code == 409


def test_bad_registrations_get_clear_400(server):
    cases = [
        ({"username": "ab", "password": PASSWORD}, "username"),
        ({"username": "has space", "password": PASSWORD}, "username"),
        ({"username": "x" * 33, "password": PASSWORD}, "username"),
        ({"username": unique_name(), "password": "short"}, "password"),
        ({"username": unique_name(), "password": "p" * 257}, "password"),
        ({"username": unique_name()}, "password"),
    ]
    for body, word in cases:
        reply = requests.post(server.api("/api/v1/auth/register"), json=body)
        assert reply.status_code == 400, body
        assert word in reply.json()["error"]
    garbage = requests.post(server.api("/api/v1/auth/register"), data=b"{not json",
                            headers={"content-type": "application/json"})
    assert garbage.status_code == 400


def test_me_answers_in_camel_case(server):
    me = requests.get(server.api("/api/v1/me"), headers=bearer(server.admin_token), timeout=30).json()
    assert {"isAdmin", "isBanned", "createdAt"} <= set(me) and not {"is_admin", "is_banned"} & set(me)
    assert (me["isAdmin"], me["isBanned"]) == (True, False)


def every_get_route(server, username: str) -> list[str]:
    """Each GET route of the REST API (OpenAPI), its path parameters filled in."""
    spec = requests.get(server.api("/api/v1/openapi.json"), timeout=60).json()
    routes = [path for path, methods in spec["paths"].items() if "get" in methods]
    assert len(routes) > 20, routes
    return [re.sub(r"\{(\w+)\}", lambda m: username if m.group(1) == "username" else "1", path) for path in routes]


def test_ban_ends_live_sessions_at_once_and_says_why(server):
    victim = register(server)
    name = victim["user"]["username"]
    assert victim["session"].get(server.api("/api/v1/me")).status_code == 200
    ban = requests.post(server.api(f"/api/v1/admin/users/{name}/ban"), headers=bearer(server.admin_token))
    assert ban.status_code == 200
    banned = "this account is banned"
    for reply in (victim["session"].get(server.api("/api/v1/me")),  # the cookie
                  requests.get(server.api("/api/v1/me"), headers=bearer(victim["token"])),
                  requests.get(server.api("/api/v1/models"), headers=bearer(victim["token"])),
                  requests.get(server.api("/sdapi/v1/options"), headers=bearer(victim["token"])),
                  victim["session"].post(server.api("/gradio_api/upload"), files={"files": ("a.txt", b"x")})):
        assert (reply.status_code, reply.json()["error"]) == (403, banned), reply.request.url
    # Every other route too, whatever it would have answered (a listing, a 404, a file).
    for path in every_get_route(server, name) + ["/media/outputs/none.png", "/sdapi/v1/sd-models"]:
        reply = requests.get(server.api(path), headers=bearer(victim["token"]), timeout=60)
        assert (reply.status_code, reply.json()["error"]) == (403, banned), path
    login = requests.post(server.api("/api/v1/auth/login"), json={"username": name, "password": PASSWORD})
    assert (login.status_code, login.json()["error"]) == (403, banned)
    assert victim["session"].get(server.api("/")).status_code == 200  # the page, whose Log out clears the cookie

    unban = requests.post(server.api(f"/api/v1/admin/users/{name}/unban"), headers=bearer(server.admin_token))
    assert unban.status_code == 200
    assert requests.get(server.api("/api/v1/me"), headers=bearer(victim["token"])).status_code == 401  # ended
    assert requests.post(server.api("/api/v1/auth/login"),
                         json={"username": name, "password": PASSWORD}).status_code == 200


def test_only_admins_ban(server):
    user = register(server)
    other = register(server)
    target = other["user"]["username"]
    assert requests.post(server.api(f"/api/v1/admin/users/{target}/ban")).status_code == 401
    assert requests.post(server.api(f"/api/v1/admin/users/{target}/ban"),
                         headers=bearer(user["token"])).status_code == 403
    assert other["session"].get(server.api("/api/v1/me")).status_code == 200


def test_cross_origin_write_with_cookie_is_refused(server):
    account = register(server)
    session = account["session"]
    foreign = session.patch(server.api("/api/v1/me"), json={"bio": "pwned"},
                            headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert "cross-site" in foreign.json()["error"]
    fetch_site = session.patch(server.api("/api/v1/me"), json={"bio": "pwned"},
                               headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status_code == 403
    assert session.get(server.api("/api/v1/me")).json()["bio"] == ""
    same = session.patch(server.api("/api/v1/me"), json={"bio": "hello"}, headers={"Origin": server.url})
    assert same.status_code == 200
    assert session.get(server.api("/api/v1/me")).json()["bio"] == "hello"


def test_anonymous_gradio_upload_is_refused(server):
    files = {"files": ("note.txt", b"hello", "text/plain")}
    anonymous = requests.post(server.api("/gradio_api/upload"), files=files)
    assert anonymous.status_code == 401
    account = register(server)
    allowed = account["session"].post(server.api("/gradio_api/upload"), files=files)
    assert allowed.status_code == 200


def test_errors_are_json_never_html(server):
    missing = requests.get(server.api("/api/v1/no-such-route"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
    assert "error" in missing.json()


def test_openapi_docs_are_served(server):
    assert requests.get(server.api("/api/v1/docs")).status_code == 200
    spec = requests.get(server.api("/api/v1/openapi.json")).json()
    assert "/api/v1/auth/login" in spec["paths"]


