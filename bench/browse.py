"""6. 50 concurrent clients browsing model listings and model pages on loopback, while a generation runs.

The server's database is seeded with models (``bench.search_data``) before it
starts; the tiny checkpoint is in its models folder.  The clients
(``bench.browse_client``: coroutines in their own process, each with its own
keep-alive connection) alternate a listing page and a model page.
Rounds alternate "busy" (``POST /api/v1/txt2img`` back to back in another
thread) and "idle" (the baseline).  Any non-200 answer or failed request is an
error.  The clients run on the same 2 CPUs as the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field, replace

from bench import server as srv
from bench.common import Row, Workspace, median, p95
from bench.search_data import LibrarySizes, build_library
from bench.txt2img import rest_call
from tests.live_server import ROOT, LiveServer

TARGET_MS = 200


@dataclass(frozen=True)
class Sizes:
    clients: int
    requests: int  # per client per round
    models: int
    rounds: int  # pairs of busy + idle
    size: int  # of the generation running meanwhile
    steps: int


FULL = Sizes(clients=50, requests=20, models=2_000, rounds=3, size=128, steps=20)
WARM_UP_REQUESTS = 2
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
    from core.migrations import open_store
    from core.store import AiModel

    store = open_store(str(server.db_path))
    try:
        build_library(store.db, LibrarySizes(users=max(1, models // 10), models=models, images=0), vocab_size=5_000)
        return [row.id for row in AiModel.select(AiModel.id)]
    finally:
        store.close()


def browse(ws: Workspace, server: LiveServer, ids: list[int], sizes: Sizes, round_index: int) -> Samples:
    """One round of the clients (``bench.browse_client``, a separate process)."""
    plan = ws.path("browse") / "plan.json"
    plan.write_text(json.dumps({"base": server.url, "ids": ids, "clients": sizes.clients, "requests": sizes.requests,
                                "seed": round_index * 1000}))
    out = subprocess.run([sys.executable, "-m", "bench.browse_client", str(plan)], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=900)
    result = json.loads(out.stdout)
    return Samples(result["latencies"], result["errors"], result["seconds"])


def warm_up(ws: Workspace, server: LiveServer, ids: list[int], sizes: Sizes) -> None:
    """Every client asks two pages (other pages than the measured ones) before timing: the server's worker
    threads open their database connections and first-use imports happen, as on any server that has been up."""
    browse(ws, server, ids, replace(sizes, requests=WARM_UP_REQUESTS), -1)


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
        warm_up(ws, server, ids, sizes)
        with ws.profiled(server.process.pid, "browse"):
            for index in range(sizes.rounds):
                with srv.GenerationLoop(lambda: rest_call(server, headers, model_id, sizes)) as loop:
                    merge(busy, browse(ws, server, ids, sizes, 2 * index))
                generations += loop.runs
                merge(idle, browse(ws, server, ids, sizes, 2 * index + 1))
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
