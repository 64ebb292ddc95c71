"""Admin stats and audit log, and who may call each community write route (visitor, other, owner, admin, banned)."""

from __future__ import annotations

import pytest
import requests

from tests.community_helpers import parameters, picture, private_image, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)

ROLES = ("visitor", "banned", "other", "owner", "admin")


@pytest.fixture(scope="module")
def cast(server, tmp_path_factory):
    """Accounts, a model, and the banned user's content made before the ban."""
    owner, other, banned = register(server), register(server), register(server)
    model = upload_model(server, owner, tmp_path_factory.mktemp("a"), seed=501, name="Matrix Model")
    comment = requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={"body": "before the ban"},
                            headers=bearer(banned["token"])).json()
    image = upload_image(server, banned, picture("PNG", parameters("banned art"))).json()
    hidden = private_image(server, banned["user"]["id"], "banned draft")
    ban = requests.post(server.api(f"/api/v1/admin/users/{banned['user']['username']}/ban"),
                        headers=bearer(server.admin_token))
    assert ban.status_code == 200
    return {"owner": owner, "other": other, "banned": banned, "admin": {"token": server.admin_token},
            "model": model, "banned_items": {"comment": comment["id"], "image": image["id"], "private": hidden["id"]}}


def headers_for(cast, role):
    return {} if role == "visitor" else bearer(cast[role]["token"])


def owned_by(cast, role):
    """The account whose item a role acts on: their own for owner/banned, the owner's for everyone else."""
    return cast["banned" if role == "banned" else "owner"]


def new_comment(server, cast, role):
    if role == "banned":
        return cast["banned_items"]["comment"]
    reply = requests.post(server.api(f"/api/v1/models/{cast['model']['id']}/comments"), json={"body": "hi"},
                          headers=bearer(cast["owner"]["token"]))
    return reply.json()["id"]


def new_image(server, cast, role):
    if role == "banned":
        return cast["banned_items"]["image"]
    return upload_image(server, cast["owner"], picture("PNG", parameters(f"matrix {role}"))).json()["id"]


def new_private(server, cast, role):
    if role == "banned":
        return cast["banned_items"]["private"]
    return private_image(server, cast["owner"]["user"]["id"], f"private {role}")["id"]


def call(server, cast, role, method, path, **kwargs):
    return requests.request(method, server.api(path), headers=headers_for(cast, role), timeout=60, **kwargs)


# route -> (request maker, expected status per role)
MATRIX = {
    "post comment": (lambda s, c, r: ("POST", f"/api/v1/models/{c['model']['id']}/comments", {"json": {"body": "x"}}),
                     {"visitor": 401, "banned": 403, "other": 201, "owner": 201, "admin": 201}),
    "delete comment": (lambda s, c, r: ("DELETE", f"/api/v1/comments/{new_comment(s, c, r)}", {}),
                       {"visitor": 401, "banned": 403, "other": 403, "owner": 200, "admin": 200}),
    "like model": (lambda s, c, r: ("PUT", f"/api/v1/models/{c['model']['id']}/like", {}),
                   {"visitor": 401, "banned": 403, "other": 200, "owner": 200, "admin": 200}),
    "unlike model": (lambda s, c, r: ("DELETE", f"/api/v1/models/{c['model']['id']}/like", {}),
                     {"visitor": 401, "banned": 403, "other": 200, "owner": 200, "admin": 200}),
    "like image": (lambda s, c, r: ("PUT", f"/api/v1/images/{new_image(s, c, r)}/like", {}),
                   {"visitor": 401, "banned": 403, "other": 200, "owner": 200, "admin": 200}),
    "unlike image": (lambda s, c, r: ("DELETE", f"/api/v1/images/{new_image(s, c, r)}/like", {}),
                     {"visitor": 401, "banned": 403, "other": 200, "owner": 200, "admin": 200}),
    "follow": (lambda s, c, r: ("PUT", f"/api/v1/users/{c['other']['user']['username']}/follow", {}),
               {"visitor": 401, "banned": 403, "other": 400, "owner": 200, "admin": 200}),
    "unfollow": (lambda s, c, r: ("DELETE", f"/api/v1/users/{c['other']['user']['username']}/follow", {}),
                 {"visitor": 401, "banned": 403, "other": 400, "owner": 200, "admin": 200}),
    # An unpublished image is invisible to others (404); admins may delete images but not publish someone's work.
    "publish image": (lambda s, c, r: ("POST", "/api/v1/images", {"json": {"image_id": new_private(s, c, r)}}),
                      {"visitor": 401, "banned": 403, "other": 404, "owner": 201, "admin": 403}),
    "upload image": (lambda s, c, r: ("POST", "/api/v1/images", {"files": {"file": ("m.png", picture("PNG"))}}),
                     {"visitor": 401, "banned": 403, "other": 201, "owner": 201, "admin": 201}),
    "delete image": (lambda s, c, r: ("DELETE", f"/api/v1/images/{new_image(s, c, r)}", {}),
                     {"visitor": 401, "banned": 403, "other": 403, "owner": 200, "admin": 200}),
}


@pytest.mark.parametrize("route", list(MATRIX))
def test_authorization_matrix(server, cast, route):
    make, expected = MATRIX[route]
    seen = {}
    for role in ROLES:
        method, path, kwargs = make(server, cast, role)
        reply = call(server, cast, role, method, path, **kwargs)
        seen[role] = reply.status_code
        assert reply.headers["content-type"].startswith("application/json"), (role, reply.text[:200])
    assert seen == expected


def test_admin_routes_need_an_admin(server, cast):
    for path in ("/api/v1/admin/stats", "/api/v1/admin/audit"):
        assert call(server, cast, "visitor", "GET", path).status_code == 401
        assert call(server, cast, "banned", "GET", path).json() == {"error": "this account is banned"}
        assert call(server, cast, "other", "GET", path).status_code == 403
        assert call(server, cast, "admin", "GET", path).status_code == 200


def test_site_stats(server, cast):
    stats = call(server, cast, "admin", "GET", "/api/v1/admin/stats").json()
    assert stats["users"] >= 4 and stats["bannedUsers"] >= 1
    assert stats["models"] >= 1 and stats["files"] >= 1
    assert stats["images"] >= stats["publishedImages"] >= 1
    model_file_bytes = cast["model"]["modelVersions"][0]["files"][0]["sizeKB"] * 1024
    assert stats["disk"]["modelsBytes"] >= model_file_bytes
    assert stats["disk"]["outputsBytes"] > 0


def audit_entries(server, cast) -> list[dict]:
    return call(server, cast, "admin", "GET", "/api/v1/admin/audit", params={"limit": 100}).json()["items"]


def test_admin_deletes_are_audit_logged(server, cast):
    comment = new_comment(server, cast, "owner")
    image = new_image(server, cast, "owner")
    assert call(server, cast, "admin", "DELETE", f"/api/v1/comments/{comment}").status_code == 200
    assert call(server, cast, "admin", "DELETE", f"/api/v1/images/{image}").status_code == 200
    log = audit_entries(server, cast)
    assert (log[0]["action"], log[0]["target"].split(":")[1], log[0]["actor"]) == ("delete_image", str(image),
                                                                                   "site_admin")
    assert (log[1]["action"], log[1]["target"].split(":")[1]) == ("delete_comment", str(comment))
    assert any(e["action"] == "ban" for e in log)
    times = [e["createdAt"] for e in log]
    assert all(times) and times == sorted(times, reverse=True)

    own = new_comment(server, cast, "owner")
    assert call(server, cast, "owner", "DELETE", f"/api/v1/comments/{own}").status_code == 200
    assert len(audit_entries(server, cast)) == len(log)  # owners deleting their own content is no admin act
