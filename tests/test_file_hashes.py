"""Every hash kind Civitai names a file by: computed on upload and for dropped-in files, filled in for files
older than them, and found by ``/api/v1/model-versions/by-hash/{hash}`` among what the viewer may see."""

from __future__ import annotations

import ast
import hashlib
import re
import sqlite3
import time
import zlib
from pathlib import Path

import blake3
import pytest
import requests

from tests import sample_files
from tests.conftest import PASSWORD, bearer, register, without_demo
from tests.live_server import LiveServer

KINDS = ("AutoV1", "AutoV2", "AutoV3", "SHA256", "CRC32", "BLAKE3")
NEW_COLUMNS = ("autov1", "autov3", "crc32", "blake3")


def expected_hashes(path: Path) -> dict[str, str]:
    """The hashes computed here, independently: hashlib, zlib and blake3 over the bytes, the 64 KiB slice A1111's
    old model hash reads, and the data after the safetensors header (A1111's addnet hash)."""
    data = path.read_bytes()
    header_length = int.from_bytes(data[:8], "little")
    sha256 = hashlib.sha256(data).hexdigest()
    hashes = {"AutoV2": sha256[:10], "AutoV3": hashlib.sha256(data[8 + header_length:]).hexdigest()[:12],
              "SHA256": sha256, "CRC32": zlib.crc32(data).to_bytes(4, "little").hex(),
              "BLAKE3": blake3.blake3(data).hexdigest(),
              "AutoV1": hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]}  # of a short file: no bytes
    return {kind: value.upper() for kind, value in hashes.items()}


def upload(server: LiveServer, account: dict, path: Path, **fields) -> dict:
    with open(path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), headers=bearer(account["token"]),
                              files={"file": (path.name, handle)}, data=fields, timeout=60)
    assert reply.status_code == 201, reply.text
    return reply.json()


def file_hashes(model: dict) -> dict[str, str]:
    return model["modelVersions"][0]["files"][0]["hashes"]


def by_hash(server: LiveServer, value: str, account: dict | None = None) -> requests.Response:
    headers = bearer(account["token"]) if account else {}
    return requests.get(server.api(f"/api/v1/model-versions/by-hash/{value}"), headers=headers, timeout=30)


def rescan(server: LiveServer) -> dict:
    reply = requests.post(server.api("/api/v1/admin/rescan"), headers=bearer(server.admin_token), timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()


def model_named(server: LiveServer, name: str) -> dict:
    items = without_demo(requests.get(server.api("/api/v1/models"), params={"limit": 100}).json()["items"])
    return next(item for item in items if item["name"] == name)


@pytest.fixture(scope="module")
def owner(server):
    return register(server)


@pytest.fixture(scope="module")
def uploaded(server, owner, tmp_path_factory) -> tuple[dict, Path]:
    path = sample_files.sd15_checkpoint(tmp_path_factory.mktemp("up") / "uploaded.safetensors", seed=17)
    return upload(server, owner, path), path


def test_an_uploaded_file_has_every_hash_kind(uploaded):
    model, path = uploaded
    assert set(KINDS) <= set(file_hashes(model))
    assert file_hashes(model) == expected_hashes(path)


def test_a_dropped_in_file_has_every_hash_kind(server):
    path = sample_files.sd15_checkpoint(server.models_dir / "Stable-diffusion" / "dropped.safetensors", seed=18)
    assert rescan(server)["added"] == 1
    assert file_hashes(model_named(server, "dropped")) == expected_hashes(path)


def test_a_file_shorter_than_autov1s_slice_has_a1111s_autov1_too(server, owner, tmp_path):
    """A1111 reads the 64 KiB at 1 MiB from whatever is there: of a short file, the SHA-256 of no bytes."""
    path = sample_files.kohya_lora(tmp_path / "short.safetensors", seed=19)
    hashes = file_hashes(upload(server, owner, path))
    assert path.stat().st_size < 0x100000 and hashes["AutoV1"] == hashlib.sha256(b"").hexdigest()[:8].upper()
    assert hashes == expected_hashes(path)


@pytest.mark.parametrize("kind", KINDS)
def test_by_hash_finds_the_version_by_each_kind_in_either_case(server, uploaded, kind):
    model, _ = uploaded
    value = file_hashes(model)[kind]
    for written in (value.upper(), value.lower()):
        reply = by_hash(server, written)
        assert reply.status_code == 200, reply.text
        assert reply.json()["id"] == model["modelVersions"][0]["id"]


def test_by_hash_takes_a_crc32_in_the_conventional_byte_order_too(server, uploaded):
    model, path = uploaded
    conventional = f"{zlib.crc32(path.read_bytes()):08x}"
    assert by_hash(server, conventional).json()["id"] == model["modelVersions"][0]["id"]


@pytest.mark.parametrize("length", (8, 10, 12, 64))
def test_an_unknown_hash_of_each_length_is_a_404(server, length):
    reply = by_hash(server, "0" * length)
    assert reply.status_code == 404, reply.text
    assert "error" in reply.json()


@pytest.mark.parametrize("value", ("abc", "0" * 9, "0" * 63, "0" * 65, "g" * 64, "12345678-1"))
def test_a_malformed_hash_is_a_400_naming_the_accepted_kinds(server, value):
    reply = by_hash(server, value)
    assert reply.status_code == 400, reply.text
    assert all(kind in reply.json()["error"] for kind in KINDS)


def test_a_private_models_file_is_found_by_its_owner_only(server, owner, tmp_path):
    path = sample_files.sd15_checkpoint(tmp_path / "secret.safetensors", seed=20)
    model = upload(server, owner, path, visibility="private")
    stranger = register(server)
    for kind, value in file_hashes(model).items():
        assert by_hash(server, value, stranger).status_code == 404, kind
        assert by_hash(server, value).status_code == 404, kind
        assert by_hash(server, value, owner).json()["id"] == model["modelVersions"][0]["id"], kind


def _forget_new_hashes(db_path: Path) -> None:
    """Make the database what it was before migration 9: no hash columns beyond SHA-256 and AutoV2."""
    with sqlite3.connect(db_path) as conn:
        for column in NEW_COLUMNS:
            conn.execute(f'DROP INDEX IF EXISTS "model_file_{column}"')
            conn.execute(f'ALTER TABLE model_file DROP COLUMN "{column}"')
            conn.execute(f'ALTER TABLE scan_cache DROP COLUMN "{column}"')
        conn.execute("DELETE FROM schema_version WHERE version = 9")


def _scan_reports(server: LiveServer) -> list[str]:
    return re.findall(r"models folder scanned: (.*)", server.log())


def test_files_listed_before_the_migration_get_their_hashes_filled_in(tmp_path):
    server = LiveServer(tmp_path / "app")
    dropped = sample_files.sd15_checkpoint(server.models_dir / "Stable-diffusion" / "old_drop.safetensors", seed=21)
    server.start()
    try:
        account = requests.post(server.api("/api/v1/auth/register"),
                                json={"username": "old_timer", "password": PASSWORD}).json()
        sent = sample_files.sd15_checkpoint(tmp_path / "old_upload.safetensors", seed=22)
        uploaded = upload(server, account, sent)
        server.stop()
        earlier = len(_scan_reports(server))  # the log goes on across restarts: wait for this start's report
        _forget_new_hashes(server.db_path)
        server.start()
        deadline = time.monotonic() + 60
        while len(_scan_reports(server)) == earlier and time.monotonic() < deadline:
            time.sleep(0.2)
        report = ast.literal_eval(_scan_reports(server)[-1])
        with sqlite3.connect(server.db_path) as conn:
            (files,) = conn.execute("SELECT count(*) FROM model_file").fetchone()  # the demo checkpoint too
        assert report["filled_in"] == report["hashed"] == files >= 2, server.log()  # each file read once
        model = requests.get(server.api(f"/api/v1/models/{uploaded['id']}")).json()
        assert file_hashes(model) == expected_hashes(sent)
        assert file_hashes(model_named(server, "old_drop")) == expected_hashes(dropped)
        assert by_hash(server, expected_hashes(sent)["BLAKE3"]).json()["modelId"] == uploaded["id"]
    finally:
        server.stop()
