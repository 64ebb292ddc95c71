"""Every filter and sort Civitai documents for ``/models`` and ``/images`` narrows the listing as asked, or is
refused with a 400 naming the parameter: never an unfiltered list."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from core.library.base_models import BASE_MODELS
from tests import sample_files
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)


@pytest.fixture(scope="module")
def library(server, tmp_path_factory):
    """An embedding made ten days ago with a comment, a LoRA liked by its trainer, and three pictures: two made
    with the embedding (the first, ten days old, liked; the second with a comment) and one without parameters."""
    trainer = register(server)
    folder = tmp_path_factory.mktemp("filters")
    embedding = upload_model(server, trainer, folder, seed=601, name="Night Castle", tags="castle,night")
    lora_path = sample_files.kohya_lora(folder / "filter_lora.safetensors")
    with open(lora_path, "rb") as handle:
        lora = requests.post(server.api("/api/v1/models"), headers=bearer(trainer["token"]), timeout=60,
                             files={"file": (lora_path.name, handle)}, data={"tags": "castle"}).json()
    autov2 = embedding["modelVersions"][0]["files"][0]["hashes"]["AutoV2"].lower()
    images = [upload_image(server, trainer, picture("PNG", parameters(f"castle {n}", model_hash=autov2),
                                                    color=color)).json() for n, color in ((1, "navy"), (2, "gray"))]
    images.append(upload_image(server, trainer, picture("PNG", None, color="white")).json())
    requests.post(server.api(f"/api/v1/models/{embedding['id']}/comments"), json={"body": "lovely"},
                  headers=bearer(trainer["token"]), timeout=30).raise_for_status()
    requests.put(server.api(f"/api/v1/models/{lora['id']}/like"), headers=bearer(trainer["token"]),
                 timeout=30).raise_for_status()
    requests.put(server.api(f"/api/v1/images/{images[0]['id']}/like"), headers=bearer(trainer["token"]),
                 timeout=30).raise_for_status()
    requests.post(server.api(f"/api/v1/images/{images[1]['id']}/comments"), json={"body": "nice"},
                  headers=bearer(trainer["token"]), timeout=30).raise_for_status()
    backdate(server, "model", embedding["id"], days=10)  # made ten days ago: outside a Day and a Week
    backdate(server, "image", images[0]["id"], days=10)
    return {"trainer": trainer, "E": embedding, "L": lora, "images": images}


def backdate(server, table: str, row_id: int, days: int) -> None:
    """Move a row's creation (and a picture's publication) back ``days`` (in the server's own database)."""
    moment = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).replace(tzinfo=None).isoformat(sep=" ")
    columns = ["created_at"] + (["published_at"] if table == "image" else [])
    for column in columns:
        server.sql(f"UPDATE {table} SET {column} = ? WHERE id = ?", (moment, row_id))


def listing(server, route, library, params, authed=False):
    headers = bearer(library["trainer"]["token"]) if authed else {}
    return requests.get(server.api(route), params={"username": library["trainer"]["user"]["username"]} | params,
                        headers=headers, timeout=30)


# (parameters, the models expected in order, as names "E"/"L"; None: any order of that set)
MODEL_CASES = [
    ({}, ["L", "E"]),
    ({"ids": "{E}"}, ["E"]),
    ({"ids": "{E},{L}"}, ["L", "E"]),
    ({"modelVersionIds": "{Lv}"}, ["L"]),
    ({"tag": "night"}, ["E"]),
    ({"tags": "night"}, ["E"]),
    ({"types": "LORA"}, ["L"]),
    ({"baseModels": "SD 1.5"}, ["L", "E"]),
    ({"baseModels": "SD 1.4,SD 1.5"}, ["L", "E"]),
    ({"baseModels": "SD 1.4"}, []),
    ({"baseModels": "SDXL 1.0"}, []),
    ({"baseModels": "Pony"}, []),
    ({"baseModels": "SD 1.x"}, ["L", "E"]),  # the family names of older clients: every name of the family
    ({"baseModels": "SDXL"}, []),
    ({"fileFormats": "SafeTensor"}, ["L", "E"]),
    ({"fileFormats": "Diffusers"}, []),
    ({"period": "Day"}, ["L"]),
    ({"period": "Week"}, ["L"]),
    ({"period": "Month"}, ["L", "E"]),
    ({"period": "AllTime"}, ["L", "E"]),
    ({"rating": "1"}, []),
    ({"rating": "0"}, ["L", "E"]),
    ({"nsfw": "false"}, ["L", "E"]),
    ({"supportsGeneration": "true"}, ["L"]),
    ({"supportsGeneration": "false"}, ["E"]),
    ({"allowNoCredit": "false"}, []),
    ({"allowNoCredit": "true"}, ["L", "E"]),
    ({"allowDerivatives": "false"}, []),
    ({"allowDifferentLicense": "false"}, []),
    ({"allowDifferentLicenses": "true"}, ["L", "E"]),
    ({"allowCommercialUse": "None"}, []),
    ({"allowCommercialUse": "Sell"}, ["L", "E"]),
    ({"favorites": "true", "authed": True}, ["L"]),
    ({"primaryFileOnly": "true"}, ["L", "E"]),
    ({"sort": "Newest"}, ["L", "E"]),
    ({"sort": "Oldest"}, ["E", "L"]),
    ({"sort": "Most Discussed"}, ["E", "L"]),
    ({"sort": "Most Images"}, ["E", "L"]),
    ({"sort": "Most Liked"}, ["L", "E"]),
    ({"sort": "Highest Rated"}, ["L", "E"]),
    ({"sort": "Most Downloaded", "limit": "1"}, None),
    ({"limit": "0"}, ["L", "E"]),
]
MODEL_REFUSALS = [
    ({"hidden": "true"}, "hidden"), ({"sort": "Most Collected"}, "sort"), ({"period": "Century"}, "period"),
    ({"fileFormats": "Zip"}, "fileFormats"), ({"allowCommercialUse": "Lots"}, "allowCommercialUse"),
    ({"ids": "abc"}, "ids"), ({"modelVersionIds": "1x"}, "modelVersionIds"), ({"limit": "101"}, "limit"),
    ({"limit": "-1"}, "limit"), ({"nsfw": "maybe"}, "nsfw"), ({"rating": "9"}, "rating"),
    ({"favorites": "true"}, "favorites"), ({"colour": "red"}, "colour"),
    ({"baseModels": "SD 1.5,Flux.9"}, "baseModels"),
]


def _filled(params: dict, library) -> dict:
    names = {"{E}": library["E"]["id"], "{L}": library["L"]["id"], "{Lv}": library["L"]["modelVersions"][0]["id"]}
    filled = {}
    for key, value in params.items():
        for name, number in names.items():
            value = value.replace(name, str(number)) if isinstance(value, str) else value
        filled[key] = value
    return filled


@pytest.mark.parametrize(("params", "expected"), MODEL_CASES, ids=[str(p) for p, _ in MODEL_CASES])
def test_model_filters_narrow_as_asked(server, library, params, expected):
    params = _filled(params, library)
    reply = listing(server, "/api/v1/models", library, params, authed=params.pop("authed", False))
    assert reply.status_code == 200, reply.text
    got = [item["id"] for item in reply.json()["items"]]
    if expected is None:
        assert len(got) == 1
    else:
        assert got == [library[name]["id"] for name in expected]
    if params.get("primaryFileOnly") == "true":
        assert all(f["primary"] for m in reply.json()["items"] for v in m["modelVersions"] for f in v["files"])


@pytest.mark.parametrize(("params", "name"), MODEL_REFUSALS, ids=[n for _, n in MODEL_REFUSALS])
def test_unsupported_model_filters_are_refused_by_name(server, library, params, name):
    reply = listing(server, "/api/v1/models", library, params)
    assert reply.status_code in (400, 401), reply.text
    assert name in reply.json()["error"]


# (parameters, the images expected in order as indexes into library["images"])
IMAGE_CASES = [
    ({}, [2, 1, 0]),
    ({"modelId": "{E}"}, [1, 0]),
    ({"modelVersionId": "{Ev}"}, [1, 0]),
    ({"postId": "{P0}"}, [0]),
    ({"imageId": "{I1}"}, [1]),
    ({"withMeta": "true"}, [1, 0]),
    ({"withMeta": "false"}, [2]),
    ({"baseModels": "SD 1.5"}, [1, 0]),
    ({"baseModels": "SD 1.x"}, [1, 0]),
    ({"baseModels": "SDXL 1.0"}, []),
    ({"type": "image"}, [2, 1, 0]),
    ({"type": "video"}, []),
    ({"period": "Week"}, [2, 1]),
    ({"period": "Year"}, [2, 1, 0]),
    ({"nsfw": "None"}, [2, 1, 0]),
    ({"nsfw": "false"}, [2, 1, 0]),
    ({"sort": "Oldest"}, [0, 1, 2]),
    ({"sort": "Newest"}, [2, 1, 0]),
    ({"sort": "Most Comments"}, [1, 2, 0]),
    ({"sort": "Most Reactions"}, [0, 2, 1]),
    ({"limit": "1"}, [2]),
]
IMAGE_REFUSALS = [
    ({"tags": "5"}, "tags"), ({"type": "gif"}, "type"), ({"nsfw": "maybe"}, "nsfw"), ({"sort": "Bogus"}, "sort"),
    ({"period": "Decade"}, "period"), ({"limit": "201"}, "limit"), ({"postId": "x"}, "postId"),
    ({"baseModels": "SD 9"}, "baseModels"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("params", "expected"), IMAGE_CASES, ids=[str(p) for p, _ in IMAGE_CASES])
def test_image_filters_narrow_as_asked(server, library, params, expected):
    images = library["images"]
    names = {"{E}": str(library["E"]["id"]), "{Ev}": str(library["E"]["modelVersions"][0]["id"]),
             "{P0}": str(images[0]["postId"]), "{I1}": str(images[1]["id"])}
    params = {key: names.get(value, value) for key, value in params.items()}
    reply = listing(server, "/api/v1/images", library, params)
    assert reply.status_code == 200, reply.text
    assert [item["id"] for item in reply.json()["items"]] == [images[i]["id"] for i in expected]


@pytest.mark.parametrize(("params", "name"), IMAGE_REFUSALS, ids=[n for _, n in IMAGE_REFUSALS])
def test_unsupported_image_filters_are_refused_by_name(server, library, params, name):
    reply = listing(server, "/api/v1/images", library, params)
    assert reply.status_code == 400, reply.text
    assert name in reply.json()["error"]


# Each list of /api/v1/enums and the listings' parameters that take its values.
ENUM_FILTERS = {
    "ModelType": [("/api/v1/models", "types")],
    "BaseModel": [("/api/v1/models", "baseModels"), ("/api/v1/images", "baseModels")],
    "CommercialUse": [("/api/v1/models", "allowCommercialUse")],
    "ModelFileFormat": [("/api/v1/models", "fileFormats")],
    "ModelSort": [("/api/v1/models", "sort")],
    "ImageSort": [("/api/v1/images", "sort")],
    "Period": [("/api/v1/models", "period"), ("/api/v1/images", "period")],
    "MediaType": [("/api/v1/images", "type")],
}


def test_a_client_may_send_every_value_the_enums_list_to_its_filter(server, library):
    enums = requests.get(server.api("/api/v1/enums"), timeout=30).json()
    assert enums["BaseModel"] == list(BASE_MODELS)  # read from the product's constant, never a copy of it
    refused = {}
    for name, filters in ENUM_FILTERS.items():
        assert enums[name], name
        for route, param in filters:
            for value in enums[name]:
                reply = listing(server, route, library, {param: value})
                if reply.status_code != 200:
                    refused[f"{route}?{param}={value}"] = reply.text
    assert not refused


def test_the_enums_name_every_value_the_listings_answer_and_find_by(server, library):
    enums = requests.get(server.api("/api/v1/enums"), timeout=30).json()
    for model in (library["E"], library["L"]):
        version, file = model["modelVersions"][0], model["modelVersions"][0]["files"][0]
        assert model["type"] in enums["ModelType"] and model["availability"] in enums["Availability"]
        assert set(model["allowCommercialUse"]) <= set(enums["CommercialUse"])
        assert version["baseModel"] in enums["BaseModel"] and version["baseModelType"] in enums["BaseModelType"]
        assert version["status"] in enums["ModelStatus"] and file["type"] in enums["ModelFileType"]
        assert file["metadata"]["format"] in enums["ModelFileFormat"]
        found = listing(server, "/api/v1/models", library, {"types": model["type"], "baseModels": version["baseModel"],
                                                            "fileFormats": file["metadata"]["format"]})
        assert [item["id"] for item in found.json()["items"]] == [model["id"]]
    assert {image["type"] for image in library["images"]} <= set(enums["MediaType"])
