"""5. Start-up with 1,000 unchanged files in ``models_dir/`` vs an empty folder.

Both servers are started once first (the full one hashes its files then, and
both databases exist).  Each timed start measures, from spawning the process:
"ready" (``/api/v1/health`` answers) and "scanned" (the start-up scan of the
models folder has logged its report).  The scan runs in the background, so
"scanned" is the stricter figure and the one compared.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass

from bench import server as srv
from bench.common import Row, Workspace, alternate, median, wait_until
from tests.live_server import LiveServer

TARGET_S = 2.0
HASHED = re.compile(r"'hashed': (\d+)")


@dataclass(frozen=True)
class Sizes:
    files: int
    rounds: int


FULL = Sizes(files=1000, rounds=3)
QUICK = Sizes(files=10, rounds=1)


def fill(server: LiveServer, count: int) -> None:
    """``count`` distinct small LoRA files (kohya layout, ~40 kB each) under ``models_dir/Lora``."""
    from tests.sample_files import kohya_lora

    for index in range(count):
        kohya_lora(server.models_dir / "Lora" / f"style_{index:04d}.safetensors", seed=index)


def timed_start(server: LiveServer, timings: dict[str, list[float]]) -> float:
    """Start, wait for the scan's report, stop; returns the seconds to "scanned"."""
    scans = srv.scans_logged(server)
    started = time.perf_counter()
    srv.launch(server)
    timings["ready"].append(time.perf_counter() - started)
    wait_until(lambda: srv.scans_logged(server) > scans, 600, 0.02, "start-up scan")
    scanned = time.perf_counter() - started
    server.stop()
    timings["scanned"].append(scanned)
    return scanned


def last_hashed(server: LiveServer) -> int:
    """Files the last scan read to hash (0: every hash came from the cache)."""
    return int(HASHED.findall(server.log())[-1])


def run(ws: Workspace) -> list[Row]:
    sizes = QUICK if ws.quick else FULL
    full, empty = LiveServer(ws.path("startup-full")), LiveServer(ws.path("startup-empty"))
    fill(full, sizes.files)
    for server in (full, empty):  # first starts: hash everything, create the databases
        srv.launch(server)
        wait_until(functools.partial(srv.scans_logged, server), 600, 0.1, "first scan")
        server.stop()
    timings = {"full": {"ready": [], "scanned": []}, "empty": {"ready": [], "scanned": []}}
    ours, base = alternate(sizes.rounds, lambda: timed_start(full, timings["full"]),
                           lambda: timed_start(empty, timings["empty"]))
    o, b = median(ours), median(base)
    hashed = last_hashed(full)
    return [Row(f"5 start-up: {sizes.files} unchanged files vs empty models_dir", o, b, "s", f"≤ +{TARGET_S:g} s",
                o - b <= TARGET_S and hashed == 0,
                detail={"timings_s": timings, "files_hashed_on_restart": hashed,
                        "ready_median_s": {k: median(v["ready"]) for k, v in timings.items()}})]
