"""Reports and moderation over real HTTP: merged reports, the moderator role, hide / delete / ban / dismiss, who
sees hidden things, notifications, the audit log, and what a plain user may not do."""

from __future__ import annotations

import requests

from tests.community_helpers import picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def report(server, account, kind, subject_id, reason="spam", details=""):
    return requests.post(server.api("/api/v1/reports"), json={"type": kind, "id": subject_id, "reason": reason,
                                                              "details": details},
                         headers=bearer(account["token"]), timeout=30)


def moderator(server) -> dict:
    account = register(server)
    granted = requests.put(server.api(f"/api/v1/admin/users/{account['user']['username']}/moderator"),
                           headers=bearer(server.admin_token), timeout=30)
    assert granted.status_code == 200 and granted.json()["isModerator"] is True
    return account


def queue(server, account, **params):
    return requests.get(server.api("/api/v1/moderation/reports"), params=params, headers=bearer(account["token"]),
                        timeout=30)


def decide(server, account, report_id, action, note=""):
    return requests.post(server.api(f"/api/v1/moderation/reports/{report_id}/decision"),
                         json={"action": action, "note": note}, headers=bearer(account["token"]), timeout=30)


def notes(server, account) -> list[dict]:
    return requests.get(server.api("/api/v1/notifications"), headers=bearer(account["token"]),
                        timeout=30).json()["items"]


def audit_actions(server) -> list[tuple[str, str]]:
    reply = requests.get(server.api("/api/v1/admin/audit"), params={"limit": 100},
                         headers=bearer(server.admin_token), timeout=30)
    return [(entry["action"], entry["target"]) for entry in reply.json()["items"]]


def model_status(server, model_id, account=None) -> int:
    headers = bearer(account["token"]) if account else {}
    return requests.get(server.api(f"/api/v1/models/{model_id}"), headers=headers, timeout=30).status_code


def test_three_reports_merge_and_a_moderator_hides_the_model(server, tmp_path):
    owner, mod, bystander = register(server), moderator(server), register(server)
    reporters = [register(server) for _ in range(3)]
    model = upload_model(server, owner, tmp_path, seed=501, name="Reported Model")
    for reporter, reason in zip(reporters, ("spam", "spam", "copyright")):
        filed = report(server, reporter, "model", model["id"], reason, details="seen elsewhere")
        assert filed.status_code == 201, filed.text
        assert "reporterCount" not in filed.json()  # a reporter does not see who else reported
    assert report(server, reporters[0], "model", model["id"]).status_code == 201  # again: counted once

    [entry] = [r for r in queue(server, mod).json()["items"] if r["subjectId"] == model["id"]]
    assert (entry["type"], entry["reporterCount"], entry["reasons"], entry["owner"]) == \
        ("model", 3, {"spam": 2, "copyright": 1}, owner["user"]["username"])
    assert sorted(r["reporter"] for r in entry["reports"]) == sorted(r["user"]["username"] for r in reporters)

    assert queue(server, bystander).status_code == 403  # a plain user may not read the queue ...
    assert decide(server, bystander, entry["id"], "hide").status_code == 403  # ... nor decide
    assert decide(server, owner, entry["id"], "dismiss").status_code == 403

    hidden = decide(server, mod, entry["id"], "hide", note="copied from another site")
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["status"], hidden.json()["decision"]) == ("actioned", "hide")
    assert model_status(server, model["id"]) == 404  # a visitor
    assert model_status(server, model["id"], bystander) == 404
    assert model_status(server, model["id"], owner) == 200 and model_status(server, model["id"], mod) == 200
    listing = requests.get(server.api("/api/v1/models"), params={"limit": 100}, timeout=30).json()["items"]
    assert model["id"] not in [item["id"] for item in listing]
    unhide = requests.patch(server.api(f"/api/v1/models/{model['id']}"), json={"visibility": "public"},
                            headers=bearer(owner["token"]), timeout=30)
    assert unhide.status_code == 403 and "moderator" in unhide.json()["error"]

    for reporter in reporters:
        [told] = notes(server, reporter)
        assert told["type"] == "report_handled" and told["actor"] is None
        assert told["detail"] == {"action": "hide", "type": "model", "name": "Reported Model",
                                  "note": "copied from another site"}
    assert [(n["type"], n["detail"]["action"]) for n in notes(server, owner)] == [("removed", "hide")]
    assert ("moderate_hide", f"report:{entry['id']}:model:{model['id']}") in audit_actions(server)
    assert decide(server, mod, entry["id"], "delete").status_code == 409  # decided once


def test_comments_pictures_and_people(server, tmp_path):
    owner, mod, reader = register(server), moderator(server), register(server)
    model = upload_model(server, owner, tmp_path, seed=502)
    rude = requests.post(server.api(f"/api/v1/models/{model['id']}/comments"), json={"body": "rude words"},
                         headers=bearer(reader["token"]), timeout=30).json()
    report(server, owner, "comment", rude["id"], "harassment")
    [entry] = [r for r in queue(server, mod).json()["items"] if r["type"] == "comment" and r["subjectId"] == rude["id"]]
    assert decide(server, mod, entry["id"], "hide").status_code == 200

    def shown(account=None):
        headers = bearer(account["token"]) if account else {}
        items = requests.get(server.api(f"/api/v1/models/{model['id']}/comments"), headers=headers,
                             timeout=30).json()["items"]
        return [c["id"] for c in items]
    assert shown() == [] and shown(owner) == []
    assert shown(reader) == [rude["id"]] and shown(mod) == [rude["id"]]  # its author and the moderators
    assert requests.get(server.api(f"/api/v1/models/{model['id']}"), timeout=30).json()["stats"]["commentCount"] == 0

    image = upload_image(server, reader, picture()).json()
    report(server, owner, "image", image["id"], "unrated_mature")
    [entry] = [r for r in queue(server, mod).json()["items"] if r["type"] == "image"]
    deleted = decide(server, mod, entry["id"], "delete", note="not allowed here")
    assert deleted.status_code == 200
    assert requests.get(server.api(f"/api/v1/images/{image['id']}"), headers=bearer(reader["token"]),
                        timeout=30).status_code == 404
    assert any(n["type"] == "removed" and n["detail"]["action"] == "delete" for n in notes(server, reader))

    profile = requests.post(server.api("/api/v1/reports"), json={"type": "user", "username": reader["user"]["username"],
                                                                 "reason": "harassment"},
                            headers=bearer(owner["token"]), timeout=30)
    assert profile.status_code == 201, profile.text
    [entry] = [r for r in queue(server, mod).json()["items"] if r["type"] == "user"]
    assert decide(server, mod, entry["id"], "hide").status_code == 400  # a person is dismissed or banned
    assert decide(server, mod, entry["id"], "ban", note="repeated harassment").status_code == 200
    assert requests.get(server.api("/api/v1/notifications"), headers=bearer(reader["token"]),
                        timeout=30).status_code == 403  # banned


def test_dismissal_rate_limit_and_bad_reports(server, tmp_path):
    owner, mod, eager = register(server), moderator(server), register(server)
    model = upload_model(server, owner, tmp_path, seed=503)
    assert report(server, owner, "model", model["id"]).status_code == 400  # one's own
    assert report(server, eager, "model", model["id"], reason="boredom").status_code == 400
    assert report(server, eager, "planet", model["id"]).status_code == 400
    assert report(server, eager, "model", 2**40).status_code == 404
    filed = report(server, eager, "model", model["id"], "other", "I do not like it").json()
    [entry] = [r for r in queue(server, mod).json()["items"] if r["id"] == filed["id"]]
    assert decide(server, mod, entry["id"], "dismiss", note="allowed here").status_code == 200
    assert model_status(server, model["id"]) == 200
    assert [(n["type"], n["detail"]["action"]) for n in notes(server, eager)] == [("report_handled", "dismiss")]
    assert notes(server, owner) == []  # a dismissal is not the owner's business
    assert queue(server, mod, status="dismissed").json()["items"][0]["id"] == entry["id"]

    others = [upload_model(server, owner, tmp_path, seed=510 + n) for n in range(19)]
    for other in others:
        assert report(server, eager, "model", other["id"]).status_code == 201
    limited = report(server, eager, "model", upload_model(server, owner, tmp_path, seed=530)["id"])
    assert limited.status_code == 429 and "20 reports an hour" in limited.json()["error"]


def test_only_admins_grant_the_moderator_role(server):
    plain, mod = register(server), moderator(server)
    for account in (plain, mod):
        attempt = requests.put(server.api(f"/api/v1/admin/users/{plain['user']['username']}/moderator"),
                               headers=bearer(account["token"]), timeout=30)
        assert attempt.status_code == 403
    revoked = requests.delete(server.api(f"/api/v1/admin/users/{mod['user']['username']}/moderator"),
                              headers=bearer(server.admin_token), timeout=30)
    assert revoked.json()["isModerator"] is False
    assert queue(server, mod).status_code == 403
    assert ("grant_moderator", f"user:{mod['user']['username']}") in audit_actions(server)
