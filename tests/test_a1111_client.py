"""A real AUTOMATIC1111 client library (webuiapi) drives an instance unchanged."""

from __future__ import annotations

import webuiapi

from tests.conftest import PASSWORD


def client_for(server) -> webuiapi.WebUIApi:
    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port)
    api.set_auth("painter", PASSWORD)  # HTTP Basic, like A1111's --api-auth
    return api


def test_webuiapi_lists_selects_generates_and_reads_png_info(gen_server):
    api = client_for(gen_server)
    tiny = next(t for t in api.util_get_model_names() if t.startswith("tiny_sd15"))
    api.util_set_model(tiny, find_closest=False)
    assert api.util_get_current_model() == tiny
    assert "Euler a" in [s["name"] for s in api.get_samplers()]

    result = api.txt2img(prompt="a red circle", negative_prompt="blurry", seed=4242, steps=2, width=64, height=64,
                         cfg_scale=7, sampler_name="Euler a")
    assert result.image.size == (64, 64)
    assert result.info["seed"] == 4242
    assert result.info["all_seeds"] == [4242]
    assert "Seed: 4242, Size: 64x64" in result.info["infotexts"][0]
    assert result.parameters["prompt"] == "a red circle"

    info = api.png_info(result.image)
    assert "Negative prompt: blurry" in info.info
    assert api.get_progress()["progress"] in (0, 0.0, 1, 1.0)


def test_webuiapi_with_wrong_password_is_refused(gen_server):
    api = webuiapi.WebUIApi(host="127.0.0.1", port=gen_server.port)
    api.set_auth("painter", "not the password")
    try:
        api.txt2img(prompt="x", steps=1, width=64, height=64)
    except RuntimeError as exc:
        assert exc.args[0] == 401
    else:
        raise AssertionError("a wrong password generated an image")
