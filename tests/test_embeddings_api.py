"""Textual-inversion embeddings and A1111's prompt syntax through /sdapi/v1 and the unmodified webuiapi client, on
a live app with the tiny checkpoint: an uploaded embedding named in the negative prompt changes the picture and
is listed in ``TI hashes``; ``/sdapi/v1/embeddings`` tells loaded from skipped; clip skip and emphasis count."""

from __future__ import annotations

import numpy as np
import requests
import webuiapi

from tests.conftest import PASSWORD, bearer
from tests.test_prompt_syntax import save_embedding

SMALL = dict(prompt="a red circle", steps=2, width=64, height=64, cfg_scale=7, sampler_name="Euler a", seed=8)


def client_for(server) -> webuiapi.WebUIApi:
    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port)
    api.set_auth("painter", PASSWORD)
    api.util_set_model(next(t for t in api.util_get_model_names() if t.startswith("tiny_sd15")), find_closest=False)
    return api


def pixels(result) -> np.ndarray:
    return np.asarray(result.image.convert("RGB"), dtype=np.int16)


def upload(server, path, **fields) -> dict:
    with open(path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), headers=bearer(server.token),
                              files={"file": (path.name, handle)}, data=fields, timeout=120)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_an_uploaded_embedding_in_the_negative_prompt_changes_the_picture_and_is_hashed(gen_server, tmp_path):
    api = client_for(gen_server)
    before = api.txt2img(negative_prompt="tinyneg, blurry", **SMALL)  # no such embedding yet: plain words
    assert "TI hashes" not in before.info["infotexts"][0]
    embedding = save_embedding(tmp_path / "tinyneg.safetensors", width=32)
    model = upload(gen_server, embedding, visibility="private")
    assert model["type"] == "TextualInversion"
    listing = requests.get(gen_server.api("/sdapi/v1/embeddings"), auth=("painter", PASSWORD), timeout=60).json()
    assert listing["loaded"]["tinyneg"]["vectors"] == 2 and listing["loaded"]["tinyneg"]["shape"] == 32
    assert "tinyneg" not in requests.get(gen_server.api("/sdapi/v1/embeddings"), timeout=60).json()["loaded"]

    after = api.txt2img(negative_prompt="tinyneg, blurry", **SMALL)
    assert np.abs(pixels(after) - pixels(before)).max() > 0
    sha256 = model["modelVersions"][0]["files"][0]["hashes"]["SHA256"].lower()
    assert f'TI hashes: "tinyneg: {sha256[:12]}"' in after.info["infotexts"][0]
    assert api.png_info(after.image).parameters["TI hashes dict"] == {"tinyneg": sha256[:12]}


def test_emphasis_and_clip_skip_reach_the_picture_and_the_infotext(gen_server):
    api = client_for(gen_server)
    plain = api.txt2img(**SMALL)
    stressed = api.txt2img(**(SMALL | {"prompt": "a red (circle:1.5)"}))
    skipped = api.txt2img(**SMALL, override_settings={"CLIP_stop_at_last_layers": 2})
    assert np.abs(pixels(stressed) - pixels(plain)).max() > 0
    assert np.abs(pixels(skipped) - pixels(plain)).max() > 0
    assert "Clip skip: 2" in skipped.info["infotexts"][0]
    assert api.png_info(skipped.image).parameters["Clip skip"] == "2"
