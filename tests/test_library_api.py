"""The model library over real HTTP: uploads, listings, hashes, downloads, edits, deletes."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests import sample_files
from tests.conftest import bearer, incoming_leftovers, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


def upload(server, account, path, **fields):
    with open(path, "rb") as handle:
        return requests.post(server.api("/api/v1/models"), headers=bearer(account["token"]),
                             files={"file": (path.name, handle, "application/octet-stream")}, data=fields)


@pytest.fixture(scope="module")
def trainer(server):
    return register(server)


@pytest.fixture(scope="module")
def uploaded(server, trainer, tmp_path_factory):
    """One of each kind of model file, uploaded by the trainer."""
    folder = tmp_path_factory.mktemp("files")
    files = {
        "checkpoint": sample_files.sd15_checkpoint(folder / "dreamy_mix.safetensors"),
        "lora": sample_files.kohya_lora(folder / "pastel_style.safetensors"),
        "embedding": sample_files.embedding(folder / "bad_hands.safetensors"),
    }
    models = {}
    for kind, path in files.items():
        reply = upload(server, trainer, path, tags="anime, pastel", trigger_words="pastel style",
                       description="**bold** <script>alert(1)</script>")
        assert reply.status_code == 201, reply.text
        models[kind] = (reply.json(), path)
    return models


def test_uploads_are_listed_with_detected_type_and_base(server, uploaded, trainer):
    expected = {"checkpoint": "Checkpoint", "lora": "LORA", "embedding": "TextualInversion"}
    for kind, (model, path) in uploaded.items():
        assert model["type"] == expected[kind]
        assert model["baseModel"] == "SD 1.5"
        assert model["name"] == path.stem
        assert model["tags"] == ["anime", "pastel"]
        assert model["trainedWords"] == ["pastel style"]
        file = model["modelVersions"][0]["files"][0]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert file["hashes"]["SHA256"] == digest.upper() and file["hashes"]["AutoV2"] == digest[:10].upper()
        assert file["sizeKB"] == path.stat().st_size / 1024
        assert file["downloadUrl"].startswith(server.url + "/api/download/models/")
    mine = {"username": trainer["user"]["username"]}
    listing = requests.get(server.api("/api/v1/models"), params={"types": "LORA,Checkpoint"} | mine).json()
    assert {m["type"] for m in listing["items"]} == {"LORA", "Checkpoint"}
    repeated = requests.get(server.api("/api/v1/models"),
                            params=[("types", "LORA"), ("types", "TextualInversion"), ("username", mine["username"])])
    assert {m["type"] for m in repeated.json()["items"]} == {"LORA", "TextualInversion"}
    assert listing["metadata"]["totalItems"] == 2


def test_lora_training_metadata_is_kept(server, uploaded):
    model, _ = uploaded["lora"]
    metadata = model["modelVersions"][0]["files"][0]["trainingMetadata"]
    assert metadata["ss_output_name"] == "pastel_style"
    assert metadata["ss_num_epochs"] == "10"


def test_by_hash_finds_sha256_and_autov2_any_case(server, uploaded):
    model, path = uploaded["checkpoint"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for value in (digest, digest.upper(), digest[:10], digest[:10].upper()):
        reply = requests.get(server.api(f"/api/v1/model-versions/by-hash/{value}"))
        assert reply.status_code == 200, value
        assert reply.json()["modelId"] == model["id"]
    assert requests.get(server.api("/api/v1/model-versions/by-hash/" + "0" * 64)).status_code == 404
    assert requests.get(server.api("/api/v1/model-versions/by-hash/xyz")).status_code == 400


def test_download_identical_bytes_range_and_count(server, uploaded):
    model, path = uploaded["checkpoint"]
    version_id = model["modelVersions"][0]["id"]
    full = requests.get(server.api(f"/api/download/models/{version_id}"))
    assert full.status_code == 200
    assert full.content == path.read_bytes()
    assert f'filename="{path.name}"' in full.headers["content-disposition"]
    assert full.headers["x-content-type-options"] == "nosniff"
    assert int(full.headers["content-length"]) == path.stat().st_size

    part = requests.get(server.api(f"/api/download/models/{version_id}"), headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.content == path.read_bytes()[100:300]
    count = requests.get(server.api(f"/api/v1/models/{model['id']}")).json()["stats"]["downloadCount"]
    assert count == 1  # the resumed part does not count again
    requests.get(server.api(f"/api/download/models/{version_id}"))
    assert requests.get(server.api(f"/api/v1/models/{model['id']}")).json()["stats"]["downloadCount"] == 2


def test_duplicate_upload_names_the_holder(server, uploaded):
    model, path = uploaded["lora"]
    someone = register(server)
    reply = upload(server, someone, path)
    assert reply.status_code == 409
    assert model["name"] in reply.json()["error"]
    assert incoming_leftovers(server) == []


def test_visitor_cannot_upload(server, tmp_path):
    path = sample_files.vae(tmp_path / "v.safetensors")
    with open(path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), files={"file": (path.name, handle)})
    assert reply.status_code == 401


def test_hostile_files_are_refused_and_never_run(server, trainer, tmp_path):
    canary = tmp_path / "canary"
    pickle_file = sample_files.canary_pickle(tmp_path / "evil.ckpt", canary)
    renamed = tmp_path / "evil.safetensors"
    renamed.write_bytes(pickle_file.read_bytes())
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(sample_files.vae(tmp_path / "ok.safetensors").read_bytes()[:-10])
    before = requests.get(server.api("/api/v1/models")).json()["metadata"]["totalItems"]
    for path in (pickle_file, renamed, truncated):
        reply = upload(server, trainer, path)
        assert reply.status_code == 400, (path, reply.text)
        assert reply.json()["error"]
    assert "safetensors" in upload(server, trainer, pickle_file).json()["error"]
    assert not canary.exists()
    assert requests.get(server.api("/api/v1/models")).json()["metadata"]["totalItems"] == before
    assert incoming_leftovers(server) == []


def test_edit_and_delete_need_owner_or_admin(server, trainer, tmp_path):
    path = sample_files.vae(tmp_path / "my_vae.safetensors", seed=7)
    model = upload(server, trainer, path, visibility="private").json()
    model_id = model["id"]
    stored = list((server.models_dir / "vae").iterdir())
    assert stored
    other = register(server)
    assert requests.get(server.api(f"/api/v1/models/{model_id}")).status_code == 404  # private
    assert requests.get(server.api(f"/api/v1/models/{model_id}"), headers=bearer(trainer["token"])).status_code == 200
    assert requests.patch(server.api(f"/api/v1/models/{model_id}"), json={"name": "x"}).status_code == 401
    assert requests.patch(server.api(f"/api/v1/models/{model_id}"), json={"name": "x"},
                          headers=bearer(other["token"])).status_code == 404
    edited = requests.patch(server.api(f"/api/v1/models/{model_id}"), headers=bearer(trainer["token"]),
                            json={"name": "Renamed VAE", "visibility": "public", "tags": "vae,clean"})
    assert edited.status_code == 200
    assert edited.json()["name"] == "Renamed VAE"
    assert edited.json()["baseModel"] == "Other"  # a VAE's weights do not tell the family
    assert requests.delete(server.api(f"/api/v1/models/{model_id}"), headers=bearer(other["token"])).status_code == 403
    assert requests.delete(server.api(f"/api/v1/models/{model_id}")).status_code == 401
    assert requests.delete(server.api(f"/api/v1/models/{model_id}"),
                           headers=bearer(server.admin_token)).status_code == 200
    assert requests.get(server.api(f"/api/v1/models/{model_id}")).status_code == 404
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert not any(p.name.startswith(digest[:10]) for p in (server.models_dir / "vae").iterdir())


def test_owner_chooses_the_exact_base_model_by_civitai_name(server, trainer, tmp_path):
    model = upload(server, trainer, sample_files.sdxl_lora(tmp_path / "xl_style.safetensors", seed=77)).json()
    assert model["baseModel"] == "SDXL 1.0"  # detection picks the family's usual name
    path = server.api(f"/api/v1/models/{model['id']}")
    chosen = requests.patch(path, json={"baseModel": "Pony"}, headers=bearer(trainer["token"])).json()
    version = chosen["modelVersions"][0]
    assert chosen["baseModel"] == version["baseModel"] == "Pony" and ":sdxl:lora:" in version["air"]
    mine = {"username": trainer["user"]["username"]}
    for wanted in ("Pony", "SDXL"):  # the exact name, or the family name older clients send
        listing = requests.get(server.api("/api/v1/models"), params={"baseModels": wanted} | mine).json()
        assert model["id"] in [m["id"] for m in listing["items"]], wanted
    listing = requests.get(server.api("/api/v1/models"), params={"baseModels": "SDXL 1.0"} | mine).json()
    assert model["id"] not in [m["id"] for m in listing["items"]]
    family = requests.patch(path, json={"base_model": "SD 1.x"}, headers=bearer(trainer["token"])).json()
    assert family["baseModel"] == "SD 1.5"
    refused = requests.patch(path, json={"baseModel": "SD 9"}, headers=bearer(trainer["token"]))
    assert refused.status_code == 400 and "base model must be one of" in refused.json()["error"]
    assert requests.get(path, headers=bearer(trainer["token"])).json()["baseModel"] == "SD 1.5"


def test_versions_and_file_delete(server, trainer, tmp_path):
    first = sample_files.embedding(tmp_path / "style_v1.safetensors", seed=11)
    second = sample_files.embedding(tmp_path / "style_v2.safetensors", seed=12)
    model = upload(server, trainer, first).json()
    with open(second, "rb") as handle:
        reply = requests.post(server.api(f"/api/v1/models/{model['id']}/versions"), headers=bearer(trainer["token"]),
                              files={"file": (second.name, handle)}, data={"name": "v2"})
    assert reply.status_code == 201, reply.text
    versions = reply.json()["modelVersions"]
    assert [v["name"] for v in versions] == ["v2", "v1"]
    v1_file = versions[1]["files"][0]["id"]
    assert requests.delete(server.api(f"/api/v1/files/{v1_file}"), headers=bearer(trainer["token"])).status_code == 200
    after = requests.get(server.api(f"/api/v1/models/{model['id']}")).json()
    assert [v["name"] for v in after["modelVersions"]] == ["v2"]


def test_files_search_and_sorting(server, uploaded):
    found = requests.get(server.api("/api/v1/files"), params={"query": "pastel"}).json()
    assert [f["name"] for f in found["items"]] == ["pastel_style.safetensors"]
    for sort in ("newest", "most_liked", "Most Downloaded"):
        assert requests.get(server.api("/api/v1/models"), params={"sort": sort}).status_code == 200
    assert requests.get(server.api("/api/v1/models"), params={"sort": "bogus"}).status_code == 400
    paged = requests.get(server.api("/api/v1/models"), params={"limit": 1}).json()
    assert paged["metadata"]["pageSize"] == 1
    assert paged["metadata"]["nextCursor"]
    nxt = requests.get(server.api("/api/v1/models"), params={"limit": 1, "cursor": paged["metadata"]["nextCursor"]})
    assert nxt.json()["items"][0]["id"] != paged["items"][0]["id"]
