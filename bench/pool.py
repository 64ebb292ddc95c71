"""7. The Ray generation pool (``--generation-backend ray``) on a real two-node loopback cluster
(``tests.ray_cluster``), one CPU and one torch thread per replica:

- per-image time through the site, ray backend (one replica) vs local backend, tiny model 128², 20 steps;
- 16 queued requests through the site, 2 replicas vs 1: throughput;
- 30 runs over 3 checkpoints in a Zipf mix, 2 replicas, K = 1: checkpoint loads with multiplexed routing (runs go
  to the replica holding their checkpoint) vs model-blind routing (Serve's default), counted from the replicas'
  own reports.
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
ZIPF_ROUNDS = 5  # the routing of a run to a replica that holds nothing yet is random: several rounds, the median


@dataclass(frozen=True)
class Mix:
    queued: int
    zipf_runs: int
    checkpoints: int = 3


FULL_MIX, QUICK_MIX = Mix(queued=16, zipf_runs=30), Mix(queued=4, zipf_runs=6)


def ray_site(home, cluster, replicas: str, *extra: str):
    return srv.start(home, "--generation-backend", "ray", "--ray-address", cluster.address, "--ray-replicas", replicas,
                     "--ray-cpus-per-replica", "1", "--worker-cache-dir", str(home / "replicas"),
                     "--max-queued-per-user", "32", *extra, OMP_NUM_THREADS="1", **cluster.env)


def per_image(ws: Workspace, cluster, sizes: Sizes) -> Row:
    srv.add_tiny_checkpoint(ws.path("pool-local") / "models", ws.tiny)
    srv.add_tiny_checkpoint(ws.path("pool-ray") / "models", ws.tiny)
    local, pool = srv.start(ws.path("pool-local"), OMP_NUM_THREADS="1"), ray_site(ws.path("pool-ray"), cluster, "1:1")
    try:
        calls = []
        for site in (pool, local):
            headers, model_id = srv.register(site), srv.checkpoint_id(site, ws.tiny.single_file.stem)
            calls.append(lambda s=site, h=headers, m=model_id: timed(lambda: rest_call(s, h, m, sizes)))
        warm = [call() for call in calls]  # loads (and, on the pool, the download by hash)
        ours, base = alternate(sizes.rounds, *calls)
    finally:
        pool.stop()
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


def throughput(ws: Workspace, cluster, sizes: Sizes, mix: Mix) -> Row:
    seconds = {}
    for replicas in ("1:1", "2:2"):
        home = ws.path(f"pool-{replicas.replace(':', '-')}")
        srv.add_tiny_checkpoint(home / "models", ws.tiny)
        site = ray_site(home, cluster, replicas)
        try:
            headers, model_id = srv.register(site), srv.checkpoint_id(site, ws.tiny.single_file.stem)
            queued_burst(site, headers, model_id, sizes, 2 * int(replicas[0]))  # every replica loaded
            seconds[replicas] = [queued_burst(site, headers, model_id, sizes, mix.queued) for _ in range(2)]
        finally:
            site.stop()
    one, two = median(seconds["1:1"]), median(seconds["2:2"])
    return Row(f"7 {mix.queued} queued requests, 2 CPU replicas vs 1: throughput", one / two, 1.0, "×",
               f"≥ {THROUGHPUT_TARGET}×", one / two >= THROUGHPUT_TARGET,
               detail={"one_replica_s": seconds["1:1"], "two_replicas_s": seconds["2:2"]})


def zipf_sequence(checkpoints: int, runs: int) -> list[int]:
    weights = [1 / rank for rank in range(1, checkpoints + 1)]
    return random.Random(7).choices(range(checkpoints), weights=weights, k=runs)


def routing_loads(ws: Workspace, cluster, sizes: Sizes, mix: Mix) -> Row:
    """Runs sent to the site's deployment straight from here, with and without the checkpoint as the model id."""
    os.environ.update(cluster.env)  # before Ray reads its settings at import
    import ray
    from ray import serve

    from core.generation.backend import FileRef, GenerationTask
    from core.generation.diffusion import GenerationRequest
    from core.generation.file_grants import sign_grant
    from core.generation.ray_pool import APP_NAME
    from core.generation.ray_replica import NAMESPACE, POOL_ACTOR, ReplicaRun
    from tests.tiny_models import build_tiny_sd15

    home = ws.path("pool-zipf")
    models = [build_tiny_sd15(home / f"ckpt{i}", seed=i, name=f"zipf_{i}") for i in range(mix.checkpoints)]
    for tiny in models:
        srv.add_tiny_checkpoint(home / "models", tiny)
    site = ray_site(home, cluster, "2:2", "--ray-models-per-replica", "1")
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
        for _ in range(ZIPF_ROUNDS):
            rounds["multiplexed"].append(loads(True))
            rounds["blind"].append(loads(False))
    finally:
        if ray.is_initialized():
            ray.shutdown()
        site.stop()
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
    cluster = RayCluster(cpus_per_node=1).start()
    try:
        return [per_image(ws, cluster, sizes), throughput(ws, cluster, sizes, mix),
                routing_loads(ws, cluster, sizes, mix)]
    finally:
        cluster.stop()
