"""6. 50 concurrent clients browsing model listings and model pages on loopback, while a generation runs.

The server's database is seeded with models (``bench.search_data``) before it
starts; the tiny checkpoint is in its models folder.  The clients
(``bench.browse_client``: coroutines in their own process, each with its own
keep-alive connection) alternate a listing page and a model page.
Rounds alternate "busy" (``POST /api/v1/txt2img`` back to back in another
thread) and "idle" (the baseline).  Any non-200 answer or failed request is an
error.  The clients run on the same 2 CPUs as the server.  Measured twice: one
app process on SQLite, and two app processes on one PostgreSQL database (the
clients spread over both, as behind a balancer; the generation runs in the
first).
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
    from core.tables import AiModel

    store = open_store(server.database)
    try:
        build_library(store.db, LibrarySizes(users=max(1, models // 10), models=models, images=0), vocab_size=5_000)
        return [row.id for row in AiModel.select(AiModel.id)]
    finally:
        store.close()


def browse(ws: Workspace, servers: list[LiveServer], ids: list[int], sizes: Sizes, round_index: int) -> Samples:
    """One round of the clients (``bench.browse_client``, a separate process), spread over ``servers``."""
    plan = ws.path("browse") / "plan.json"
    plan.write_text(json.dumps({"bases": [server.url for server in servers], "ids": ids, "clients": sizes.clients,
                                "requests": sizes.requests, "seed": round_index * 1000}))
    out = subprocess.run([sys.executable, "-m", "bench.browse_client", str(plan)], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=900)
    result = json.loads(out.stdout)
    return Samples(result["latencies"], result["errors"], result["seconds"])


def warm_up(ws: Workspace, servers: list[LiveServer], ids: list[int], sizes: Sizes) -> None:
    """Every client asks two pages (other pages than the measured ones) before timing: the server's worker
    threads open their database connections and first-use imports happen, as on any server that has been up."""
    browse(ws, servers, ids, replace(sizes, requests=WARM_UP_REQUESTS), -1)


def measure(ws: Workspace, servers: list[LiveServer], sizes: Sizes, label: str) -> Row:
    """Seed the site's database, start its processes, and time the clients busy and idle."""
    first = servers[0]
    ids = seed_database(first, sizes.models)
    srv.add_tiny_checkpoint(first.models_dir, ws.tiny)
    for server in servers:
        srv.launch(server)
    busy, idle, generations = Samples(), Samples(), 0
    try:
        headers, model_id = srv.register(first), srv.checkpoint_id(first, ws.tiny.single_file.stem)
        rest_call(first, headers, model_id, sizes)  # the checkpoint is loaded before timing
        warm_up(ws, servers, ids, sizes)
        with ws.profiled(first.process.pid, f"browse-{len(servers)}"):
            for index in range(sizes.rounds):
                with srv.GenerationLoop(lambda: rest_call(first, headers, model_id, sizes)) as loop:
                    merge(busy, browse(ws, servers, ids, sizes, 2 * index))
                generations += loop.runs
                merge(idle, browse(ws, servers, ids, sizes, 2 * index + 1))
    finally:
        for server in servers:
            server.stop()
    o, b = p95(busy.latencies) * 1000, p95(idle.latencies) * 1000
    errors = busy.errors + idle.errors
    return Row(f"6 browse: {sizes.clients} clients p95{label}, generating vs idle", o, b, "ms",
                f"≤ {TARGET_MS} ms, 0 errors", o <= TARGET_MS and not errors,
                detail={"requests": len(busy.latencies) + len(idle.latencies), "errors": len(errors),
                        "first_errors": errors[:5], "generations_during_busy": generations,
                        "median_ms": {"busy": median(busy.latencies) * 1000, "idle": median(idle.latencies) * 1000},
                        "requests_per_s": {"busy": busy.per_second, "idle": idle.per_second}})


def run(ws: Workspace) -> list[Row]:
    from tests.postgres import PostgresServer

    sizes = QUICK if ws.quick else FULL
    rows = [measure(ws, [LiveServer(ws.path("browse"))], sizes, "")]
    postgres = PostgresServer().start()
    try:
        url, home = postgres.new_database("browse"), ws.path("browse-pg")
        rows.append(measure(ws, [LiveServer(home, database_url=url), LiveServer(home, database_url=url)], sizes,
                            " (2 processes, PostgreSQL)"))
    finally:
        postgres.stop()
    return rows


def merge(into: Samples, more: Samples) -> None:
    into.latencies += more.latencies
    into.errors += more.errors
    into.seconds += more.seconds
