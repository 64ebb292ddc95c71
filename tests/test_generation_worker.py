"""The generation process: the real tiny checkpoint loaded and run in a child process, as the app does.

What a user would notice: the same image as a run in the server's own process, progress
as it goes, a stop that stops, a broken checkpoint named as such, and a crashed
process (out of memory, killed) that fails only the run in flight, with a message,
while the next generation works.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from core.generation.backend import FileRef, GenerationCrashed, GenerationTask
from core.generation.diffusion import GenerationRequest
from core.generation.worker import WORKER_NICE, GenerationWorker
from core.pipeline import ModelLoadError
from tests.tiny_models import build_tiny_sd15


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_sd15(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def worker():
    generator = GenerationWorker(cache_models=1)
    yield generator
    generator.close()


def task(tiny, **overrides) -> GenerationTask:
    fields = dict(prompt="a photo of a cat", negative_prompt="blurry", width=64, height=64, steps=4, seed=7)
    fields.update(overrides)
    return GenerationTask(checkpoint=file_ref(tiny.single_file), request=GenerationRequest(**fields), device="cpu")


def file_ref(path) -> FileRef:
    """A file as the app names it to a generator (the hash is the cache key; these tests never fetch by it)."""
    return FileRef(sha256=f"sha256-of-{path.name}", size=path.stat().st_size, path=str(path), name=path.name)


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_the_child_makes_the_image_an_in_process_run_makes_and_keeps_the_checkpoint_loaded(tiny, worker):
    from core.generation.diffusion import generate
    from core.pipeline import load_pipeline

    steps = []
    first = worker.run(task(tiny, batch_size=2), report=lambda step, total: steps.append((step, total)))
    again = worker.run(task(tiny))
    local = generate(load_pipeline(tiny.single_file, device="cpu"), task(tiny, batch_size=2).request)

    assert worker.pid not in (None, os.getpid())
    assert [seed for _, seed in first.images] == [7, 8]
    for (image, _), (expected, _) in zip(first.images, local):
        assert np.abs(pixels(image) - pixels(expected)).max() <= 1
    assert steps[-1] == (8, 8) and len(steps) == 8  # both images' steps, in order
    assert first.loaded and not again.loaded  # the second run found it in the child's cache
    assert np.array_equal(pixels(again.images[0][0]), pixels(first.images[0][0]))


def test_a_stop_ends_the_run_after_the_current_step(tiny, worker):
    worker.run(task(tiny, steps=1))  # loaded, so the run below is only steps
    reached = threading.Event()
    steps = []

    def report(step, total):
        steps.append(step)
        if step >= 2:
            reached.set()

    outcome = worker.run(task(tiny, steps=60), report=report, should_stop=reached.is_set)
    assert len(outcome.images) == 1  # the image made so far, decoded as it is (A1111's interrupt)
    assert 2 <= max(steps) < 60


def test_a_broken_checkpoint_is_reported_as_one_and_the_child_goes_on(tiny, worker, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(ModelLoadError):
        worker.run(GenerationTask(checkpoint=file_ref(broken), request=task(tiny).request, device="cpu"))
    assert len(worker.run(task(tiny, steps=1)).images) == 1


def test_a_killed_child_fails_the_run_in_flight_with_a_message_and_the_next_run_starts_a_new_one(tiny, worker):
    worker.run(task(tiny, steps=1))
    first_pid, started = worker.pid, threading.Event()

    def kill_at_first_step(step, total):
        if not started.is_set():
            started.set()
            os.kill(first_pid, signal.SIGKILL)

    with pytest.raises(GenerationCrashed, match="generation process stopped .*try again"):
        worker.run(task(tiny, steps=150), report=kill_at_first_step)
    assert len(worker.run(task(tiny, steps=1)).images) == 1
    assert worker.pid not in (None, first_pid)


def test_a_child_that_died_between_generations_is_replaced_by_the_next_one(tiny, worker):
    worker.run(task(tiny, steps=1))
    gone = worker.pid
    os.kill(gone, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while worker.pid is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(worker.run(task(tiny, steps=1)).images) == 1
    assert worker.pid not in (None, gone)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX nice values")
def test_the_child_runs_at_a_lower_cpu_priority_than_the_web_server(tiny, worker):
    worker.run(task(tiny, steps=1))
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE, 19)


def long_run_started(tiny, worker) -> tuple[threading.Thread, list[str]]:
    """A 150-step run on a thread, once its first step is done; the thread and the errors it will have met."""
    worker.run(task(tiny, steps=1))
    errors, first_step = [], threading.Event()

    def generate_long():
        try:
            worker.run(task(tiny, steps=150), report=lambda step, total: first_step.set())
        except GenerationCrashed as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=generate_long)
    thread.start()
    assert first_step.wait(60)
    return thread, errors


def test_a_run_in_flight_fails_with_a_message_when_the_app_closes(tiny, worker):
    thread, errors = long_run_started(tiny, worker)
    worker.close()
    thread.join(30)
    assert not thread.is_alive() and errors and "shutting down" in errors[0]
    assert worker.pid is None


def is_running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_closing_kills_a_generation_process_that_does_not_stop_by_itself(tiny, worker):
    """A run frozen in the middle of a step (here: SIGSTOP; in life: one enormous step or a hung device) cannot
    read the quit message; the app's shutdown kills it after ``QUIT_GRACE_S`` instead of waiting for it."""
    thread, errors = long_run_started(tiny, worker)
    frozen = worker.pid
    os.kill(frozen, signal.SIGSTOP)
    worker.close()
    thread.join(30)
    assert not thread.is_alive() and errors == ["the app is shutting down; the generation was stopped"]
    assert not is_running(frozen) and worker.pid is None


SERVER_WITHOUT_TORCH = """
import json, sys
import visionary_app
from core.config import load_config
context = visionary_app.build_context(load_config(sys.argv[1:]))
visionary_app.build_app(context)
report = context.rescan_models()
print(json.dumps({"torch": "torch" in sys.modules, "diffusers": "diffusers" in sys.modules, "added": report.added}))
"""


def test_the_web_server_starts_and_scans_checkpoints_without_loading_torch(tiny, tmp_path):
    """torch and diffusers live in the generation process only: the server starts faster and stays ~200 MB
    smaller, even while it checks the demo model and a dropped-in checkpoint."""
    import json
    import shutil
    import subprocess

    from tests.live_server import ROOT, offline_env

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tiny.single_file, models / tiny.single_file.name)
    out = subprocess.run([sys.executable, "-c", SERVER_WITHOUT_TORCH, "--db", str(tmp_path / "app.db"),
                          "--models-dir", str(models), "--outputs-dir", str(tmp_path / "outputs")],
                         cwd=ROOT, env=offline_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"torch": False, "diffusers": False, "added": 1}
