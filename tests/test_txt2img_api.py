"""txt2img over REST against the real app, with a tiny real checkpoint dropped into models_dir."""

from __future__ import annotations

import shutil
import threading

import requests
from PIL import Image as PILImage

from tests.conftest import bearer


def generate(server, **fields):
    body = {"model_id": server.checkpoint_id, "prompt": "a red circle", "width": 64, "height": 64,
            "steps": 2, "seed": 1234} | fields
    return requests.post(server.api("/api/v1/txt2img"), headers=bearer(server.token), json=body, timeout=300)


def saved_image(server, reply_image) -> PILImage.Image:
    relative = reply_image["url"].split("/media/", 1)[1]
    return PILImage.open(server.outputs_dir / relative)


def test_generate_writes_png_with_a1111_parameters(gen_server):
    reply = generate(gen_server, negative_prompt="blurry")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["info"]["seed"] == 1234
    image = saved_image(gen_server, body["images"][0])
    assert image.size == (64, 64)
    parameters = image.text["parameters"]
    assert parameters.startswith("a red circle\nNegative prompt: blurry\nSteps: 2, Sampler: Euler a, CFG scale: 7")
    assert "Seed: 1234, Size: 64x64, Model hash: " in parameters
    assert "Model: tiny_sd15" in parameters


def test_same_seed_same_pixels_batch_uses_consecutive_seeds(gen_server):
    first = saved_image(gen_server, generate(gen_server, seed=77).json()["images"][0])
    again = saved_image(gen_server, generate(gen_server, seed=77).json()["images"][0])
    other = saved_image(gen_server, generate(gen_server, seed=78).json()["images"][0])
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()
    batch = generate(gen_server, seed=77, batch_size=2).json()
    assert [i["seed"] for i in batch["images"]] == [77, 78]
    assert batch["info"]["all_seeds"] == [77, 78]
    assert saved_image(gen_server, batch["images"][1]).tobytes() == other.tobytes()


def test_lora_tag_changes_the_image_and_unknown_lora_is_400(gen_server):
    base = saved_image(gen_server, generate(gen_server, seed=5).json()["images"][0])
    styled = generate(gen_server, seed=5, prompt="a red circle <lora:tiny_style:1.0>")
    assert styled.status_code == 200, styled.text
    assert "Lora hashes" in styled.json()["info"]["infotexts"][0]
    assert saved_image(gen_server, styled.json()["images"][0]).tobytes() != base.tobytes()
    after = saved_image(gen_server, generate(gen_server, seed=5).json()["images"][0])
    assert after.tobytes() == base.tobytes()  # the LoRA was unloaded
    unknown = generate(gen_server, prompt="x <lora:nope:1>")
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["error"]


def test_bad_parameters_are_clear_400s(gen_server):
    for fields, word in (({"width": 65}, "width"), ({"steps": 0}, "steps"), ({"cfg_scale": 31}, "cfg_scale"),
                         ({"batch_size": 9}, "batch_size"), ({"sampler_name": "Nope"}, "sampler"),
                         ({"model_id": 99999}, "model")):
        reply = generate(gen_server, **fields)
        assert reply.status_code in (400, 404), fields
        assert word in reply.json()["error"].lower(), (fields, reply.json())
    assert requests.post(gen_server.api("/api/v1/txt2img"), json={"prompt": "x"}).status_code == 401


def test_concurrent_requests_share_one_queue(gen_server):
    replies = []

    def call():
        replies.append(generate(gen_server, steps=4))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in replies] == [200, 200, 200]


def test_a_checkpoint_that_cannot_be_loaded_is_a_clear_400_and_generation_goes_on(gen_server, tmp_path):
    """The file scans as a checkpoint, but its configs folder names a pipeline txt2img cannot run: the
    generation process refuses it, the answer names the model, and the next image is made as usual."""
    from tests.tiny_models import save_tiny_single_file, tiny_sd15_pipeline

    single_file, config = save_tiny_single_file(tiny_sd15_pipeline(seed=5), tmp_path, "unloadable")
    index = config / "model_index.json"
    index.write_text(index.read_text().replace('"StableDiffusionPipeline"', '"StableDiffusionUpscalePipeline"'))
    folder = gen_server.models_dir / "Stable-diffusion"
    shutil.copytree(config, folder / config.name)
    shutil.copy(single_file, folder / single_file.name)
    scan = requests.post(gen_server.api("/api/v1/admin/rescan"), headers=bearer(gen_server.token), timeout=120)
    assert scan.status_code == 200 and scan.json()["added"] == 1, scan.text
    models = requests.get(gen_server.api("/api/v1/models"), params={"query": "unloadable"}).json()["items"]
    reply = generate(gen_server, model_id=models[0]["id"])
    assert reply.status_code == 400
    assert "'unloadable' cannot be loaded" in reply.json()["error"] and "not supported" in reply.json()["error"]
    assert generate(gen_server).status_code == 200
