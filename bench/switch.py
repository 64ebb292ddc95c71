"""2. Switching back to a cached checkpoint vs a cold load of the same file.

In process, with the app's own ``PipelineCache`` and ``load_pipeline`` (what the
generation process runs for a txt2img job, ``core.generation.worker``): two tiny
checkpoints A and B are cached; each round uses B,
then times getting A back.  The baseline loads A from its file again ("cold":
not in the model cache; the file itself is in the OS page cache, which favours
the baseline).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.common import Row, Workspace, alternate, median, quiet_diffusers, timed

TARGET = 0.01


@dataclass(frozen=True)
class Sizes:
    rounds: int


FULL = Sizes(rounds=5)
QUICK = Sizes(rounds=1)


def other_checkpoint(ws: Workspace):
    """A second tiny checkpoint (other weights), single file + configs."""
    from tests.tiny_models import save_tiny_single_file, tiny_sd15_pipeline

    return save_tiny_single_file(tiny_sd15_pipeline(seed=1), ws.path("switch"), "other")[0]


def run(ws: Workspace) -> list[Row]:
    from core.pipeline import PipelineCache, load_pipeline

    quiet_diffusers()
    sizes = QUICK if ws.quick else FULL
    path_a, path_b = ws.tiny.single_file, other_checkpoint(ws)
    cache = PipelineCache(2)
    first_a = cache.get_or_load("a", lambda: load_pipeline(path_a))
    cache.get_or_load("b", lambda: load_pipeline(path_b))
    hits = []

    def switch_back() -> float:
        cache.get_or_load("b", lambda: load_pipeline(path_b))  # B in use...
        seconds = timed(lambda: hits.append(cache.get_or_load("a", lambda: load_pipeline(path_a))))  # ...back to A
        return seconds

    def cold_load() -> float:
        return timed(lambda: load_pipeline(path_a))

    with ws.profiled(os.getpid(), "switch"):
        ours, base = alternate(sizes.rounds, switch_back, cold_load)
    reloaded = sum(pipe is not first_a for pipe in hits)
    o, b = median(ours), median(base)
    return [Row("2 switch back to cached checkpoint vs cold load", o * 1000, b * 1000, "ms", f"≤ {TARGET}×",
                o / b <= TARGET and not reloaded,
                detail={"ours_s": ours, "baseline_s": base, "cache_misses_on_switch": reloaded})]
