"""The A1111-compatible API (/sdapi/v1) against the real app, with two tiny real checkpoints and a LoRA."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import threading
import time

import pytest
import requests
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from core.generation.demo_model import DEMO_NAME
from tests.conftest import PASSWORD, bearer
from tests.live_server import LiveServer
from tests.tiny_models import build_tiny_sd15, save_tiny_single_file, tiny_sd15_pipeline

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/conftest.py)

SMALL = {"prompt": "a red circle", "width": 64, "height": 64, "steps": 2, "seed": 1234}
# Long enough to be caught running, even on a fast machine (Heun: two model calls a step); always interrupted.
LONG = {"prompt": "a long one", "width": 256, "height": 256, "steps": 150, "sampler_name": "Heun", "seed": 7}
A1111_TEXT = ("masterpiece, 1girl\nNegative prompt: lowres\nSteps: 28, Sampler: DPM++ 2M, Schedule type: Karras, "
              "CFG scale: 7, Seed: 12345, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
              'Hires upscale: 2, Hires upscaler: Latent, Lora hashes: "style: abcdef123456", Version: v1.10.1')


def _drop_checkpoint(models_dir, single_file, config_dir) -> None:
    folder = models_dir / "Stable-diffusion"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(single_file, folder / single_file.name)
    shutil.copytree(config_dir, folder / config_dir.name)


def _register(server: LiveServer, username: str) -> tuple[str, str]:
    reply = requests.post(server.api("/api/v1/auth/register"), json={"username": username, "password": PASSWORD},
                          timeout=60)
    assert reply.status_code == 201, reply.text
    server.tokens[username] = reply.json()["token"]
    return username, PASSWORD


@pytest.fixture(scope="module")
def sd_server(tmp_path_factory):
    """One generation at a time; checkpoints ``tiny_b`` and ``tiny_sd15``, LoRA ``tiny_style``; an admin and users."""
    tiny = build_tiny_sd15(tmp_path_factory.mktemp("tiny"))
    other_dir = tmp_path_factory.mktemp("tiny_b")
    live = LiveServer(tmp_path_factory.mktemp("sdapi"), args=["--max-concurrent-generations", "1"])
    _drop_checkpoint(live.models_dir, tiny.single_file, tiny.single_file_config)
    _drop_checkpoint(live.models_dir, *save_tiny_single_file(tiny_sd15_pipeline(seed=1), other_dir, "tiny_b"))
    (live.models_dir / "Lora").mkdir()
    shutil.copy(tiny.lora, live.models_dir / "Lora" / "tiny_style.safetensors")
    live.start()
    deadline = time.monotonic() + 60
    while requests.get(live.api("/api/v1/models"), timeout=30).json()["metadata"]["totalItems"] < 3:
        assert time.monotonic() < deadline, live.log()
        time.sleep(0.3)
    live.tokens = {}
    live.admin = _register(live, "sd_admin")  # the first account: an admin
    live.alice, live.bob, live.carol = (_register(live, name) for name in ("alice", "bob", "carol"))
    yield live
    live.stop()


def sdapi(server: LiveServer, method: str, path: str, auth=None, **kwargs) -> requests.Response:
    return requests.request(method, server.api(f"/sdapi/v1/{path}"), auth=auth, timeout=600, **kwargs)


def decode_png(data: str) -> PILImage.Image:
    assert not data.startswith("data:")
    image = PILImage.open(io.BytesIO(base64.b64decode(data, validate=True)))
    assert image.format == "PNG"
    return image


def png_base64(parameters: str, **chunks: str) -> str:
    info = PngInfo()
    info.add_text("parameters", parameters)
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "white").save(buffer, format="PNG", pnginfo=info)
    return base64.b64encode(buffer.getvalue()).decode()


def assert_error(reply: requests.Response, status: int, word: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert word in body["error"].lower(), body
    assert body["detail"] == body["error"]


class Background:
    """A txt2img request on its own thread."""

    def __init__(self, server: LiveServer, auth, body: dict):
        self.reply: requests.Response | None = None
        self.thread = threading.Thread(target=self._run, args=(server, auth, body))
        self.thread.start()

    def _run(self, server, auth, body):
        self.reply = sdapi(server, "POST", "txt2img", auth=auth, json=body)

    def join(self) -> requests.Response:
        self.thread.join(600)
        assert self.reply is not None
        return self.reply


def progress(server: LiveServer, auth) -> dict:
    reply = sdapi(server, "GET", "progress", auth=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()


def wait_progress(server: LiveServer, auth, condition, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = progress(server, auth)
        if condition(current):
            return current
        assert time.monotonic() < deadline, current
        time.sleep(0.05)


def running(state: dict) -> bool:
    return state["state"]["job"] != "" and state["queue_position"] == 0


# --------------------------------------------------------------------------- listings
def test_sd_models_lists_checkpoints_with_a1111_fields(sd_server):
    single = sd_server.models_dir / "Stable-diffusion" / "tiny_sd15.safetensors"
    sha256 = hashlib.sha256(single.read_bytes()).hexdigest()
    for auth in (None, sd_server.alice):  # visitors see public checkpoints too
        reply = sdapi(sd_server, "GET", "sd-models", auth=auth)
        assert reply.status_code == 200, reply.text
        models = {m["model_name"]: m for m in reply.json() if m["model_name"] != DEMO_NAME}
        assert set(models) == {"tiny_b", "tiny_sd15"}
        assert models["tiny_sd15"] == {"title": f"tiny_sd15 [{sha256[:10]}]", "model_name": "tiny_sd15",
                                       "hash": sha256[:10], "sha256": sha256,
                                       "filename": "Stable-diffusion/tiny_sd15.safetensors",
                                       "config": None}


def test_samplers_schedulers_loras_scripts_and_the_rest(sd_server):
    samplers = sdapi(sd_server, "GET", "samplers").json()
    assert {"name": "Euler a", "aliases": ["k_euler_a", "k_euler_ancestral"], "options": {}} in samplers
    assert {"DPM++ 2M", "DPM++ 2M Karras", "DDIM", "UniPC", "Heun", "LMS", "Euler"} <= {s["name"] for s in samplers}
    schedulers = {s["name"]: s for s in sdapi(sd_server, "GET", "schedulers").json()}
    assert schedulers["karras"] == {"name": "karras", "label": "Karras", "aliases": None, "default_rho": 7.0,
                                    "need_inner_model": False}
    [lora] = sdapi(sd_server, "GET", "loras", auth=sd_server.alice).json()
    assert lora["name"] == lora["alias"] == "tiny_style"
    assert lora["path"] == "Lora/tiny_style.safetensors"  # relative to models_dir: no server path disclosed
    assert lora["metadata"]["ss_network_module"] == "networks.lora"
    assert sdapi(sd_server, "GET", "scripts").json() == {"txt2img": [], "img2img": []}
    assert sdapi(sd_server, "GET", "sd-vae").json() == []
    assert sdapi(sd_server, "GET", "embeddings").json() == {"loaded": {}, "skipped": {}}
    assert sdapi(sd_server, "GET", "cmd-flags").json()["api"] is True
    assert sdapi(sd_server, "POST", "refresh-checkpoints", auth=sd_server.admin).status_code == 200
    assert [u["name"] for u in sdapi(sd_server, "GET", "upscalers").json()] == ["None", "Lanczos", "Nearest"]
    assert sdapi(sd_server, "GET", "face-restorers").json() == []  # this server has none: A1111's list, empty
    assert_error(sdapi(sd_server, "GET", "interrogate"), 404, "not supported")


# --------------------------------------------------------------------------- txt2img
def test_txt2img_with_basic_auth_returns_raw_base64_pngs_and_a1111_info(sd_server):
    body = SMALL | {"negative_prompt": "blurry", "batch_size": 1, "n_iter": 2,
                    "override_settings": {"sd_model_checkpoint": "tiny_sd15"}}
    reply = sdapi(sd_server, "POST", "txt2img", auth=sd_server.carol, json=body)
    assert reply.status_code == 200, reply.text
    result = reply.json()
    images = [decode_png(data) for data in result["images"]]
    texts = [image.text["parameters"] for image in images]
    assert [image.size for image in images] == [(64, 64), (64, 64)]
    for text, seed in zip(texts, (1234, 1235)):
        assert text.startswith(f"a red circle\nNegative prompt: blurry\nSteps: 2, Sampler: Euler a, CFG scale: 7, "
                               f"Seed: {seed}, Size: 64x64, Model hash: ")
        assert text.endswith(", Model: tiny_sd15")
    info = json.loads(result["info"])
    assert (info["seed"], info["all_seeds"], info["infotexts"]) == (1234, [1234, 1235], texts)
    assert (info["prompt"], info["negative_prompt"], info["sd_model_name"]) == ("a red circle", "blurry", "tiny_sd15")
    assert result["parameters"]["n_iter"] == 2 and result["parameters"]["prompt"] == "a red circle"


def test_txt2img_tolerates_unknown_and_null_fields(sd_server):
    body = SMALL | {"cfg_scale": None, "sampler_name": None, "scheduler": None, "negative_prompt": None,
                    "styles": ["x"], "restore_faces": None, "tiling": False, "subseed": -1, "eta": None,
                    "some_extension_field": {"a": 1}, "alwayson_scripts": {}, "script_args": [],
                    "override_settings_restore_afterwards": True, "send_images": True, "save_images": None}
    reply = sdapi(sd_server, "POST", "txt2img", auth=sd_server.carol, json=body)
    assert reply.status_code == 200, reply.text
    text = decode_png(reply.json()["images"][0]).text["parameters"]
    assert text.startswith("a red circle\nSteps: 2, Sampler: Euler a, CFG scale: 7, Seed: 1234")
    quiet = sdapi(sd_server, "POST", "txt2img", auth=sd_server.carol, json=SMALL | {"send_images": False})
    assert quiet.status_code == 200 and quiet.json()["images"] == []
    assert json.loads(quiet.json()["info"])["all_seeds"] == [1234]


def test_txt2img_bad_input_is_a_clear_4xx(sd_server):
    cases = (({"width": 65}, 400, "width"), ({"steps": "many"}, 400, "steps"), ({"sampler_name": "Nope"}, 400, "sampler"),
             ({"batch_size": 4, "n_iter": 3}, 400, "n_iter"), ({"enable_hr": True, "hr_upscaler": "R-ESRGAN 4x+"}, 400, "unknown hires upscaler"),
             ({"alwayson_scripts": {"ADetailer": {"args": []}}}, 400, "adetailer"),
             ({"override_settings": {"sd_model_checkpoint": "no such model"}}, 404, "no checkpoint"),
             ({"prompt": "x <lora:nope:1>"}, 400, "nope"))
    for fields, status, word in cases:
        assert_error(sdapi(sd_server, "POST", "txt2img", auth=sd_server.carol, json=SMALL | fields), status, word)
    assert_error(sdapi(sd_server, "POST", "txt2img", auth=sd_server.carol, data="{not json",
                       headers={"Content-Type": "application/json"}), 400, "invalid")


# --------------------------------------------------------------------------- png-info
def test_png_info_reads_our_images_raw_or_as_data_url(sd_server):
    data = sdapi(sd_server, "POST", "txt2img", auth=sd_server.carol,
                 json=SMALL | {"override_settings": {"sd_model_checkpoint": "tiny_sd15"}}).json()["images"][0]
    text = decode_png(data).text["parameters"]
    replies = [sdapi(sd_server, "POST", "png-info", json={"image": image})
               for image in (data, "data:image/png;base64," + data)]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["info"] == text and body["items"] == {"parameters": text}
        parsed = body["parameters"]
        assert (parsed["Prompt"], parsed["Steps"], parsed["Sampler"], parsed["Seed"]) == ("a red circle", "2",
                                                                                        "Euler a", "1234")
        assert (parsed["Size-1"], parsed["Size-2"], parsed["Model"]) == ("64", "64", "tiny_sd15")


def test_png_info_reads_an_a1111_parameters_string(sd_server):
    data = png_base64(A1111_TEXT, Software="A1111")
    for image in (data, "data:image/png;base64," + data):
        body = sdapi(sd_server, "POST", "png-info", json={"image": image}).json()
        assert body["info"] == A1111_TEXT
        assert body["items"] == {"parameters": A1111_TEXT, "Software": "A1111"}
        assert body["parameters"] == {
            "Prompt": "masterpiece, 1girl", "Negative prompt": "lowres", "Steps": "28", "Sampler": "DPM++ 2M",
            "Schedule type": "Karras", "CFG scale": "7", "Seed": "12345", "Size-1": "512", "Size-2": "768",
            "Model hash": "6ce0161689", "Model": "v1-5-pruned-emaonly", "Hires upscale": "2",
            "Hires upscaler": "Latent", "Lora hashes": "style: abcdef123456",
            "Lora hashes dict": {"style": "abcdef123456"}, "Version": "v1.10.1"}
    assert sdapi(sd_server, "POST", "png-info", json={"image": ""}).json()["info"] == ""
    assert_error(sdapi(sd_server, "POST", "png-info", json={"image": "@@@"}), 400, "base64")
    assert_error(sdapi(sd_server, "POST", "png-info", json={"image": base64.b64encode(b"not a png").decode()}),
                 400, "png")
    assert_error(sdapi(sd_server, "POST", "png-info", json={"image": "https://example.com/a.png"}), 400, "url")


# --------------------------------------------------------------------------- auth
def test_basic_auth_errors_and_other_credentials(sd_server):
    wrong = sdapi(sd_server, "POST", "options", auth=("alice", "not the password"), json={})
    assert_error(wrong, 401, "wrong username or password")
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    missing = sdapi(sd_server, "POST", "txt2img", json=SMALL)
    assert_error(missing, 401, "log in")
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert_error(sdapi(sd_server, "GET", "progress", headers={"Authorization": "Basic !!!"}), 401, "malformed")
    assert_error(sdapi(sd_server, "POST", "interrupt", auth=sd_server.alice,
                       headers={"Origin": "http://evil.example"}), 403, "cross-site")
    token = bearer(sd_server.tokens["alice"])
    assert sdapi(sd_server, "POST", "interrupt", headers=token).json() == {}
    session = requests.Session()
    session.post(sd_server.api("/api/v1/auth/login"), json={"username": "alice", "password": PASSWORD}, timeout=60)
    assert session.post(sd_server.api("/sdapi/v1/interrupt"), timeout=60).json() == {}


def test_banned_user_is_refused_at_once_even_when_cached(sd_server):
    dora = _register(sd_server, "dora")
    assert sdapi(sd_server, "GET", "progress", auth=dora).status_code == 200  # verified and cached
    ban = requests.post(sd_server.api("/api/v1/admin/users/dora/ban"), headers=bearer(sd_server.tokens["sd_admin"]),
                        timeout=60)
    assert ban.status_code == 200, ban.text
    assert_error(sdapi(sd_server, "GET", "progress", auth=dora), 403, "banned")
    assert_error(sdapi(sd_server, "POST", "txt2img", auth=dora, json=SMALL), 403, "banned")


def test_repeated_wrong_basic_passwords_are_throttled(sd_server):
    eve = _register(sd_server, "eve")
    for _ in range(5):
        assert sdapi(sd_server, "GET", "progress", auth=("eve", "wrong password")).status_code == 401
    throttled = sdapi(sd_server, "GET", "progress", auth=eve)
    assert_error(throttled, 429, "too many failed logins")
    assert int(throttled.headers["Retry-After"]) >= 1


# --------------------------------------------------------------------------- queue, progress, interrupt, skip
def test_one_queue_position_while_waiting_and_only_owner_or_admin_interrupts(sd_server):
    alice, bob = sd_server.alice, sd_server.bob
    long = Background(sd_server, alice, LONG)
    job = wait_progress(sd_server, alice, lambda p: p["state"]["sampling_step"] >= 1)["state"]["job"]
    assert sdapi(sd_server, "POST", "interrupt", auth=bob).json() == {}  # bob has nothing to stop
    short = Background(sd_server, bob, SMALL)
    waiting = wait_progress(sd_server, bob, lambda p: p["queue_position"] == 1)
    assert waiting["state"]["sampling_step"] == 0 and "position 1" in waiting["textinfo"]
    for action in ("interrupt", "skip"):
        assert_error(sdapi(sd_server, "POST", action, auth=bob, params={"job": job}), 403, "owner or an admin")
    assert_error(sdapi(sd_server, "POST", "interrupt", params={"job": job}), 401, "log in")
    still = progress(sd_server, alice)
    assert still["state"]["job"] == job and not still["state"]["interrupted"]

    overlaps, done = [], threading.Event()

    def watch():  # bob's state first: if bob's job runs, alice's must already be over
        while not done.is_set():
            bob_state, alice_state = progress(sd_server, bob), progress(sd_server, alice)
            if running(bob_state) and alice_state["state"]["job_count"]:
                overlaps.append((bob_state, alice_state))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.5)
    assert sdapi(sd_server, "POST", "interrupt", auth=sd_server.admin, params={"job": job}).json() == {}
    long_reply, short_reply = long.join(), short.join()
    done.set()
    watcher.join()
    assert long_reply.status_code == 200 and len(long_reply.json()["images"]) == 1
    assert short_reply.status_code == 200 and len(short_reply.json()["images"]) == 1
    assert overlaps == []


def test_interrupt_stops_a_long_job_early_with_the_partial_image(sd_server):
    run = Background(sd_server, sd_server.alice, LONG)
    started = wait_progress(sd_server, sd_server.alice, lambda p: p["state"]["sampling_step"] >= 2)
    eta = started["eta_relative"]
    assert 0 < started["progress"] < 0.5 and eta > 0
    interrupted_at = time.monotonic()
    assert sdapi(sd_server, "POST", "interrupt", auth=sd_server.alice).json() == {}
    reply = run.join()
    elapsed = time.monotonic() - interrupted_at
    assert reply.status_code == 200, reply.text
    [image] = [decode_png(data) for data in reply.json()["images"]]
    assert image.size == (256, 256) and "Seed: 7," in image.text["parameters"]
    assert elapsed < eta / 3, (elapsed, eta)  # the remaining ~148 steps were not run
    assert progress(sd_server, sd_server.alice)["state"]["job_count"] == 0


def test_skip_ends_the_current_image_and_goes_on_with_the_next(sd_server):
    run = Background(sd_server, sd_server.alice, LONG | {"batch_size": 2})
    wait_progress(sd_server, sd_server.alice, lambda p: p["state"]["sampling_step"] >= 2)
    reply = sdapi(sd_server, "POST", "skip", auth=sd_server.alice)
    assert reply.status_code == 200 and reply.json() is None
    second = wait_progress(sd_server, sd_server.alice,
                           lambda p: p["state"]["sampling_step"] > p["state"]["sampling_steps"] // 2)
    assert second["state"]["skipped"]
    sdapi(sd_server, "POST", "interrupt", auth=sd_server.alice)
    info = json.loads(run.join().json()["info"])
    assert info["all_seeds"] == [7, 8]


# --------------------------------------------------------------------------- options (restarts the server: last)
def test_options_checkpoint_is_kept_per_user_and_survives_a_restart(sd_server):
    alice, bob = sd_server.alice, sd_server.bob
    titles = {m["model_name"]: m["title"] for m in sdapi(sd_server, "GET", "sd-models").json()}

    def checkpoint(auth) -> str:
        return sdapi(sd_server, "GET", "options", auth=auth).json()["sd_model_checkpoint"]

    def model_used(auth, **fields) -> str:
        reply = sdapi(sd_server, "POST", "txt2img", auth=auth, json=SMALL | fields)
        assert reply.status_code == 200, reply.text
        return json.loads(reply.json()["info"])["sd_model_name"]

    assert checkpoint(alice) == checkpoint(bob) == checkpoint(None) == titles["tiny_b"]  # the default: first by name
    options = sdapi(sd_server, "GET", "options", auth=alice).json()
    assert options["samples_format"] == "png" and options["CLIP_stop_at_last_layers"] == 1
    hash_sd15 = titles["tiny_sd15"].split("[")[1].rstrip("]")
    for name in ("tiny_sd15", titles["tiny_sd15"], hash_sd15, "tiny_sd15.safetensors", "tiny_sd15 [0000000000]"):
        reply = sdapi(sd_server, "POST", "options", auth=alice, json={"sd_model_checkpoint": name})
        assert reply.status_code == 200 and reply.json() is None, (name, reply.text)
        assert checkpoint(alice) == titles["tiny_sd15"]
    assert_error(sdapi(sd_server, "POST", "options", auth=alice, json={"sd_model_checkpoint": "nope"}), 404, "nope")
    assert_error(sdapi(sd_server, "POST", "options", json={"sd_model_checkpoint": "tiny_b"}), 401, "log in")
    assert checkpoint(bob) == titles["tiny_b"]
    assert model_used(alice) == "tiny_sd15"
    assert model_used(alice, override_settings={"sd_model_checkpoint": titles["tiny_b"]}) == "tiny_b"
    assert checkpoint(alice) == titles["tiny_sd15"]  # an override is for that request only

    sd_server.restart()
    assert checkpoint(alice) == titles["tiny_sd15"]
    assert checkpoint(bob) == titles["tiny_b"]


def test_options_are_a1111s_full_set_and_what_cannot_be_honoured_is_refused_naming_it(sd_server):
    alice, bob = sd_server.alice, sd_server.bob
    options = sdapi(sd_server, "GET", "options", auth=alice).json()
    assert len(options) > 200  # every option A1111 has, with its default or what this server does
    assert (options["send_seed"], options["sd_vae"], options["eta_noise_seed_delta"], options["samples_format"],
            options["live_previews_enable"]) == (True, "Automatic", 0, "png", False)
    assert sdapi(sd_server, "POST", "options", auth=alice, json=options).status_code == 200  # what it read, posted back
    # A1111's own test_options_write: an option of A1111's page is kept as set (per user)
    assert sdapi(sd_server, "POST", "options", auth=alice, json={"send_seed": False}).status_code == 200
    assert sdapi(sd_server, "GET", "options", auth=alice).json()["send_seed"] is False
    assert sdapi(sd_server, "GET", "options", auth=bob).json()["send_seed"] is True

    before = sdapi(sd_server, "GET", "options", auth=alice).json()
    for change, named in (({"sd_model_checkpoint": "tiny_b", "no_such_option": 1}, "no_such_option"),
                          ({"samples_format": "jpg"}, "samples_format"), ({"eta_noise_seed_delta": 31337}, "eta_noise"),
                          ({"CLIP_stop_at_last_layers": 13}, "clip_stop_at_last_layers")):
        assert_error(sdapi(sd_server, "POST", "options", auth=alice, json=change), 400, named)
    assert sdapi(sd_server, "GET", "options", auth=alice).json() == before  # a refused change changes nothing
    assert_error(sdapi(sd_server, "POST", "txt2img", auth=alice, json=SMALL | {"override_settings": {"tiling": True}}),
                 400, "tiling")

    assert sdapi(sd_server, "POST", "options", auth=alice, json={"CLIP_stop_at_last_layers": 2}).status_code == 200
    skipped = sdapi(sd_server, "POST", "txt2img", auth=alice, json=SMALL).json()
    assert "Clip skip: 2" in json.loads(skipped["info"])["infotexts"][0]
    plain = sdapi(sd_server, "POST", "txt2img", auth=bob, json=SMALL).json()  # bob's options are his own
    assert "Clip skip" not in json.loads(plain["info"])["infotexts"][0]
    assert_error(sdapi(sd_server, "POST", "options", auth=alice, json={"sd_vae": "no such vae"}), 404, "no such vae")


def test_a_private_instance_closes_sdapi_to_visitors_but_takes_basic_auth(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("private"), args=["--private"]).start()
    try:
        live.tokens = {}
        user = _register(live, "pat")
        refused = sdapi(live, "GET", "sd-models")
        assert_error(refused, 401, "private")
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        allowed = sdapi(live, "GET", "sd-models", auth=user)
        assert allowed.status_code == 200 and isinstance(allowed.json(), list)
    finally:
        live.stop()
