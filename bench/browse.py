"""6. 50 concurrent clients browsing model listings and model pages on loopback, while a generation runs.

The server's database is seeded with models (``bench.search_data``) before it
starts; the tiny checkpoint is in its models folder.  Each client is a thread
with its own keep-alive session, alternating a listing page and a model page.
Rounds alternate "busy" (``POST /api/v1/txt2img`` back to back in another
thread) and "idle" (the baseline).  Any non-200 answer or failed request is an
error.  The clients run on the same 2 CPUs as the server.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import requests

from bench import server as srv
from bench.common import Row, Workspace, median, p95
from bench.search_data import LibrarySizes, build_library
from bench.txt2img import rest_call
from tests.live_server import LiveServer

TARGET_MS = 200
SORTS = ("newest", "most_liked", "most_downloaded")


@dataclass(frozen=True)
class Sizes:
    clients: int
    requests: int  # per client per round
    models: int
    rounds: int  # pairs of busy + idle
    size: int  # of the generation running meanwhile
    steps: int


FULL = Sizes(clients=50, requests=20, models=2_000, rounds=2, size=128, steps=20)
QUICK = Sizes(clients=4, requests=3, models=20, rounds=1, size=64, steps=2)


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the rounds

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def seed_database(server: LiveServer, models: int) -> list[int]:
    """Models (with their versions, files and owners) written before the server starts; returns their ids."""
    from core.store import AiModel, Store

    store = Store(str(server.db_path))
    try:
        build_library(store.db, LibrarySizes(users=max(1, models // 10), models=models, images=0), vocab_size=5_000)
        return [row.id for row in AiModel.select(AiModel.id)]
    finally:
        store.close()


def client(server: LiveServer, ids: list[int], count: int, seed: int, start: threading.Barrier, out: Samples) -> None:
    rng, session = random.Random(seed), requests.Session()
    pages = max(1, len(ids) // 20)
    start.wait()
    for index in range(count):
        if index % 2:
            url = server.api(f"/api/v1/models/{rng.choice(ids)}")
        else:
            url = server.api(f"/api/v1/models?page={rng.randint(1, pages)}&limit=20&sort={rng.choice(SORTS)}")
        began = time.perf_counter()
        try:
            status = session.get(url, timeout=60).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        out.latencies.append(time.perf_counter() - began)
        if status != 200:
            out.errors.append(f"{status} {url}")
    session.close()


def browse(server: LiveServer, ids: list[int], sizes: Sizes, round_index: int) -> Samples:
    samples, start = Samples(), threading.Barrier(sizes.clients + 1)
    threads = [threading.Thread(target=client, args=(server, ids, sizes.requests, round_index * 1000 + n, start,
                                                     samples)) for n in range(sizes.clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    samples.seconds = time.perf_counter() - began
    return samples


def run(ws: Workspace) -> list[Row]:
    sizes = QUICK if ws.quick else FULL
    server = LiveServer(ws.path("browse"))
    ids = seed_database(server, sizes.models)
    srv.add_tiny_checkpoint(server.models_dir, ws.tiny)
    srv.launch(server)
    busy, idle, generations = Samples(), Samples(), 0
    try:
        headers, model_id = srv.register(server), srv.checkpoint_id(server, ws.tiny.single_file.stem)
        rest_call(server, headers, model_id, sizes)  # the checkpoint is loaded before timing
        with ws.profiled(server.process.pid, "browse"):
            for index in range(sizes.rounds):
                with srv.GenerationLoop(lambda: rest_call(server, headers, model_id, sizes)) as loop:
                    merge(busy, browse(server, ids, sizes, 2 * index))
                generations += loop.runs
                merge(idle, browse(server, ids, sizes, 2 * index + 1))
    finally:
        server.stop()
    o, b = p95(busy.latencies) * 1000, p95(idle.latencies) * 1000
    errors = busy.errors + idle.errors
    return [Row(f"6 browse: {sizes.clients} clients p95, generating vs idle", o, b, "ms",
                f"≤ {TARGET_MS} ms, 0 errors", o <= TARGET_MS and not errors,
                detail={"requests": len(busy.latencies) + len(idle.latencies), "errors": len(errors),
                        "first_errors": errors[:5], "generations_during_busy": generations,
                        "median_ms": {"busy": median(busy.latencies) * 1000, "idle": median(idle.latencies) * 1000},
                        "requests_per_s": {"busy": busy.per_second, "idle": idle.per_second}})]


def merge(into: Samples, more: Samples) -> None:
    into.latencies += more.latencies
    into.errors += more.errors
    into.seconds += more.seconds
