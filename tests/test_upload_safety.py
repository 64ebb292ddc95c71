"""Uploads that must leave nothing behind, and the opt-in pickle conversion."""

from __future__ import annotations

import socket
import time

import pytest
import requests
import torch
from safetensors.torch import load_file

from tests import sample_files
from tests.conftest import PASSWORD, bearer, incoming_leftovers, register
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """Pickle conversion on, and a tiny upload limit (about 200 kB)."""
    live = LiveServer(tmp_path_factory.mktemp("strict"), args=["--allow-pickle-import", "--max-upload-gb", "0.0002"])
    live.start()
    live.token = requests.post(live.api("/api/v1/auth/register"),
                               json={"username": "owner", "password": PASSWORD}).json()["token"]
    yield live
    live.stop()


leftovers = incoming_leftovers


def model_count(server: LiveServer) -> int:
    return requests.get(server.api("/api/v1/models"), headers=bearer(server.token)).json()["metadata"]["totalItems"]


def test_clean_pickle_becomes_safetensors_with_opt_in(strict_server, tmp_path):
    tensors = {"model.diffusion_model.out.2.bias": torch.arange(4.0), "first_stage_model.x": torch.ones(2, 2)}
    ckpt = tmp_path / "classic.ckpt"
    torch.save({"state_dict": tensors, "epoch": 3}, ckpt)
    with open(ckpt, "rb") as handle:
        reply = requests.post(strict_server.api("/api/v1/models"), headers=bearer(strict_server.token),
                              files={"file": (ckpt.name, handle)})
    assert reply.status_code == 201, reply.text
    file = reply.json()["modelVersions"][0]["files"][0]
    assert file["name"] == "classic.safetensors"
    assert "converted" in file["scannerResult"]
    download = requests.get(file["downloadUrl"])
    converted = tmp_path / "converted.safetensors"
    converted.write_bytes(download.content)
    loaded = load_file(str(converted))
    assert torch.equal(loaded["model.diffusion_model.out.2.bias"], torch.arange(4.0))


def test_malicious_pickle_refused_even_with_opt_in(strict_server, tmp_path):
    canary = tmp_path / "canary"
    evil = sample_files.canary_pickle(tmp_path / "evil.ckpt", canary)
    before = model_count(strict_server)
    with open(evil, "rb") as handle:
        reply = requests.post(strict_server.api("/api/v1/models"), headers=bearer(strict_server.token),
                              files={"file": (evil.name, handle)})
    assert reply.status_code == 400
    assert not canary.exists()
    assert model_count(strict_server) == before
    assert leftovers(strict_server) == []


def test_upload_over_the_limit_is_413_and_leaves_nothing(strict_server, tmp_path):
    big = tmp_path / "big.safetensors"
    big.write_bytes(b"\0" * 400_000)
    before = model_count(strict_server)
    with open(big, "rb") as handle:
        reply = requests.post(strict_server.api("/api/v1/models"), headers=bearer(strict_server.token),
                              files={"file": (big.name, handle)})
    assert reply.status_code == 413
    assert "limit" in reply.json()["error"]
    assert model_count(strict_server) == before
    assert leftovers(strict_server) == []


def test_interrupted_upload_leaves_nothing(server):
    token = register(server)["token"]
    boundary = "xyzBOUNDARY"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.safetensors\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    request = (f"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
               f"Authorization: Bearer {token}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 20000000\r\n\r\n").encode()
    server.token = token
    before = model_count(server)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request + head)
        for _ in range(12):  # 12 MB of the announced 20 MB, then the client goes away
            sock.sendall(b"\x01" * 1_000_000)
        deadline = time.monotonic() + 10
        while not leftovers(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leftovers(server), "the upload should be streaming into a temp file"
    deadline = time.monotonic() + 10
    while leftovers(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftovers(server) == []
    assert model_count(server) == before
