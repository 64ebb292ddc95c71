"""Issue 15, finding 4: one user must not be able to stop generation for everyone.

Against the real app with the tiny checkpoint: a request far beyond what the
device can do is refused up front (REST, /sdapi and the Generate tab) with the
numbers and the setting that changes them; users take turns in the queue, so
one user's 50 waiting runs do not hold up another user's one; one user may have
only ``--max-queued-per-user`` runs waiting or running; and stopping the server
stops a running generation and its process instead of waiting for it.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests
from gradio_client import Client
from gradio_client.exceptions import AppError

from core.generation.limits import CPU, DEFAULT_WORK, GPU, device_kind, work_limit
from tests.conftest import bearer, register, without_demo
from tests.live_server import LiveServer
from tests.tiny_models import build_tiny_sd15

HUGE = {"prompt": "everything at once", "width": 2048, "height": 2048, "steps": 150, "batch_size": 8}
SMALL = {"prompt": "a small one", "width": 64, "height": 64, "steps": 2}
# Long enough to be caught running (Heun: two model calls a step), and always stopped by the test.
LONG = {"prompt": "a long one", "width": 256, "height": 256, "steps": 150, "sampler_name": "Heun"}
# Minutes of work (8 images), for servers started with a larger --max-work-per-request.
LONGER = LONG | {"width": 512, "height": 512, "batch_size": 8}
TIMEOUT = 300


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_sd15(tmp_path_factory.mktemp("tiny"))


def tiny_app(home: Path, tiny, *args: str) -> LiveServer:
    """The app on the CPU with the tiny checkpoint in models_dir, an admin, and the checkpoint's id."""
    live = LiveServer(home, args=["--device", "cpu", *args])
    checkpoints = live.models_dir / "Stable-diffusion"
    checkpoints.mkdir(parents=True)
    shutil.copy(tiny.single_file, checkpoints / tiny.single_file.name)
    shutil.copytree(tiny.single_file_config, checkpoints / tiny.single_file_config.name)
    live.start()
    deadline = time.monotonic() + 60
    while not (models := without_demo(requests.get(live.api("/api/v1/models"), timeout=30).json()["items"])):
        assert time.monotonic() < deadline, live.log()
        time.sleep(0.3)
    live.checkpoint_id = models[0]["id"]
    register(live, "site_admin")  # the first account is the admin; the users below are ordinary ones
    return live


@pytest.fixture(scope="module")
def app(tiny, tmp_path_factory):
    """Default limits on the CPU: 40 megapixel-steps a request, 4 runs per user."""
    live = tiny_app(tmp_path_factory.mktemp("limits"), tiny)
    yield live
    live.stop()


# --------------------------------------------------------------------------- helpers
def txt2img(server: LiveServer, token: str, **fields) -> requests.Response:
    body = {"model_id": server.checkpoint_id, "seed": 1} | SMALL | fields
    return requests.post(server.api("/api/v1/txt2img"), headers=bearer(token), json=body, timeout=TIMEOUT)


def sdapi_txt2img(server: LiveServer, token: str, **fields) -> requests.Response:
    return requests.post(server.api("/sdapi/v1/txt2img"), headers=bearer(token), json={"seed": 1} | SMALL | fields,
                         timeout=TIMEOUT)


class Background:
    """A request on its own thread."""

    def __init__(self, call, *args, **kwargs):
        self.reply: requests.Response | None = None
        self.thread = threading.Thread(target=self._run, args=(call, args, kwargs))
        self.thread.start()

    def _run(self, call, args, kwargs):
        self.reply = call(*args, **kwargs)

    def join(self) -> requests.Response:
        self.thread.join(TIMEOUT)
        assert self.reply is not None
        return self.reply


def progress(server: LiveServer, token: str) -> dict:
    reply = requests.get(server.api("/sdapi/v1/progress"), headers=bearer(token), timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def wait_progress(server: LiveServer, token: str, condition) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while not condition(current := progress(server, token)):
        assert time.monotonic() < deadline, current
        time.sleep(0.05)
    return current


def running(state: dict) -> bool:
    return state["queue_position"] == 0 and state["state"]["sampling_step"] >= 1


def job_count(state: dict) -> int:
    return state["state"]["job_count"]


def interrupt(server: LiveServer, token: str, job: str | None = None) -> None:
    reply = requests.post(server.api("/sdapi/v1/interrupt"), headers=bearer(token), timeout=60,
                          params={"job": job} if job else None)
    assert reply.status_code == 200, reply.text


def made_so_far(server: LiveServer) -> tuple[list[Path], int]:
    """The PNGs in outputs/ and the image rows in the database."""
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute("SELECT COUNT(*) FROM image").fetchone()[0]
    return sorted(server.outputs_dir.rglob("*.png")), rows


def image_ids(replies: list[requests.Response]) -> list[int]:
    return [image["id"] for reply in replies for image in reply.json()["images"]]


# --------------------------------------------------------------------------- the work budget
def test_the_default_budget_follows_the_device_and_the_setting_wins():
    assert device_kind("cpu") == CPU and device_kind("cuda:1") == GPU and device_kind("mps") == GPU
    assert work_limit(None, "cpu") == (DEFAULT_WORK[CPU], CPU) == (40.0, CPU)
    assert work_limit(None, "cuda") == (4000.0, GPU)
    assert work_limit(2.5, "cuda") == (2.5, GPU)
    assert device_kind("auto") in (CPU, GPU)  # decided without torch (tests/test_generation_worker.py checks that)


def test_a_huge_request_is_refused_everywhere_with_the_numbers_and_nothing_is_made(app, tmp_path):
    user = register(app)
    before = made_so_far(app)
    for reply in (txt2img(app, user["token"], **HUGE), sdapi_txt2img(app, user["token"], **HUGE)):
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert "5033.2 megapixel-steps (2048×2048 px × 150 steps × 8 images)" in error, error
        assert "more than the 40 this server allows per request on its CPU" in error
        assert "--max-work-per-request" in error
    assert reply.json()["detail"] == error  # /sdapi's A1111 clients read "detail"
    # A1111's n_iter batches count as images too.
    split = sdapi_txt2img(app, user["token"], **(HUGE | {"batch_size": 2, "n_iter": 4}))
    assert split.status_code == 400 and "8 images" in split.json()["error"]

    for language, words in (("en", ("5033.2 megapixel-steps", "40", "--max-work-per-request")),
                            ("zh-CN", ("5033.2 百万像素·步", "40", "--max-work-per-request"))):
        client = Client(app.url, analytics_enabled=False, verbose=False, download_files=str(tmp_path),
                        headers={"Cookie": f"visionary_session={user['token']}", "Accept-Language": language})
        with pytest.raises(AppError) as refused:
            client.predict("everything at once", "", app.checkpoint_id, 0, "Euler a", "automatic", 150, 2048, 2048,
                           7, 1, 8, api_name="/txt2img")
        assert all(word in str(refused.value) for word in words), (language, str(refused.value))
    assert job_count(progress(app, user["token"])) == 0  # nothing was queued
    assert made_so_far(app) == before  # and nothing was made


def test_a_request_whose_single_steps_are_too_large_to_cancel_soon_is_refused(app, tmp_path):
    """Within the budget in megapixel-steps, but one step of 2048² × 2 images would take minutes on a CPU, and a
    cancel is seen between steps: at most an eighth of the budget (5 megapixels on the CPU) per step."""
    user = register(app)
    before = made_so_far(app)
    wide_and_short = {"width": 2048, "height": 2048, "steps": 1, "batch_size": 2}
    for reply in (txt2img(app, user["token"], **wide_and_short), sdapi_txt2img(app, user["token"], **wide_and_short)):
        assert reply.status_code == 400, reply.text
        assert "one step of this generation is 8.39 megapixels (2048×2048 px × 2 images), more than the 5 this " \
               "server allows in one step on its CPU" in reply.json()["error"]
    client = Client(app.url, analytics_enabled=False, verbose=False, download_files=str(tmp_path),
                    headers={"Cookie": f"visionary_session={user['token']}", "Accept-Language": "zh-CN"})
    with pytest.raises(AppError) as refused:
        client.predict("wide", "", app.checkpoint_id, 0, "Euler a", "automatic", 1, 2048, 2048, 7, 1, 2,
                       api_name="/txt2img")
    assert "8.39 百万像素" in str(refused.value) and "取消" in str(refused.value)
    assert job_count(progress(app, user["token"])) == 0 and made_so_far(app) == before


# --------------------------------------------------------------------------- the per-user cap
def test_a_fifth_run_of_one_user_is_refused_with_429_and_other_users_are_not_affected(app):
    alice, bob = register(app), register(app)
    long = Background(txt2img, app, alice["token"], **LONG)
    wait_progress(app, alice["token"], running)
    waiting = [Background(txt2img, app, alice["token"]) for _ in range(3)]
    wait_progress(app, alice["token"], lambda state: job_count(state) == 4)

    for reply in (txt2img(app, alice["token"]), sdapi_txt2img(app, alice["token"])):
        assert reply.status_code == 429, reply.text
        assert "you already have 4 generations waiting or running" in reply.json()["error"]
        assert int(reply.headers["Retry-After"]) >= 1
    assert job_count(progress(app, alice["token"])) == 4  # the refused runs were not queued
    bobs = Background(txt2img, app, bob["token"])
    assert wait_progress(app, bob["token"], lambda state: job_count(state) == 1)["queue_position"] >= 1

    interrupt(app, alice["token"])  # all of alice's: the waiting ones never start, the running one stops
    assert bobs.join().status_code == 200 and len(bobs.join().json()["images"]) == 1
    assert long.join().status_code == 200
    assert [run.join().json()["images"] for run in waiting] == [[], [], []]


# --------------------------------------------------------------------------- users take turns
def test_another_users_run_starts_right_after_the_running_one_not_after_fifty_waiting(tiny, tmp_path_factory):
    server = tiny_app(tmp_path_factory.mktemp("turns"), tiny, "--max-queued-per-user", "50",
                      "--max-work-per-request", "1000")
    try:
        alice, bob = register(server), register(server)
        long = Background(txt2img, server, alice["token"], **LONGER)
        long_job = wait_progress(server, alice["token"], running)["state"]["job"]
        flood = [Background(txt2img, server, alice["token"], seed=i) for i in range(49)]
        wait_progress(server, alice["token"], lambda state: job_count(state) == 50)
        refused = txt2img(server, alice["token"])  # the 51st: over this server's cap
        assert refused.status_code == 429 and "already have 50 generations" in refused.json()["error"]

        bobs = Background(sdapi_txt2img, server, bob["token"])
        waiting = wait_progress(server, bob["token"], lambda state: job_count(state) == 1)
        assert waiting["queue_position"] == 1  # ahead of alice's 49 waiting runs
        interrupt(server, alice["token"], long_job)  # only the long one: her 49 others go on
        bob_reply, long_reply = bobs.join(), long.join()
        flood_replies = [run.join() for run in flood]
    finally:
        server.stop()
    assert bob_reply.status_code == 200 and len(bob_reply.json()["images"]) == 1
    assert long_reply.status_code == 200
    assert all(reply.status_code == 200 for reply in flood_replies)
    with sqlite3.connect(server.db_path) as db:  # image rows are made in the order the runs ran
        owners = [row[0] for row in db.execute("SELECT owner_id FROM image ORDER BY id")]
    alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]
    long_images = len(long_reply.json()["images"])  # made before the interrupt
    assert long_images >= 1 and owners == [alice_id] * long_images + [bob_id] + [alice_id] * 49


# --------------------------------------------------------------------------- shutting down
def generation_processes(server_pid: int) -> list[int]:
    """The server's generation process(es): its children started by multiprocessing's spawn."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == server_pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def is_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def open_page_stream(server: LiveServer) -> requests.Response:
    """What an open browser tab holds: Gradio's event stream, which never ends by itself."""
    stream = requests.get(server.api("/gradio_api/queue/data"), params={"session_hash": "an_open_tab"},
                          stream=True, timeout=TIMEOUT)
    assert stream.status_code == 200
    return stream


def test_stopping_the_server_stops_a_running_generation_instead_of_waiting_for_it(tiny, tmp_path_factory):
    """Shutdown within 5 s (finding 4: it took 15 s), with a run in flight and a browser tab's stream open."""
    server = tiny_app(tmp_path_factory.mktemp("shutdown"), tiny, "--max-work-per-request", "1000")
    try:
        user = register(server)
        run = Background(sdapi_txt2img, server, user["token"], **LONGER)
        wait_progress(server, user["token"], running)
        [child] = generation_processes(server.process.pid)
        tab = open_page_stream(server)
        asked = time.monotonic()
        server.process.terminate()
        server.process.wait(60)  # uvicorn waits for open requests: this one no longer waits for its images
        stopped_after = time.monotonic() - asked
        reply = run.join()
        tab.close()
    finally:
        server.stop()
    assert stopped_after < 5, f"the server took {stopped_after:.1f} s to stop"
    assert reply.status_code == 503, reply.text
    assert reply.json()["error"] == "the app is shutting down; the generation was stopped"
    assert not is_running(child)
