"""7. The Ray generation pool (``--generation-backend ray``) on a real two-node loopback cluster
(``tests.ray_cluster``), one CPU and one torch thread per replica:

- per-image time through the site, ray backend (one replica) vs local backend, tiny model 128², 20 steps;
- 16 queued requests through the site, 2 replicas vs 1: throughput;
- 30 runs over 3 checkpoints in a Zipf mix, 2 replicas, K = 1: checkpoint loads with multiplexed routing (runs go
  to the replica holding their checkpoint) vs model-blind routing (Serve's default), counted from the replicas'
  own reports.

Two ray sites in all (each start deploys the pool afresh): one replica for the per-image time and the throughput's
one-replica side, then two replicas with K = 1 for the throughput's two-replica side and the routing (with one
checkpoint, K does not change the throughput).
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from dataclasses import dataclass

from bench import server as srv
from bench.common import Row, Workspace, alternate, median, timed
from bench.txt2img import PROMPT, SEED, Sizes, rest_call

FULL = Sizes(size=128, steps=20, rounds=7)
QUICK = Sizes(size=64, steps=2, rounds=1)
PER_IMAGE_TARGET, THROUGHPUT_TARGET, LOADS_TARGET = 1.05, 1.7, 0.5


@dataclass(frozen=True)
class Mix:
    queued: int
    zipf_runs: int
    zipf_rounds: int  # the routing of a run to a replica that holds nothing yet is random: several rounds, the median
    checkpoints: int = 3


FULL_MIX, QUICK_MIX = Mix(queued=16, zipf_runs=30, zipf_rounds=5), Mix(queued=4, zipf_runs=6, zipf_rounds=1)


def ray_site(home, cluster, replicas: str, *extra: str):
    return srv.start(home, "--generation-backend", "ray", "--ray-address", cluster.address, "--ray-replicas", replicas,
                     "--ray-cpus-per-replica", "1", "--worker-cache-dir", str(home / "replicas"),
                     "--max-queued-per-user", "32", *extra, OMP_NUM_THREADS="1", **cluster.env)


def per_image(ws: Workspace, pool, sizes: Sizes) -> Row:
    """The one-replica ``pool`` site vs a site with the local backend, the same checkpoint."""
    srv.add_tiny_checkpoint(ws.path("pool-local") / "models", ws.tiny)
    local = srv.start(ws.path("pool-local"), OMP_NUM_THREADS="1")
    try:
        calls = []
        for site in (pool, local):
            headers, model_id = srv.register(site, "per_image"), srv.checkpoint_id(site, ws.tiny.single_file.stem)
            calls.append(lambda s=site, h=headers, m=model_id: timed(lambda: rest_call(s, h, m, sizes)))
        warm = [call() for call in calls]  # loads (and, on the pool, the download by hash)
        ours, base = alternate(sizes.rounds, *calls)
    finally:
        local.stop()
    o, b = median(ours), median(base)
    return Row(f"7 txt2img per image, ray backend vs local ({sizes.size}², {sizes.steps} steps)", o, b, "s",
               f"≤ {PER_IMAGE_TARGET}×", o / b <= PER_IMAGE_TARGET,
               detail={"ray_s": ours, "local_s": base, "warm_up_s": warm})


def queued_burst(site, headers: dict, model_id: int, sizes: Sizes, count: int) -> float:
    """Seconds for ``count`` requests sent at once to finish."""
    def one():
        rest_call(site, headers, model_id, sizes)

    def burst():
        threads = [threading.Thread(target=one) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return timed(burst)


def burst_seconds(ws: Workspace, site, replicas: int, sizes: Sizes, mix: Mix) -> list[float]:
    """Two bursts of ``mix.queued`` requests on a site of ``replicas`` replicas, every replica loaded first."""
    headers, model_id = srv.register(site, "burster"), srv.checkpoint_id(site, ws.tiny.single_file.stem)
    queued_burst(site, headers, model_id, sizes, 2 * replicas)  # every replica loaded
    return [queued_burst(site, headers, model_id, sizes, mix.queued) for _ in range(2)]


def throughput(seconds: dict[str, list[float]], mix: Mix) -> Row:
    one, two = median(seconds["1:1"]), median(seconds["2:2"])
    return Row(f"7 {mix.queued} queued requests, 2 CPU replicas vs 1: throughput", one / two, 1.0, "×",
               f"≥ {THROUGHPUT_TARGET}×", one / two >= THROUGHPUT_TARGET,
               detail={"one_replica_s": seconds["1:1"], "two_replicas_s": seconds["2:2"]})


def zipf_sequence(checkpoints: int, runs: int) -> list[int]:
    weights = [1 / rank for rank in range(1, checkpoints + 1)]
    return random.Random(7).choices(range(checkpoints), weights=weights, k=runs)


def zipf_checkpoints(ws: Workspace, mix: Mix) -> list:
    """The Zipf mix's checkpoints (tiny models with weights of their own)."""
    from tests.tiny_models import build_tiny_sd15

    home = ws.path("pool-zipf")
    return [build_tiny_sd15(home / f"ckpt{i}", seed=i, name=f"zipf_{i}") for i in range(mix.checkpoints)]


def routing_loads(cluster, site, models: list, sizes: Sizes, mix: Mix) -> Row:
    """Runs sent to the site's deployment (2 replicas, K = 1) straight from here, with and without the checkpoint
    as the model id."""
    os.environ.update(cluster.env)  # before Ray reads its settings at import
    import ray
    from ray import serve

    from core.generation.backend import FileRef, GenerationTask
    from core.generation.diffusion import GenerationRequest
    from core.generation.file_grants import sign_grant
    from core.generation.ray_pool import APP_NAME
    from core.generation.ray_replica import NAMESPACE, POOL_ACTOR, ReplicaRun

    try:
        srv.register(site, "zipf_user")
        ray.init(address=cluster.address, _node_ip_address=cluster.address.split(":")[0], namespace=NAMESPACE,
                 log_to_driver=False)
        secret = ray.get(ray.get_actor(POOL_ACTOR, namespace=NAMESPACE).secret.remote())
        user_id = site.sql("SELECT id FROM \"user\" WHERE username = 'zipf_user'")[0][0]
        handle = serve.get_app_handle(APP_NAME)
        request = GenerationRequest(PROMPT, width=sizes.size, height=sizes.size, steps=2, seed=SEED)

        def run_for(tiny) -> ReplicaRun:
            path = tiny.single_file
            sha = _sha256(path)
            ref = FileRef(sha, path.stat().st_size, str(path), name=path.name)
            return ReplicaRun(uuid.uuid4().hex, GenerationTask(ref, request, user_id=user_id), site.url,
                              {sha: sign_grant(secret, user_id, sha)})

        def loads(by_model: bool) -> int:
            count = 0
            for index in zipf_sequence(mix.checkpoints, mix.zipf_runs):
                run = run_for(models[index])
                options = {"stream": True, **({"multiplexed_model_id": run.task.model_id} if by_model else {})}
                *_, done = handle.options(**options).generate.remote(run)
                count += int(done[2])
            return count

        rounds = {"multiplexed": [], "blind": []}
        for _ in range(mix.zipf_rounds):
            rounds["multiplexed"].append(loads(True))
            rounds["blind"].append(loads(False))
    finally:
        if ray.is_initialized():
            ray.shutdown()
    mux, blind = median(rounds["multiplexed"]), median(rounds["blind"])
    return Row(f"7 checkpoint loads, {mix.zipf_runs} Zipf runs over {mix.checkpoints} checkpoints, 2 replicas, K = 1: "
               "multiplexed vs model-blind routing", mux, blind, "loads", f"≤ {LOADS_TARGET}×",
               mux / max(blind, 1) <= LOADS_TARGET, detail=rounds)


def _sha256(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(ws: Workspace) -> list[Row]:
    from tests.ray_cluster import RayCluster

    sizes, mix = (QUICK, QUICK_MIX) if ws.quick else (FULL, FULL_MIX)
    models = zipf_checkpoints(ws, mix)
    one_home, two_home = ws.path("pool-1-1"), ws.path("pool-2-2")
    srv.add_tiny_checkpoint(one_home / "models", ws.tiny)
    for tiny in (ws.tiny, *models):
        srv.add_tiny_checkpoint(two_home / "models", tiny)
    cluster = RayCluster(cpus_per_node=1).start()
    try:
        seconds = {}
        site = ray_site(one_home, cluster, "1:1")
        try:
            rows = [per_image(ws, site, sizes)]
            seconds["1:1"] = burst_seconds(ws, site, 1, sizes, mix)
        finally:
            site.stop()
        site = ray_site(two_home, cluster, "2:2", "--ray-models-per-replica", "1")
        try:
            seconds["2:2"] = burst_seconds(ws, site, 2, sizes, mix)
            rows.append(throughput(seconds, mix))
            rows.append(routing_loads(cluster, site, models, sizes, mix))
        finally:
            site.stop()
        return rows
    finally:
        cluster.stop()
