"""``migrate-db`` (issue 18): a SQLite site holding every kind of row, copied into an empty PostgreSQL database,
serves exactly the same answers from it — every listing, model, version, image, comment and profile, the
notifications, reviews, collections, report queue and the week's rankings — and its search works there; a second copy into the now full database is refused."""

from __future__ import annotations

import re
import subprocess
import sys

import requests

from tests.community_helpers import parameters, picture, private_image, upload_image, upload_model
from tests.conftest import PASSWORD, bearer, register
from tests.live_server import ROOT, LiveServer


def seed(server: LiveServer, folder) -> dict:
    admin = requests.post(server.api("/api/v1/auth/register"), json={"username": "old_admin", "password": PASSWORD},
                          timeout=60).json()
    painter, fan = register(server, "painter_one"), register(server, "fan_two")
    requests.patch(server.api("/api/v1/me"), json={"bio": "I paint *harbours*."}, headers=bearer(painter["token"]),
                   timeout=60).raise_for_status()
    public = upload_model(server, painter, folder, seed=1101, name="Harbour Lights", tags="sea,night",
                          trigger_words="hlstyle", allowCommercialUse="Image", allowNoCredit="false")
    secret = upload_model(server, painter, folder, seed=1102, name="Hidden Cove", visibility="private")
    autov2 = public["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
    shown = upload_image(server, painter, picture("PNG", parameters("a harbour at night", model_hash=autov2))).json()
    drafts = [private_image(server, painter["user"]["id"], f"draft {n}")["id"] for n in range(2)]
    requests.post(server.api("/api/v1/images"), json={"image_ids": drafts, "title": "Drafts", "tags": "wip"},
                  headers=bearer(painter["token"]), timeout=60).raise_for_status()
    private_image(server, painter["user"]["id"], "still private")
    for path, body in ((f"/api/v1/models/{public['id']}/comments", "Lovely lights"),
                       (f"/api/v1/images/{shown['id']}/comments", "Great picture")):
        requests.post(server.api(path), json={"body": body}, headers=bearer(fan["token"]),
                      timeout=60).raise_for_status()
    for path in (f"/api/v1/models/{public['id']}/like", f"/api/v1/images/{shown['id']}/like",
                 "/api/v1/users/painter_one/follow"):
        requests.put(server.api(path), headers=bearer(fan["token"]), timeout=60).raise_for_status()
    requests.post(server.api("/api/v1/admin/invites"), json={"expires_in_days": 7}, headers=bearer(admin["token"]),
                  timeout=60).raise_for_status()
    version = public["modelVersions"][0]["id"]
    fan_says = bearer(fan["token"])
    for path, body in ((f"/api/v1/model-versions/{version}/reviews", {"recommended": True, "details": "Bright"}),
                       ("/api/v1/reports", {"type": "image", "id": shown["id"], "reason": "spam"})):
        requests.post(server.api(path), json=body, headers=fan_says, timeout=60).raise_for_status()
    kept = requests.post(server.api("/api/v1/collections"), json={"name": "Night scenes"}, headers=fan_says,
                         timeout=60).json()
    requests.post(server.api(f"/api/v1/collections/{kept['id']}/items"), json={"modelId": public["id"]},
                  headers=fan_says, timeout=60).raise_for_status()
    requests.get(server.api(f"/api/download/models/{version}"), timeout=60).raise_for_status()
    return {"admin": admin["token"], "painter": painter["token"], "fan": fan["token"], "public": public["id"],
            "secret": secret["id"], "version": public["modelVersions"][0]["id"], "image": shown["id"]}


def answers(server: LiveServer, site: dict) -> dict:
    """Every answer a client could compare, with the server's own address taken out."""
    reads = {
        "models": ("/api/v1/models", None), "models as owner": ("/api/v1/models", site["painter"]),
        "model": (f"/api/v1/models/{site['public']}", None),
        "private model as owner": (f"/api/v1/models/{site['secret']}", site["painter"]),
        "version": (f"/api/v1/model-versions/{site['version']}", None),
        "images": ("/api/v1/images?limit=100", None), "own images": ("/api/v1/images?mine=true", site["painter"]),
        "model comments": (f"/api/v1/models/{site['public']}/comments", None),
        "image comments": (f"/api/v1/images/{site['image']}/comments", None),
        "user comments": ("/api/v1/users/fan_two/comments", None), "profile": ("/api/v1/users/painter_one", None),
        "creators": ("/api/v1/creators", None), "tags": ("/api/v1/tags", None), "feed": ("/api/v1/feed", site["fan"]),
        "me": ("/api/v1/me", site["painter"]), "invites": ("/api/v1/admin/invites", site["admin"]),
        "audit": ("/api/v1/admin/audit", site["admin"]), "search": ("/api/v1/models?query=harb", None),
        "image search": ("/api/v1/images?query=harbour", None), "file search": ("/api/v1/files?query=emb", None),
        "likes": (f"/api/v1/models/{site['public']}/like", site["fan"]),
        "notifications": ("/api/v1/notifications", site["painter"]),
        "reviews": (f"/api/v1/models/{site['public']}/reviews", None),
        "collections": ("/api/v1/collections?username=fan_two", site["fan"]),
        "report queue": ("/api/v1/moderation/reports", site["admin"]),
        "week's downloads": ("/api/v1/models?sort=Most Downloaded&period=Week", None),
        "week's likes": ("/api/v1/models?sort=Most Liked&period=Week", None),
    }
    found = {}
    for name, (path, token) in reads.items():
        reply = requests.get(server.api(path), headers=bearer(token) if token else {}, timeout=60)
        assert reply.status_code == 200, (name, reply.text)
        found[name] = re.sub(r"http://127\.0\.0\.1:\d+", "SITE", reply.text)
    return found


def migrate(source: LiveServer, target_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "migrate-db", "--to", target_url,
                           "--db", str(source.db_path)], capture_output=True, text=True, timeout=300)


def test_a_sqlite_site_moves_to_postgresql_and_answers_the_same(tmp_path, postgres):
    home = tmp_path / "site"
    old = LiveServer(home).start()
    try:
        site = seed(old, tmp_path)
        before = answers(old, site)
    finally:
        old.stop()
    target = postgres.new_database("moved")
    moved = migrate(old, target)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith("copied ") and "start the app with --db postgresql://" in moved.stdout

    new = LiveServer(home, database_url=target).start()  # the same models and outputs folders
    try:
        after = answers(new, site)
        assert {name: after[name] for name in before if after[name] != before[name]} == {}
        found = requests.get(new.api("/api/v1/models"), params={"query": "hidden"},
                             headers=bearer(site["painter"]), timeout=60).json()
        assert [m["name"] for m in found["items"]] == ["Hidden Cove"]  # the index was built on the target
        more = upload_model(new, {"token": site["painter"]}, tmp_path, seed=1103, name="After the Move")
        assert more["id"] > site["secret"]  # the sequences start past the copied ids
    finally:
        new.stop()
    again = migrate(old, target)
    assert again.returncode == 1 and "already holds a site: copy into an empty database" in again.stderr
