"""The generation replica: a Ray Serve deployment that makes images on a worker machine (``--generation-backend ray``).

Each replica keeps its own LRU of loaded pipelines through Serve's model multiplexing (the model id is the
checkpoint's SHA-256 plus the VAE's, ``GenerationTask.model_id``), so Serve routes a run to a replica that already
holds its checkpoint. Files come by hash from ``core.generation.worker_cache`` (its cache, a shared mount, or the
site with the run's grant). An ``UpscaleTask`` (the Extras tab) runs on a replica too, its networks in a small
cache of their own. A run streams ``("progress", step, total)`` while it denoises and ends with one
``("done", images, loaded, details)`` or ``("failed", kind, message)``.

Interrupt and skip travel through one small named actor, ``PoolState`` (which also holds the pool's grant secret
and the replicas' heartbeats for the Admin tab): the web server signals a run there, and a watcher thread in the
replica polls it while runs are in flight, so the denoise loop's step hook only reads a local flag.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import threading
import time
from dataclasses import dataclass, field

from core.generation.backend import FileRef, GenerationTask, UpscaleTask

POOL_ACTOR = "visionary-generation-pool"
NAMESPACE = "visionary"
HEARTBEAT_S = 2.0
SIGNAL_WAIT_S = 1.0  # a busy replica's long poll for interrupt/skip requests (answered at once when one comes)
UPSCALERS_KEPT = 2  # upscaler networks a replica keeps loaded, apart from the multiplexed checkpoints
PROGRESS_INTERVAL_S = 0.05  # steps are streamed at most this often (the last one always)


@dataclass(frozen=True)
class ReplicaSettings:
    cache_dir: str
    cache_bytes: int
    models_dir: str | None
    device: str  # "cuda" or "cpu"
    gpus: float  # GPUs each replica takes
    threads: int  # torch CPU threads


@dataclass(frozen=True)
class ReplicaRun:
    """One run as a replica gets it: the task, where to fetch its files, and one grant per file."""

    run_id: str
    task: GenerationTask
    site_url: str
    grants: dict[str, str] = field(default_factory=dict)  # sha256 -> grant


class PoolState:
    """The pool's shared state (a detached named async Ray actor, no CPU): grant secret, run signals, heartbeats.

    A busy replica long-polls ``wait_signals`` (one call outstanding, answered the moment the web server signals
    one of its runs), so interrupts arrive at once and an idle pool sends nothing."""

    def __init__(self):
        self._secret = secrets.token_bytes(32)
        self._signals: dict[str, set[str]] = {}
        self._replicas: dict[str, dict] = {}
        self._deployed = ""
        self._condition: asyncio.Condition | None = None  # made on the actor's event loop, at first use

    def _changed(self) -> asyncio.Condition:
        if self._condition is None:
            self._condition = asyncio.Condition()
        return self._condition

    async def secret(self) -> bytes:
        return self._secret

    async def deployed(self) -> str:
        """The version of the Generator deployment running now (``core.generation.ray_pool._version``)."""
        return self._deployed

    async def set_deployed(self, version: str) -> None:
        self._deployed = version

    async def signal(self, run_id: str, kind: str) -> None:
        async with self._changed():
            self._signals.setdefault(run_id, set()).add(kind)
            self._changed().notify_all()

    async def wait_signals(self, run_ids: list[str], timeout_s: float) -> dict[str, set[str]]:
        """The signals for ``run_ids`` (taken), as soon as there is one, or ``{}`` after ``timeout_s``."""
        async with self._changed():
            try:
                await asyncio.wait_for(self._changed().wait_for(lambda: any(r in self._signals for r in run_ids)),
                                       timeout_s)
            except asyncio.TimeoutError:
                return {}
            return {run_id: self._signals.pop(run_id) for run_id in run_ids if run_id in self._signals}

    async def forget(self, run_id: str) -> None:
        self._signals.pop(run_id, None)

    async def heartbeat(self, replica_id: str, info: dict) -> None:
        self._replicas[replica_id] = {**info, "seen": time.time()}

    async def replicas(self, max_age_s: float) -> list[dict]:
        now = time.time()
        return sorted((info for info in self._replicas.values() if now - info["seen"] <= max_age_s),
                      key=lambda info: info["id"])


class RunControls:
    """One run's interrupt and skip flags on the replica, and where in the run a stop was seen."""

    def __init__(self):
        self.stop = threading.Event()
        self.skip = threading.Event()
        self.step = 0
        self.stop_seen_at: int | None = None

    def should_stop(self) -> bool:
        if self.stop.is_set() and self.stop_seen_at is None:
            self.stop_seen_at = self.step
        return self.stop.is_set()

    def take_skip(self) -> bool:
        if self.skip.is_set():
            self.skip.clear()
            return True
        return False


class LoadedPipeline:
    """A pipeline in the multiplexing LRU; Serve calls ``__del__`` when it unloads it, so the replica's list of
    held checkpoints stays true."""

    def __init__(self, pipe, model_id: str, held: dict[str, str]):
        self.pipe, self.model_id, self._held = pipe, model_id, held

    def __del__(self):
        self._held.pop(self.model_id, None)


class GeneratorReplica:
    """The deployment's body; ``core.generation.ray_pool`` adds the multiplexed loader with the pool's K."""

    def __init__(self, settings: ReplicaSettings):
        import ray
        import torch
        from ray import serve

        from core.generation.worker_cache import WorkerFileCache
        from core.pipeline import PipelineCache

        if settings.device == "cpu":
            torch.set_num_threads(settings.threads)
        self.settings = settings
        self.files = WorkerFileCache(settings.cache_dir, settings.cache_bytes, settings.models_dir)
        self.id = serve.get_replica_context().replica_id.unique_id
        self.node = ray.util.get_node_ip_address()
        self.pool = ray.get_actor(POOL_ACTOR, namespace=NAMESPACE)
        self.upscalers = PipelineCache(UPSCALERS_KEPT)
        self.held: dict[str, str] = {}  # model id -> checkpoint name, in the multiplexing LRU
        self.wanted: dict[str, ReplicaRun] = {}  # model id -> the run waiting for it (the loader reads its files)
        self.controls: dict[str, RunControls] = {}
        self.loads = 0
        self.steps_after_last_stop: int | None = None  # how quickly the last interrupted run stopped
        threading.Thread(target=self._watch, daemon=True, name="pool-watch").start()

    # ---- serving
    async def generate(self, run: ReplicaRun):
        controls = self.controls[run.run_id] = RunControls()
        if isinstance(run.task, UpscaleTask):
            try:
                async for message in self._stream(lambda report: self._upscale(run, controls, report), controls):
                    yield ("done", message[1], False, self.describe()) if message[0] == "done" else message
            finally:
                self.controls.pop(run.run_id, None)
            return
        model_id = run.task.model_id
        self.wanted[model_id] = run
        try:
            loads = self.loads
            try:
                loaded = await self.get_pipeline(model_id)
            except ValueError as exc:  # ModelLoadError, a file refused or not matching its hash
                yield ("failed", _failure_kind(exc), str(exc))
                return
            work = functools.partial(self._generate, loaded.pipe, run, controls)
            async for message in self._stream(work, controls):
                if message[0] == "done":
                    message = ("done", message[1], self.loads > loads, self._details(controls))
                yield message
        finally:
            self.controls.pop(run.run_id, None)
            self.wanted.pop(model_id, None)

    async def _stream(self, work, controls: RunControls):
        """Run ``work(report)`` on a thread, streaming its steps; ends with ``("done", images)`` or a failure."""
        loop, steps = asyncio.get_running_loop(), asyncio.Queue()

        sent = [0.0]

        def report(step: int, total: int) -> None:
            controls.step = step
            now = time.monotonic()
            if step == total or now - sent[0] >= PROGRESS_INTERVAL_S:
                sent[0] = now
                loop.call_soon_threadsafe(steps.put_nowait, ("progress", step, total))

        running = loop.run_in_executor(None, work, report)
        while not running.done() or not steps.empty():
            waiting = asyncio.ensure_future(steps.get())
            await asyncio.wait({waiting, running}, return_when=asyncio.FIRST_COMPLETED)
            if waiting.done():
                yield waiting.result()
            else:
                waiting.cancel()
        try:
            yield ("done", running.result())
        except ValueError as exc:  # a LoRA that does not fit or cannot be fetched: the request's fault
            yield ("failed", "input", str(exc))
        except Exception as exc:
            yield ("failed", "run", f"generation failed: {type(exc).__name__}: {exc}")

    def _generate(self, pipe, run: ReplicaRun, controls: RunControls, report) -> list:
        from core.generation.diffusion import generate

        loras = [(self._fetch(run, ref), weight) for ref, weight in run.task.loras]
        embeddings = [(self._fetch(run, ref), name) for ref, name in run.task.embeddings]
        upscaler = self._fetch(run, run.task.upscaler) if run.task.upscaler else None
        return generate(pipe, run.task.request, loras=loras, embeddings=embeddings, progress_callback=report,
                        should_stop=controls.should_stop, should_skip=controls.take_skip, upscaler=upscaler)

    def _upscale(self, run: ReplicaRun, controls: RunControls, report) -> list:
        """An Extras run; its networks stay in the replica's own small cache, apart from the checkpoints."""
        from core.generation.upscaler_nets import load_upscaler
        from core.generation.upscaling import UpscaleStopped, run_upscale
        from core.pipeline import resolve_device

        device = resolve_device(self.settings.device)[0]

        def net_of(ref: FileRef):
            return self.upscalers.get_or_load(ref.sha256, lambda: load_upscaler(self._fetch(run, ref), device))

        try:
            return run_upscale(run.task, net_of, report=report, should_stop=controls.should_stop)
        except UpscaleStopped:
            raise ValueError("the upscale was interrupted") from None

    async def load(self, model_id: str) -> LoadedPipeline:
        """The multiplexed loader: the checkpoint (and VAE) of the run waiting for ``model_id``."""
        run = self.wanted[model_id]
        pipe = await asyncio.get_running_loop().run_in_executor(None, self._load, run)
        self.loads += 1
        self.held[model_id] = run.task.checkpoint.name or model_id[:10]
        return LoadedPipeline(pipe, model_id, self.held)

    def _load(self, run: ReplicaRun):
        from core.pipeline import load_pipeline

        checkpoint = self._fetch(run, run.task.checkpoint, with_config=True)
        vae = self._fetch(run, run.task.vae) if run.task.vae else None
        return load_pipeline(checkpoint, device=self.settings.device, vae_path=vae)

    def _fetch(self, run: ReplicaRun, ref: FileRef, with_config: bool = False):
        from core.generation.worker_cache import SiteSource

        grant = run.grants.get(ref.sha256)
        source = SiteSource(run.site_url, grant) if grant else None
        return self.files.local_path(ref, source, with_config=with_config)

    # ---- the pool's view and the run signals
    def _details(self, controls: RunControls) -> dict:
        if controls.stop_seen_at is not None:
            self.steps_after_last_stop = controls.step - controls.stop_seen_at
        return self.describe()

    def describe(self) -> dict:
        return {"id": self.id, "node": self.node, "models": sorted(self.held.values()), "loads": self.loads,
                "downloads": self.files.downloads, "running": len(self.controls),
                "steps_after_last_stop": self.steps_after_last_stop}

    def _watch(self) -> None:
        """Apply interrupt/skip requests to the runs in flight, and tell the pool this replica is alive."""
        import ray

        beat = 0.0
        while True:
            try:
                if self.controls:
                    signals = ray.get(self.pool.wait_signals.remote(list(self.controls), SIGNAL_WAIT_S),
                                      timeout=SIGNAL_WAIT_S + 10)
                    for run_id, kinds in signals.items():
                        controls = self.controls.get(run_id)
                        for kind in kinds if controls else ():
                            (controls.stop if kind == "stop" else controls.skip).set()
                else:
                    time.sleep(0.05)
                if time.monotonic() - beat >= HEARTBEAT_S:
                    beat = time.monotonic()
                    self.pool.heartbeat.remote(self.id, self.describe())
            except Exception:  # the pool actor restarting: try again on the next round
                time.sleep(HEARTBEAT_S)


def _failure_kind(exc: Exception) -> str:
    from core.generation.worker_cache import FileMismatch, FileRefused

    return "input" if isinstance(exc, (FileMismatch, FileRefused)) else "load"
