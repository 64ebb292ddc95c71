"""Generation on a pool of Ray Serve replicas (``--generation-backend ray``), as a growing community runs it.

A real two-node Ray cluster on loopback (``tests.ray_cluster``: a head on 127.0.0.2 and a second node on
127.0.0.3, one CPU each) runs two replicas with one loaded checkpoint each (K = 1). The app joins it with its own
models folder; the replicas have none and a cache folder of their own, so every file they use comes by hash from
the site. A second app with the local backend and the same files is the reference for "the same image".
The tests run in this order: the routing story needs replicas that hold nothing yet.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import threading
import time

import numpy as np
import pytest
import requests
import webuiapi
from PIL import Image as PILImage
from playwright.sync_api import expect

from core.generation.file_grants import sign_grant
from core.generation.ray_replica import NAMESPACE, POOL_ACTOR
from tests.browser import chromium, visit
from tests.conftest import PASSWORD, bearer
from tests.live_server import LiveServer, free_port
from tests.ray_cluster import HEAD_IP, RayCluster
from tests.test_ui_generate import TIMEOUT_MS, open_page, set_number, textbox
from tests.tiny_models import build_tiny_sd15, save_tiny_upscaler

CHECKPOINTS = ("tiny_sd15", "tiny_x", "tiny_y")  # three tiny SD 1.x checkpoints with their own weights


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    return {name: build_tiny_sd15(folder / name, seed=seed, name=name) for seed, name in enumerate(CHECKPOINTS)}


@pytest.fixture(scope="module")
def cluster():
    started = RayCluster(cpus_per_node=1).start()
    yield started
    started.stop()


def site(home, models, *args: str, env: dict[str, str] | None = None) -> LiveServer:
    """An app with the three checkpoints in its models folder; accounts: site_admin (the first), painter, other."""
    live = LiveServer(home, args=list(args), env=env or {})
    folder = live.models_dir / "Stable-diffusion"
    folder.mkdir(parents=True)
    for tiny in models.values():
        shutil.copy(tiny.single_file, folder / tiny.single_file.name)
        shutil.copytree(tiny.single_file_config, folder / tiny.single_file_config.name)
    (live.models_dir / "Lora").mkdir()
    shutil.copy(models["tiny_sd15"].lora, live.models_dir / "Lora" / "tiny_style.safetensors")
    save_tiny_upscaler(live.models_dir / "ESRGAN" / "4x-Tiny.safetensors", "esrgan")
    live.start(timeout=300)
    live.tokens = {name: requests.post(live.api("/api/v1/auth/register"),
                                       json={"username": name, "password": PASSWORD}).json()["token"]
                   for name in ("site_admin", "painter", "other")}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = requests.get(live.api("/api/v1/models"), params={"types": "Checkpoint"}).json()["items"]
        live.checkpoints = {item["name"]: item["id"] for item in items}
        if set(CHECKPOINTS) <= set(live.checkpoints):
            return live
        time.sleep(0.3)
    raise RuntimeError(f"the checkpoints were not scanned: {live.checkpoints}")


@pytest.fixture(scope="module")
def pool_site(cluster, models, tmp_path_factory):
    home = tmp_path_factory.mktemp("pool")
    live = site(home, models, "--generation-backend", "ray", "--ray-address", cluster.address,
                "--ray-replicas", "2:2", "--ray-models-per-replica", "1", "--worker-cache-dir", str(home / "replicas"),
                "--max-queued-per-user", "30", env=cluster.env)
    live.worker_cache, live.ray_address = home / "replicas", cluster.address
    yield live
    live.stop()


@pytest.fixture(scope="module")
def local_site(models, tmp_path_factory):
    live = site(tmp_path_factory.mktemp("local"), models)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def driver(cluster):
    """This test process joined to the cluster, as an operator's script would (to kill a replica, read a secret)."""
    before = dict(os.environ)
    os.environ.update(cluster.env)  # before Ray reads its settings at import
    import ray

    ray.init(address=cluster.address, _node_ip_address=HEAD_IP, namespace=NAMESPACE, log_to_driver=False)
    yield ray
    ray.shutdown()
    os.environ.clear()
    os.environ.update(before)


def generate(live, user: str = "painter", checkpoint: str = "tiny_sd15", **fields):
    body = {"model_id": live.checkpoints[checkpoint], "prompt": "a red circle", "width": 64, "height": 64,
            "steps": 4, "seed": 1234} | fields
    return requests.post(live.api("/api/v1/txt2img"), headers=bearer(live.tokens[user]), json=body, timeout=300)


def pixels_of(live, reply) -> bytes:
    assert reply.status_code == 200, reply.text
    relative = reply.json()["images"][0]["url"].split("/media/", 1)[1]
    with PILImage.open(live.outputs_dir / relative) as image:
        return np.asarray(image.convert("RGB")).tobytes()


def pool(live) -> dict:
    reply = requests.get(live.api("/api/v1/admin/generation-pool"), headers=bearer(live.tokens["site_admin"]))
    assert reply.status_code == 200, reply.text
    return reply.json()


def pool_when(live, ready, timeout: float = 30) -> dict:
    """The pool view once ``ready(view)`` holds (replicas report every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        view = pool(live)
        if ready(view) or time.monotonic() > deadline:
            return view
        time.sleep(0.3)


def total_loads(view: dict) -> int:
    return sum(replica["loads"] for replica in view["replicas"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the stories
def test_runs_go_to_the_replica_that_already_holds_their_checkpoint(pool_site):
    for checkpoint in ("tiny_sd15", "tiny_x") * 3:
        assert generate(pool_site, checkpoint=checkpoint).status_code == 200

    view = pool_when(pool_site, lambda v: total_loads(v) >= 2 and len(v["replicas"]) == 2)
    assert view["backend"] == "ray"
    assert total_loads(view) == 2  # six runs, A B A B A B: each checkpoint loaded once (round robin: six loads)
    held = sorted(name for replica in view["replicas"] for name in replica["models"])
    assert held == ["tiny_sd15.safetensors", "tiny_x.safetensors"]  # one on each replica
    assert {replica["node"] for replica in view["replicas"]} == {"127.0.0.2", "127.0.0.3"}  # one on each node


def test_the_admin_tab_shows_the_replicas_and_the_checkpoints_they_hold(pool_site):
    with chromium() as browser:
        page = visit(browser, pool_site, "/", pool_site.tokens["site_admin"])
        page.get_by_role("tab", name="Admin").click()
        replicas = page.locator("#pool-replicas")
        expect(replicas).to_contain_text("tiny_sd15.safetensors", timeout=30_000)
        expect(replicas).to_contain_text("tiny_x.safetensors")
        expect(replicas.locator("tbody tr")).to_have_count(2)
        expect(page.locator("#admin-pool")).to_contain_text(f"Ray Serve pool at {pool_site.ray_address}")


def test_the_pool_makes_the_images_the_local_backend_makes_over_rest_sdapi_and_the_generate_tab(pool_site,
                                                                                                 local_site):
    for fields in ({"seed": 77}, {"seed": 78, "prompt": "a blue square", "negative_prompt": "blurry", "steps": 6},
                   {"seed": 79, "prompt": "a red circle <lora:tiny_style:0.8>"}):  # the LoRA fetched by hash too
        assert pixels_of(pool_site, generate(pool_site, **fields)) == pixels_of(local_site, generate(local_site,
                                                                                                     **fields))

    def a1111_image(live):
        api = webuiapi.WebUIApi(host="127.0.0.1", port=live.port)
        api.set_auth("painter", PASSWORD)
        api.util_set_model(next(t for t in api.util_get_model_names() if t.startswith("tiny_sd15")),
                           find_closest=False)
        result = api.txt2img(prompt="a green cat", seed=4242, steps=3, width=64, height=64, sampler_name="Euler a")
        assert result.info["seed"] == 4242
        return np.asarray(result.image.convert("RGB")).tobytes()

    assert a1111_image(pool_site) == a1111_image(local_site)

    def tab_image(live):
        before = set(live.outputs_dir.rglob("*.png"))
        with chromium() as browser:
            page = open_page(browser, live, live.tokens["painter"])
            textbox(page, "generate-prompt").fill("a yellow moon")
            for elem_id, value in (("generate-width", 64), ("generate-height", 64), ("generate-steps", 5)):
                set_number(page, elem_id, value)
            page.locator("#generate-seed input").fill("321")
            page.locator("#generate-button").click()
            expect(page.locator("#generate-gallery img").first).to_be_visible(timeout=TIMEOUT_MS)
        (saved,) = set(live.outputs_dir.rglob("*.png")) - before
        with PILImage.open(saved) as image:
            return np.asarray(image.convert("RGB")).tobytes(), image.text["parameters"]

    assert tab_image(pool_site) == tab_image(local_site)  # pixels and the A1111 parameters written by the site


def test_a_replica_killed_mid_run_is_retried_on_the_other_and_the_next_run_works(pool_site, local_site, driver):
    expected = pixels_of(local_site, generate(local_site, steps=120, seed=9))
    replies = []
    worker = threading.Thread(target=lambda: replies.append(generate(pool_site, steps=120, seed=9)))
    worker.start()
    view = pool_when(pool_site, lambda v: any(r["running"] for r in v["replicas"]), timeout=60)
    (busy,) = [replica["id"] for replica in view["replicas"] if replica["running"]]
    driver.kill(driver.get_actor(f"SERVE_REPLICA::visionary-generation#Generator#{busy}", namespace="serve"))
    worker.join(300)

    assert pixels_of(pool_site, replies[0]) == expected  # retried on the other replica: same seed, same image
    assert generate(pool_site, seed=10).status_code == 200


def test_img2img_a_hires_fix_with_a_library_upscaler_and_extras_run_on_the_pool_as_locally(pool_site, local_site):
    """The init picture travels in the task; the upscaler file comes to the replica by hash like a checkpoint."""
    buffer = io.BytesIO()
    PILImage.fromarray(np.random.default_rng(3).integers(0, 256, (80, 80, 3), dtype=np.uint8)).save(buffer, "PNG")
    init = base64.b64encode(buffer.getvalue()).decode()

    def img2img(live):
        body = {"model_id": live.checkpoints["tiny_sd15"], "prompt": "a red circle", "init_image": init,
                "width": 64, "height": 64, "steps": 4, "denoising_strength": 0.6, "seed": 55}
        return requests.post(live.api("/api/v1/img2img"), headers=bearer(live.tokens["painter"]), json=body,
                             timeout=300)

    def upscaled(live):
        reply = requests.post(live.api("/api/v1/upscale"), headers=bearer(live.tokens["painter"]), timeout=300,
                              json={"image": init, "upscaler": "4x-Tiny", "width": 96, "height": 96, "crop": True})
        assert reply.status_code == 200, reply.text
        return reply.json()["image"]

    assert pixels_of(pool_site, img2img(pool_site)) == pixels_of(local_site, img2img(local_site))
    hires = {"seed": 56, "enable_hr": True, "hr_upscaler": "4x-Tiny", "hr_scale": 2, "hr_second_pass_steps": 2}
    assert pixels_of(pool_site, generate(pool_site, **hires)) == pixels_of(local_site, generate(local_site, **hires))
    assert upscaled(pool_site) == upscaled(local_site)


def test_replicas_pull_files_by_hash_refuse_a_corrupted_one_and_never_open_a_private_model(pool_site, models,
                                                                                           driver):
    checkpoint = models["tiny_sd15"].single_file
    cached = pool_site.worker_cache / sha256_of(checkpoint)[:2] / f"{sha256_of(checkpoint)}.safetensors"
    assert cached.read_bytes() == checkpoint.read_bytes()  # fetched from the site by hash (no models folder)
    assert (cached.with_suffix(".config") / "model_index.json").is_file()  # with its configs folder
    # the pool's view counts them (at least this one: a replica replaced after the kill story counts afresh)
    assert sum(replica["downloads"] for replica in pool(pool_site)["replicas"]) >= 1

    # The site's copy of tiny_y changes after it was hashed: the download no longer matches, and is refused.
    on_site = pool_site.models_dir / "Stable-diffusion" / "tiny_y.safetensors"
    expected_sha = sha256_of(on_site)
    data = bytearray(on_site.read_bytes())
    data[len(data) // 2] ^= 0xFF
    on_site.write_bytes(bytes(data))
    refused = generate(pool_site, checkpoint="tiny_y")
    assert refused.status_code == 400 and "does not match its SHA-256" in refused.json()["error"]
    assert not (pool_site.worker_cache / expected_sha[:2] / f"{expected_sha}.safetensors").exists()
    assert generate(pool_site, seed=11).status_code == 200

    # tiny_x becomes other's private model: a grant made for painter's run does not open it; one for other's does.
    pool_site.sql("UPDATE model SET visibility = 'private', owner_id = (SELECT id FROM \"user\" WHERE username = "
                  "'other') WHERE name = 'tiny_x'")
    users = dict(pool_site.sql("SELECT username, id FROM \"user\""))
    secret = driver.get(driver.get_actor(POOL_ACTOR, namespace=NAMESPACE).secret.remote())
    private_sha = sha256_of(models["tiny_x"].single_file)
    url = pool_site.api(f"/api/v1/worker/files/{private_sha}")

    def fetch(grant: str):
        return requests.get(url, headers={"X-Worker-Grant": grant}, timeout=60)

    assert fetch(sign_grant(secret, users["painter"], private_sha)).status_code == 404
    assert fetch(sign_grant(b"not the pool's secret", users["other"], private_sha)).status_code == 403
    owner = fetch(sign_grant(secret, users["other"], private_sha))
    assert owner.status_code == 200 and hashlib.sha256(owner.content).hexdigest() == private_sha
    assert generate(pool_site, checkpoint="tiny_x").status_code == 404  # and painter cannot name it at all


def test_a_worker_cache_resumes_downloads_uses_a_mounted_models_folder_and_stays_within_its_size(pool_site, models,
                                                                                                 driver, tmp_path):
    from core.generation.backend import FileRef
    from core.generation.worker_cache import FileMismatch, SiteSource, WorkerFileCache

    secret = driver.get(driver.get_actor(POOL_ACTOR, namespace=NAMESPACE).secret.remote())
    users = dict(pool_site.sql("SELECT username, id FROM \"user\""))
    owners = {"tiny_sd15": users["painter"], "tiny_x": users["other"]}  # tiny_x is other's private model by now
    files = {name: models[name].single_file for name in owners}
    refs = {name: FileRef(sha256_of(path), path.stat().st_size, str(path), f"Stable-diffusion/{path.name}", path.name)
            for name, path in files.items()}

    def source(name: str) -> SiteSource:
        return SiteSource(pool_site.url, sign_grant(secret, owners[name], refs[name].sha256))

    # A download broken halfway goes on from where it stopped: the bytes already there are kept (here they were
    # damaged, so the whole file fails its hash, is deleted, and the next try fetches it whole).
    cache = WorkerFileCache(tmp_path / "cache", max_bytes=refs["tiny_sd15"].size + 1)
    partial = tmp_path / "cache" / ".partial" / f"{refs['tiny_sd15'].sha256}.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x" * (refs["tiny_sd15"].size // 2))
    with pytest.raises(FileMismatch):
        cache.local_path(refs["tiny_sd15"], source("tiny_sd15"))
    assert not partial.exists()
    first = cache.local_path(refs["tiny_sd15"], source("tiny_sd15"))
    assert first.read_bytes() == files["tiny_sd15"].read_bytes()

    # Room for one checkpoint: the next one pushes out the least recently used.
    second = cache.local_path(refs["tiny_x"], source("tiny_x"))
    assert second.is_file() and not first.exists() and cache.downloads == 2

    # A worker with the site's models folder mounted reads it there and downloads nothing.
    mounted = WorkerFileCache(tmp_path / "mounted-cache", max_bytes=1 << 30, models_dir=pool_site.models_dir)
    assert mounted.local_path(refs["tiny_sd15"], None) == pool_site.models_dir / refs["tiny_sd15"].stored_path
    assert mounted.downloads == 0


def test_an_interrupt_stops_the_replica_within_one_step(pool_site):
    replies = []
    worker = threading.Thread(target=lambda: replies.append(generate(pool_site, width=256, height=256, steps=150)))
    worker.start()
    auth = ("painter", PASSWORD)
    deadline = time.monotonic() + 120
    while requests.get(pool_site.api("/sdapi/v1/progress"), auth=auth).json()["state"]["sampling_step"] < 3:
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)
    assert requests.post(pool_site.api("/sdapi/v1/interrupt"), auth=auth).status_code == 200
    worker.join(120)

    assert not worker.is_alive() and replies[0].status_code == 200  # A1111's interrupt: the image so far is kept
    view = pool_when(pool_site, lambda v: any(r["steps_after_last_stop"] is not None for r in v["replicas"]))
    (stopped,) = [r["steps_after_last_stop"] for r in view["replicas"] if r["steps_after_last_stop"] is not None]
    assert stopped <= 1


def test_one_users_thirty_queued_runs_do_not_hold_up_another_users_single_run(pool_site):
    finished: list[str] = []
    lock = threading.Lock()

    def run(user: str, seed: int) -> None:
        reply = generate(pool_site, user=user, seed=seed, steps=8)
        with lock:
            finished.append(f"{user} {reply.status_code}")

    painters = [threading.Thread(target=run, args=("painter", seed)) for seed in range(30)]
    for thread in painters:
        thread.start()
    view = pool_when(pool_site, lambda v: any(q["user"] == "painter" and q["waiting"] >= 20 for q in v["queue"]))
    assert any(q["user"] == "painter" and q["waiting"] >= 20 for q in view["queue"])  # shown per user to admins
    other = threading.Thread(target=run, args=("other", 99))
    other.start()
    other.join(300)
    for thread in painters:
        thread.join(300)

    at = finished.index("other 200")
    assert at <= 4  # at most the two running when it came and one more on each replica finished before it
    assert finished.count("painter 200") == 30


def test_a_cluster_that_cannot_be_reached_stops_the_start_with_one_line(tmp_path):
    address = f"{HEAD_IP}:{free_port()}"
    live = LiveServer(tmp_path, args=["--generation-backend", "ray", "--ray-address", address])
    with pytest.raises(RuntimeError, match="server exited with 2") as failed:
        live.start(timeout=60)
    assert f"the Ray cluster at {address} cannot be reached" in str(failed.value)


def test_ray_address_local_starts_a_one_machine_pool_that_makes_the_same_image(models, local_site,
                                                                               tmp_path_factory):
    home = tmp_path_factory.mktemp("one-machine")
    live = site(home, models, "--generation-backend", "ray", "--ray-address", "local", "--ray-replicas", "1",
                "--worker-cache-dir", str(home / "replicas"), env={"HOME": str(home)})  # Ray's token under home
    try:
        assert pixels_of(live, generate(live, seed=5)) == pixels_of(local_site, generate(local_site, seed=5))
        view = pool_when(live, lambda v: len(v["replicas"]) == 1)
        assert view["address"] == "local" and view["replicas"][0]["node"] == "127.0.0.2"
    finally:
        live.stop()


def test_a_lost_cluster_fails_runs_with_one_line_while_pages_keep_working_and_the_site_rejoins_it(models,
                                                                                                  tmp_path_factory):
    cluster = RayCluster(cpus_per_node=1).start()
    home = tmp_path_factory.mktemp("lost")
    live = site(home, models, "--generation-backend", "ray", "--ray-address", cluster.address, "--ray-replicas", "1",
                "--worker-cache-dir", str(home / "replicas"), env=cluster.env)
    try:
        assert generate(live, seed=3).status_code == 200
        cluster.kill_nodes()  # every machine of the cluster gone at once
        killed = time.monotonic()
        lost = generate(live, seed=4)
        assert lost.status_code == 503
        assert lost.json()["error"].startswith(f"the generation cluster at {cluster.address} cannot be reached")
        spent = cpu_seconds(live.process.pid)
        # past the minute (counted from the loss) after which Ray ends a driver whose cluster is gone
        time.sleep(max(0.0, killed + 65 - time.monotonic()))
        assert live.process.poll() is None
        assert cpu_seconds(live.process.pid) - spent < 20  # idle, not a core spent calling the gone head
        assert requests.get(live.api("/api/v1/models"), timeout=30).status_code == 200
        assert "cannot be reached" in pool(live)["error"]

        cluster.start(worker=False)  # the head is back at the same address (its replica runs there)
        assert generate(live, seed=3).status_code == 200
    finally:
        live.stop()
        cluster.stop()
