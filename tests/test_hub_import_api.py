"""Importing a model from the Hugging Face Hub through the app (a local fake hub, the real client)."""

from __future__ import annotations

import hashlib
import time

import requests

from tests import sample_files
from tests.conftest import PASSWORD, bearer
from tests.fake_hub import FakeHub
from tests.live_server import LiveServer


def test_import_from_hub_is_ingested(tmp_path):
    repo = tmp_path / "hub" / "trainer" / "pastel-lora"
    lora = sample_files.kohya_lora(repo / "pastel_style.safetensors")
    (repo / "README.md").write_text("# pastel")
    with FakeHub(tmp_path / "hub") as hub:
        server = LiveServer(tmp_path / "app", env={"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"}).start()
        try:
            token = requests.post(server.api("/api/v1/auth/register"),
                                  json={"username": "importer", "password": PASSWORD}).json()["token"]
            reply = requests.post(server.api("/api/v1/models/import"), headers=bearer(token),
                                  json={"repo_id": "trainer/pastel-lora"})
            assert reply.status_code == 201, reply.text
            model = reply.json()
            assert model["type"] == "LORA"
            assert model["source"] == "hub"
            assert model["name"] == "pastel_style"
            file = model["modelVersions"][0]["files"][0]
            assert file["hashes"]["SHA256"] == hashlib.sha256(lora.read_bytes()).hexdigest().upper()
            missing = requests.post(server.api("/api/v1/models/import"), headers=bearer(token),
                                    json={"repo_id": "trainer/nope"})
            assert missing.status_code == 400
            assert "not found" in missing.json()["error"]
            assert requests.post(server.api("/api/v1/models/import"),
                                 json={"repo_id": "trainer/pastel-lora"}).status_code == 401
        finally:
            server.stop()


def test_import_offline_fails_fast_with_a_clear_message(server):
    token = requests.post(server.api("/api/v1/auth/register"),
                          json={"username": "offline_user", "password": PASSWORD}).json()["token"]
    started = time.monotonic()
    reply = requests.post(server.api("/api/v1/models/import"), headers=bearer(token),
                          json={"repo_id": "runwayml/stable-diffusion-v1-5"})
    assert time.monotonic() - started < 5
    assert reply.status_code == 400
    assert "cannot reach the Hugging Face Hub" in reply.json()["error"]
