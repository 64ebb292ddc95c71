"""Every Civitai-shaped answer of a seeded instance, checked against Civitai's own field lists
(tests/civitai_contract.py): a Civitai client reads our JSON without surprises."""

from __future__ import annotations

import hashlib
import io

import pytest
import requests
from PIL import Image
from pydantic import BaseModel, ValidationError

from core.blurhash import blurhash_of, encode_pixels
from tests import civitai_contract as civitai
from tests import sample_files
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


@pytest.fixture(scope="module")
def seeded(server, tmp_path_factory):
    """A trainer with an embedding and a LoRA, and two published pictures made with them."""
    trainer = register(server)
    folder = tmp_path_factory.mktemp("contract")
    embedding = upload_model(server, trainer, folder, seed=501, name="Contract Embedding", tags="castle,night")
    lora_path = sample_files.kohya_lora(folder / "contract_lora.safetensors")
    with open(lora_path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), headers=bearer(trainer["token"]), timeout=60,
                              files={"file": (lora_path.name, handle)}, data={"tags": "castle"})
    assert reply.status_code == 201, reply.text
    lora = reply.json()
    pictures = []
    for model, color in ((embedding, "navy"), (lora, "orange")):
        autov2 = model["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
        made = upload_image(server, trainer, picture("PNG", parameters("a castle at night", model_hash=autov2),
                                                     color=color))
        assert made.status_code == 201, made.text
        pictures.append(made.json())
    return {"trainer": trainer, "models": [embedding, lora], "images": pictures, "lora_sha256":
            hashlib.sha256(lora_path.read_bytes()).hexdigest()}


def violations(contract: type[BaseModel], reply: requests.Response) -> list:
    assert reply.status_code == 200, reply.text
    try:
        contract.model_validate(reply.json())
    except ValidationError as error:
        return error.errors()
    return []


def get(server, path: str, **params) -> requests.Response:
    return requests.get(server.api(path), params=params, timeout=30)


def test_models_listing_and_model_pages_follow_civitai(server, seeded):
    assert violations(civitai.ModelsPage, get(server, "/api/v1/models")) == []
    assert violations(civitai.ModelsPage, get(server, "/api/v1/models", limit=1, page=2)) == []
    for model in seeded["models"]:
        assert violations(civitai.Model, get(server, f"/api/v1/models/{model['id']}")) == []


def test_versions_and_by_hash_follow_civitai(server, seeded):
    for model in seeded["models"]:
        version_id = model["modelVersions"][0]["id"]
        assert violations(civitai.ModelVersion, get(server, f"/api/v1/model-versions/{version_id}")) == []
    hashes = seeded["models"][1]["modelVersions"][0]["files"][0]["hashes"]
    assert hashes["SHA256"] == seeded["lora_sha256"].upper()
    for kind, value in hashes.items():  # by-hash answers for every kind, in the same shape
        by_hash = get(server, f"/api/v1/model-versions/by-hash/{value}")
        assert violations(civitai.ModelVersion, by_hash) == [], kind
        if kind != "AutoV1":  # this small LoRA's AutoV1 is every small file's (tests/test_file_hashes.py)
            assert by_hash.json()["id"] == seeded["models"][1]["modelVersions"][0]["id"], kind


def test_images_and_creators_follow_civitai(server, seeded):
    assert violations(civitai.ImagesPage, get(server, "/api/v1/images")) == []
    assert violations(civitai.ImagesPage, get(server, "/api/v1/images", modelId=seeded["models"][0]["id"])) == []
    assert violations(civitai.CreatorsPage, get(server, "/api/v1/creators")) == []
    assert violations(civitai.CreatorsPage, get(server, "/api/v1/creators", limit=1, page=2)) == []


def test_a_model_page_shows_the_pictures_made_with_it_as_full_image_records(server, seeded):
    model = get(server, f"/api/v1/models/{seeded['models'][1]['id']}").json()
    [sample] = model["modelVersions"][0]["images"]
    published = seeded["images"][1]
    assert sample["url"] == published["url"]
    assert (sample["width"], sample["height"]) == (64, 48)
    assert sample["meta"]["prompt"] == "a castle at night"
    served = Image.open(io.BytesIO(requests.get(sample["url"], timeout=30).content))
    assert sample["hash"] == blurhash_of(served) == published["hash"]
    assert published["postId"] == published["id"] and published["baseModel"] == model["baseModel"]


def test_licence_and_stats_fields_carry_civitai_defaults(server, seeded):
    model = get(server, f"/api/v1/models/{seeded['models'][0]['id']}").json()
    assert model["allowCommercialUse"] == ["Image", "RentCivit", "Rent", "Sell"]
    assert model["allowNoCredit"] is model["allowDerivatives"] is model["allowDifferentLicense"] is True
    assert model["stats"]["rating"] == model["stats"]["ratingCount"] == 0
    version = model["modelVersions"][0]
    assert version["air"] == f"urn:air:sd1:embedding:civitai:{model['id']}@{version['id']}"
    assert version["files"][0]["virusScanResult"] == "Success"


def test_creators_without_a_query_lists_everyone(server, seeded):
    everyone = get(server, "/api/v1/creators", limit=200).json()
    names = {item["username"] for item in everyone["items"]}
    assert {"site_admin", seeded["trainer"]["user"]["username"]} <= names
    assert everyone["metadata"]["totalItems"] == len(everyone["items"])
    second = get(server, "/api/v1/creators", limit=1, page=2).json()["metadata"]
    assert second["prevPage"].endswith("page=1") and "limit=1" in second["prevPage"]


def test_blurhash_matches_the_reference_algorithm():
    """Values from the reference implementation (the ``blurhash`` package on PyPI) for the same pixels."""
    gradient = [[(x * 30 % 256, y * 40 % 256, (x * y * 7) % 256) for x in range(8)] for y in range(6)]
    assert encode_pixels(gradient) == "LcE.,z31a{%1zDNOfQnPenf9fQf6"
    flat = [[(200, 30, 30)] * 5 for _ in range(5)]
    assert encode_pixels(flat) == "LbM^z||wfQ|w|ww{fQw{fQfQfQfQ"


def test_tags_list_names_with_their_model_counts(server, seeded):
    reply = get(server, "/api/v1/tags", query="cast")
    assert violations(civitai.TagsPage, reply) == []
    castle = {item["name"]: item for item in reply.json()["items"]}["castle"]
    assert castle["modelCount"] == 2
    tagged = requests.get(castle["link"], timeout=30).json()["items"]
    assert {m["id"] for m in seeded["models"]} <= {m["id"] for m in tagged}
    assert get(server, "/api/v1/tags", query="zzz-none").json()["items"] == []


def test_by_hash_post_answers_the_versions_of_known_hashes(server, seeded):
    lora = seeded["models"][1]
    reply = requests.post(server.api("/api/v1/model-versions/by-hash"), timeout=30,
                          json=[seeded["lora_sha256"], "0" * 64, seeded["lora_sha256"][:10]])
    assert reply.status_code == 200, reply.text
    assert [civitai.ModelVersion.model_validate(v).id for v in reply.json()] == [lora["modelVersions"][0]["id"]] * 2
    bad = requests.post(server.api("/api/v1/model-versions/by-hash"), json=["xyz"], timeout=30)
    assert bad.status_code == 400 and "hash" in bad.json()["error"]


def test_version_minis_and_enums_follow_civitai(server, seeded):
    for model in seeded["models"]:
        version = model["modelVersions"][0]
        assert violations(civitai.VersionMini, get(server, f"/api/v1/model-versions/mini/{version['id']}")) == []
        assert violations(civitai.VersionMini, get(server, f"/api/v1/model-versions/mini/{version['id']}",
                                                   modelFileId=version["files"][0]["id"])) == []
    assert violations(civitai.Enums, get(server, "/api/v1/enums")) == []


def test_a_generator_reads_what_to_fetch_from_a_version_mini(server, seeded):
    embedding, lora = seeded["models"]
    version = get(server, f"/api/v1/model-versions/{lora['modelVersions'][0]['id']}").json()
    [file] = version["files"]
    mini = get(server, f"/api/v1/model-versions/mini/{version['id']}").json()
    assert mini["air"] == version["air"] and mini["baseModel"] == version["baseModel"]
    assert (mini["versionName"], mini["modelName"]) == (version["name"], lora["name"])
    assert (mini["fileName"], mini["size"], mini["hashes"]) == (file["name"], file["sizeKB"], file["hashes"])
    assert mini["canGenerate"] is True and mini["availability"] == "Public" and mini["checkPermission"] is False
    assert mini["userId"] == seeded["trainer"]["user"]["id"]
    fetched = requests.get(mini["downloadUrls"][0], timeout=60)
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == seeded["lora_sha256"]

    chosen = get(server, f"/api/v1/model-versions/mini/{version['id']}", modelFileId=file["id"]).json()
    assert chosen["air"] == f"{version['air']}+{file['id']}" and chosen["downloadUrls"] == [file["downloadUrl"]]
    other_file = embedding["modelVersions"][0]["files"][0]["id"]
    wrong_file = get(server, f"/api/v1/model-versions/mini/{version['id']}", modelFileId=other_file)
    assert wrong_file.status_code == 404 and str(other_file) in wrong_file.json()["error"]
    assert get(server, f"/api/v1/model-versions/mini/{embedding['modelVersions'][0]['id']}").json()[
        "canGenerate"] is False
    unknown = get(server, "/api/v1/model-versions/mini/999999")
    assert unknown.status_code == 404 and unknown.json() == {"error": "no model version with id 999999"}
    assert get(server, "/api/v1/model-versions/mini/abc").status_code == 400


def test_a_private_models_version_is_hidden_from_others_in_the_mini_too(server, seeded, tmp_path):
    owner, other = seeded["trainer"], register(server)
    model = upload_model(server, owner, tmp_path, seed=502, name="Secret Style", visibility="private")
    version_id = model["modelVersions"][0]["id"]
    for route in (f"/api/v1/model-versions/{version_id}", f"/api/v1/model-versions/mini/{version_id}"):
        for token in (None, other["token"]):
            hidden = requests.get(server.api(route), headers=bearer(token) if token else {}, timeout=30)
            assert hidden.status_code == 404, (route, hidden.text)
            assert hidden.json() == {"error": f"no model version with id {version_id}"}  # as for no version at all
        for token in (owner["token"], server.admin_token):
            assert requests.get(server.api(route), headers=bearer(token), timeout=30).status_code == 200
    mini = requests.get(server.api(f"/api/v1/model-versions/mini/{version_id}"), headers=bearer(owner["token"]),
                        timeout=30).json()
    assert mini["availability"] == "Private" and mini["checkPermission"] is mini["requireAuth"] is True
