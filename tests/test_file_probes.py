"""File-serving probes: nothing outside models_dir/, outputs/ and the app's static files is served."""

from __future__ import annotations

import requests

from tests import sample_files
from tests.conftest import bearer, register

SECRET_MARKERS = (b"root:x:0:0", b"root:*:0:0")

PROBES = [
    "/gradio_api/file=/etc/passwd",
    "/file=/etc/passwd",
    "/gradio_api/file=../../../../etc/passwd",
    "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/gradio_api/file=..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%2Fetc%2Fpasswd",
    "/gradio_api/file=//etc/passwd",
    "/static/../../../../etc/passwd",
    "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/media/../../../../etc/passwd",
    "/media/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/media//etc/passwd",
    "/api/download/models/..%2f..%2fetc%2fpasswd",
]


def test_path_traversal_probes_are_refused(server):
    for probe in PROBES:
        reply = requests.get(server.url + probe, allow_redirects=False)
        assert reply.status_code in (400, 403, 404, 405, 422), (probe, reply.status_code)
        assert not any(marker in reply.content for marker in SECRET_MARKERS), probe


def test_private_files_of_others_are_not_downloadable(server, tmp_path):
    owner = register(server)
    other = register(server)
    path = sample_files.embedding(tmp_path / "secret_style.safetensors", seed=99)
    with open(path, "rb") as handle:
        model = requests.post(server.api("/api/v1/models"), headers=bearer(owner["token"]),
                              files={"file": (path.name, handle)}, data={"visibility": "private"}).json()
    version = model["modelVersions"][0]["id"]
    file_id = model["modelVersions"][0]["files"][0]["id"]
    url = server.api(f"/api/download/models/{version}?fileId={file_id}")
    assert requests.get(url).status_code == 404
    assert requests.get(url, headers=bearer(other["token"])).status_code == 404
    assert requests.get(url, headers=bearer(owner["token"])).content == path.read_bytes()
    assert requests.get(url, headers=bearer(server.admin_token)).status_code == 200


def test_symlink_planted_in_models_dir_is_not_followed_out(server, tmp_path):
    owner = register(server)
    path = sample_files.vae(tmp_path / "planted.safetensors", seed=123)
    with open(path, "rb") as handle:
        model = requests.post(server.api("/api/v1/models"), headers=bearer(owner["token"]),
                              files={"file": (path.name, handle)}).json()
    digest = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
    stored = next(p for p in (server.models_dir / "vae").iterdir() if p.name.startswith(digest))
    stored.unlink()
    stored.symlink_to("/etc/passwd")
    reply = requests.get(model["modelVersions"][0]["downloadUrl"])
    assert reply.status_code == 404
    assert not any(marker in reply.content for marker in SECRET_MARKERS)
    (server.models_dir / "escape.safetensors").symlink_to("/etc/passwd")
    report = requests.post(server.api("/api/v1/admin/rescan"), headers=bearer(server.admin_token)).json()
    assert all("escape" not in m["name"] for m in requests.get(server.api("/api/v1/models"),
                                                                params={"limit": 100}).json()["items"])
    assert report["found"] >= 0


def test_absolute_paths_of_app_files_are_not_served_through_gradio(server, tmp_path):
    """The app's own files by absolute path (sd-models and cmd-flags reveal the folders): the database, a private
    model file, a private generated image."""
    from tests.community_helpers import private_image

    owner = register(server)
    path = sample_files.embedding(tmp_path / "hidden_style.safetensors", seed=321)
    with open(path, "rb") as handle:
        model = requests.post(server.api("/api/v1/models"), headers=bearer(owner["token"]),
                              files={"file": (path.name, handle)}, data={"visibility": "private"}).json()
    digest = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
    stored = next(p for p in server.models_dir.rglob("*.safetensors") if p.name.startswith(digest))
    image = private_image(server, owner["user"]["id"], "a hidden sketch")["file"]
    for target in (server.db_path, stored, image):
        for prefix in ("/gradio_api/file=", "/file="):
            for who in ({}, bearer(owner["token"])):
                reply = requests.get(server.url + prefix + str(target), headers=who, allow_redirects=False)
                assert reply.status_code in (400, 403, 404, 405), (prefix, target, reply.status_code)
                assert target.read_bytes()[:64] not in reply.content, target
