"""``--generation-backend ray``: the web server's side of a Ray Serve pool of generation replicas.

``RayPool.start(config)`` joins the cluster (``--ray-address``), creates or finds the pool's ``PoolState`` actor
(its grant secret is shared by every web process on the cluster) and deploys the ``Generator`` deployment of
``core.generation.ray_replica`` with model multiplexing (K = ``--ray-models-per-replica``) and autoscaling
(``--ray-replicas MIN:MAX``). The ``core`` package travels to the workers as a Ray ``py_modules`` entry, so a
worker machine needs Python and the requirements, not a checkout.

``run`` is the ``GenerationBackend`` call: it draws the seed here (a retry on another replica makes the same
image), signs one grant per file for the run's user, streams the replica's steps to ``report``, relays
interrupt/skip through ``PoolState``, and retries once when the replica or its node dies mid-run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import logging
import os
import queue
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.generation.backend import (
    Flag,
    GenerationCrashed,
    GenerationOutcome,
    GenerationTask,
    Report,
    Task,
    failure,
)
from core.generation.diffusion import resolve_seeds
from core.generation.file_grants import sign_grant
from core.generation.ray_replica import (
    HEARTBEAT_S,
    NAMESPACE,
    POOL_ACTOR,
    GeneratorReplica,
    PoolState,
    ReplicaRun,
    ReplicaSettings,
)

log = logging.getLogger(__name__)
APP_NAME = "visionary-generation"
LOCAL_NODE_IP = "127.0.0.2"  # --ray-address local: Ray keeps 127.0.0.2 (it rewrites 127.0.0.1 to the LAN address)
CONNECT_TIMEOUT_S = 5
WATCH_S = 5  # a run that hears nothing for this long checks that the cluster's head still answers
RELAY_POLL_S = 0.02  # how often a run's interrupt/skip request is looked for (a flag read)
CORE_DIR = Path(__file__).resolve().parent.parent
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "RAY_USAGE_STATS_ENABLED": "0"}


class ClusterUnreachable(RuntimeError):
    """The Ray cluster named by ``--ray-address`` cannot be joined: one line naming it."""


@dataclass(frozen=True)
class _Session:
    """This process's link to the cluster: the Generator's handle, the pool's state actor and its grant secret."""

    handle: object
    pool_actor: object
    secret: bytes
    gcs_address: str  # HOST:PORT of the cluster's head, probed to tell a lost cluster from a slow run


class RayPool:
    kind = "ray"

    def __init__(self, config, session: _Session):
        self.config, self.address = config, config.ray_address
        self._session, self._lost = session, False
        self._rejoining = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._watch_head, daemon=True, name="pool-head-watch").start()

    @classmethod
    def start(cls, config) -> "RayPool":
        """Join the cluster and deploy the generator; ``ClusterUnreachable`` when Ray is missing or unreachable."""
        # Ray ends a driver whose cluster is gone for a minute; the web server must outlive its cluster. And once
        # the link to a lost cluster is dropped, no Ray call may quietly start a cluster of its own (auto-connect).
        os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(10 * 365 * 24 * 3600))
        os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ClusterUnreachable("--generation-backend ray needs Ray: run `make cluster` "
                                     "(pip install -r requirements-cluster.txt)") from None
        return cls(config, _join(config))

    @property
    def secret(self) -> bytes:
        """Signs the replicas' file grants (``core.generation.file_grants``); the same in every web process."""
        return self._session.secret

    # ---- GenerationBackend
    def run(self, task: Task, *, report: Report | None = None, should_stop: Flag | None = None,
            should_skip: Flag | None = None) -> GenerationOutcome:
        session = self._current_session()
        if isinstance(task, GenerationTask) and task.request.seed == -1:  # drawn here: a retry on another replica makes the same image
            task = dataclasses.replace(task, request=dataclasses.replace(task.request,
                                                                         seed=resolve_seeds(-1, 1)[0]))
        run = ReplicaRun(run_id=uuid.uuid4().hex, task=task, site_url=self.config.site_url_for_workers,
                         grants=_grants(session.secret, task))
        relay = _ControlRelay(session.pool_actor, run.run_id, should_stop, should_skip)
        try:
            try:
                return self._attempt(session, run, report)
            except _ReplicaLost as lost:
                if self._closed.is_set() or relay.stopped:
                    raise GenerationCrashed("the generation was stopped") from None
                log.warning("generation replica lost mid-run (%s); retrying once on another replica", lost)
            try:
                return self._attempt(session, run, report)
            except _ReplicaLost:
                raise GenerationCrashed("the generation worker stopped before the image was finished, and so did "
                                        "the one it was retried on; try again (the Admin tab shows the pool)") from None
        finally:
            relay.end()

    def pool(self) -> dict:
        import ray

        view = {"backend": self.kind, "address": self.address, "replicas": []}
        if self._lost:
            return {**view, "error": self._unreachable()}
        try:
            replicas = ray.get(self._session.pool_actor.replicas.remote(3 * HEARTBEAT_S), timeout=5)
        except Exception as exc:  # a lost cluster: the Admin tab says so instead of failing
            return {**view, "error": _short(exc)}
        return {**view, "replicas": [{key: info[key] for key in ("id", "node", "models", "loads", "downloads",
                                                                 "running", "steps_after_last_stop")}
                                     for info in replicas]}

    def close(self) -> None:
        """Stop waiting for the pool (runs in flight fail); a cluster this process started is stopped with it.
        The deployment stays up for the other web processes."""
        import ray

        self._closed.set()
        if ray.is_initialized():
            ray.shutdown()

    # ---- internals
    def _unreachable(self) -> str:
        return (f"the generation cluster at {self.address} cannot be reached right now; pages keep working, and "
                "generation resumes when the cluster is back")

    def _watch_head(self) -> None:
        """Notice a lost cluster without waiting for a run (Ray's driver spins a core trying to reach a gone head,
        so the link is dropped), and join again as soon as the head answers."""
        while not self._closed.wait(WATCH_S):
            if not self._lost and not _answers(self._session.gcs_address):
                self._lose()
            elif self._lost and _answers(self._session.gcs_address):
                try:
                    self._current_session()
                except GenerationCrashed as exc:
                    log.warning("generation pool: %s", exc.message)

    def _lose(self) -> None:
        """Mark the cluster lost and drop the link (on a thread: a shutdown may wait on the gone head)."""
        import ray

        with self._rejoining:
            if self._lost:
                return
            self._lost = True
        log.warning("generation pool: %s", self._unreachable())
        closing = threading.Thread(target=ray.shutdown, daemon=True, name="pool-disconnect")
        closing.start()
        closing.join(CONNECT_TIMEOUT_S * 2)

    def _current_session(self) -> _Session:
        """The cluster link; after the cluster was lost, joined again once its head answers."""
        if not self._lost:
            return self._session
        with self._rejoining:
            if self._lost:
                if not _answers(self._session.gcs_address):
                    raise GenerationCrashed(self._unreachable())
                import ray

                ray.shutdown()
                try:
                    self._session = _join(self.config)
                except (ClusterUnreachable, RuntimeError) as exc:
                    raise GenerationCrashed(f"{self._unreachable()} ({exc})") from None
                self._lost = False
                log.info("generation pool: joined the Ray cluster at %s again", self.address)
        return self._session

    def _attempt(self, session: _Session, run: ReplicaRun, report: Report | None) -> GenerationOutcome:
        """One try on one replica; the stream is read on a thread so that a cluster that stops answering is
        noticed (its head no longer accepts connections) instead of waited for."""
        response = (session.handle.options(stream=True, multiplexed_model_id=run.task.model_id)
                    .generate.remote(run))
        messages: queue.Queue = queue.Queue()
        threading.Thread(target=_read_stream, args=(response, messages), daemon=True, name="pool-stream").start()
        while True:
            try:
                kind, payload = messages.get(timeout=WATCH_S)
            except queue.Empty:
                if not self._closed.is_set() and not _answers(session.gcs_address):
                    self._lose()
                    raise GenerationCrashed(self._unreachable()) from None
                continue
            if kind == "error":
                raise self._error(payload)
            if kind == "end":
                raise _ReplicaLost("the replica ended the run without an answer")
            if payload[0] == "progress" and report is not None:
                report(payload[1], payload[2])
            elif payload[0] == "failed":
                raise failure(payload[1], payload[2])
            elif payload[0] == "done":
                _, images, loaded, details = payload
                return GenerationOutcome(images, loaded, worker=f"replica {details['id']}", details=details)

    def _error(self, exc: BaseException) -> BaseException:
        """What a failed stream raises here: a lost replica (retried), the shutdown, or the cluster's failure."""
        if isinstance(exc, _lost_replica_errors()):
            return _ReplicaLost(_short(exc))
        if self._closed.is_set():
            return GenerationCrashed("the app is shutting down; the generation was stopped")
        return GenerationCrashed(f"the generation cluster at {self.address} failed the run: {_short(exc)}; "
                                 "try again in a moment")


def _read_stream(response, messages: queue.Queue) -> None:
    try:
        for message in response:
            messages.put(("message", message))
        messages.put(("end", None))
    except BaseException as exc:  # handed to the waiting run, which says what it means
        messages.put(("error", exc))


def _grants(secret: bytes, task: Task) -> dict[str, str]:
    if task.user_id is None:
        return {}
    return {ref.sha256: sign_grant(secret, task.user_id, ref.sha256) for ref in task.files}


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        return True
    except (OSError, ValueError):
        return False


class _ReplicaLost(Exception):
    """The replica (or its node) died mid-run."""


class _ControlRelay:
    """Relays the job's interrupt and skip requests to the pool's ``PoolState`` while the run is in flight."""

    def __init__(self, pool_actor, run_id: str, should_stop: Flag | None, should_skip: Flag | None):
        self.pool_actor, self.run_id = pool_actor, run_id
        self.should_stop, self.should_skip = should_stop, should_skip
        self.stopped = False
        self._done = threading.Event()
        if should_stop is not None or should_skip is not None:
            threading.Thread(target=self._relay, daemon=True, name="generation-controls").start()

    def _relay(self) -> None:
        while not self._done.wait(RELAY_POLL_S):
            try:
                if not self.stopped and self.should_stop is not None and self.should_stop():
                    self.stopped = True
                    self.pool_actor.signal.remote(self.run_id, "stop")
                elif self.should_skip is not None and self.should_skip():
                    self.pool_actor.signal.remote(self.run_id, "skip")
            except Exception:  # the cluster is gone: the run itself says so
                return

    def end(self) -> None:
        self._done.set()
        try:
            self.pool_actor.forget.remote(self.run_id)
        except Exception:
            pass


def _lost_replica_errors() -> tuple[type[BaseException], ...]:
    from ray import exceptions

    return tuple(getattr(exceptions, name) for name in ("RayActorError", "ActorDiedError", "ActorUnavailableError",
                                                         "NodeDiedError", "WorkerCrashedError", "ObjectLostError")
                 if hasattr(exceptions, name))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


# --------------------------------------------------------------------------- joining and deploying
def _join(config) -> _Session:
    """``ray.init`` for ``--ray-address``, the pool's state actor, and the Generator deployed (or found)."""
    import ray
    from ray import serve

    _connect(ray, config.ray_address)
    try:
        pool_actor = (ray.remote(num_cpus=0)(PoolState)
                      .options(name=POOL_ACTOR, namespace=NAMESPACE, lifetime="detached", get_if_exists=True)
                      .remote())
        secret = ray.get(pool_actor.secret.remote(), timeout=60)
        serve.start(http_options={"location": "NoServer"})
        handle = _deployed(ray, serve, config, pool_actor)
    except Exception:
        ray.shutdown()
        raise
    return _Session(handle, pool_actor, secret, _head_address(ray, config.ray_address))


def _head_address(ray, address: str) -> str:
    """What to probe for the cluster's liveness: the Ray client server for ``ray://``, else the GCS."""
    if address.startswith("ray://"):
        host, port = _host_port(address)
        return f"{host}:{port}"
    return ray.get_runtime_context().gcs_address


def _connect(ray, address: str) -> None:
    """``ray.init`` for ``--ray-address`` (``local`` starts a cluster that ends with this process)."""
    options = dict(namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING,
                   runtime_env={"py_modules": [str(CORE_DIR)], "env_vars": OFFLINE_ENV})
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address == "local":
        ray.init(address="local", _node_ip_address=LOCAL_NODE_IP, include_dashboard=False, **options)
        return
    host, port = _host_port(address)
    if host is not None:
        _probe(address, host, port)
        # A driver joining a loopback cluster must not advertise the LAN address (a ray:// client runs no node).
        if _is_loopback(host) and not address.startswith("ray://"):
            options["_node_ip_address"] = host
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterUnreachable(f"cannot join the Ray cluster at {address}: {_short(exc)}") from None


def _host_port(address: str) -> tuple[str | None, int | None]:
    if address == "auto":
        return None, None
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    try:
        return host.strip("[]") or rest, int(port)
    except ValueError:
        raise ClusterUnreachable(f"--ray-address {address!r}: expected auto, local, HOST:PORT or "
                                 "ray://HOST:PORT") from None


def _probe(address: str, host: str, port: int) -> None:
    """Fail fast with one line: Ray itself retries an unreachable head for minutes."""
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ClusterUnreachable(f"the Ray cluster at {address} cannot be reached ({exc.strerror or exc}); "
                                 "start its head node (`ray start --head`) or fix --ray-address") from None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _deployed(ray, serve, config, pool_actor):
    """A handle to the Generator: the one already running when it was deployed with the same settings and code
    (a second web process must not restart the replicas), else deployed now (a change rolls the replicas)."""
    settings = _replica_settings(ray, config)
    version = _version(settings, config)
    running = serve.status().applications.get(APP_NAME)
    if running is not None and running.status == "RUNNING" and ray.get(pool_actor.deployed.remote()) == version:
        return serve.get_app_handle(APP_NAME)
    handle = serve.run(_application(serve, config, settings), name=APP_NAME, route_prefix=None)
    ray.get(pool_actor.set_deployed.remote(version))
    return handle


def _replica_settings(ray, config) -> ReplicaSettings:
    gpus = config.ray_gpus_per_replica
    if gpus is None:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
    return ReplicaSettings(
        cache_dir=str(Path(config.worker_cache_dir).resolve()), cache_bytes=int(config.worker_cache_gb * 1024**3),
        models_dir=config.worker_models_dir, device="cuda" if gpus else "cpu", gpus=gpus,
        threads=max(1, int(config.ray_cpus_per_replica)))


def _application(serve, config, settings: ReplicaSettings):
    """The Generator deployment bound to this site's settings."""
    low, high = config.ray_replica_range

    class Generator(GeneratorReplica):
        @serve.multiplexed(max_num_models_per_replica=config.ray_models_per_replica)
        async def get_pipeline(self, model_id: str):
            return await self.load(model_id)

    deployment = serve.deployment(
        Generator, name="Generator", max_ongoing_requests=1,
        ray_actor_options={"num_cpus": config.ray_cpus_per_replica, "num_gpus": settings.gpus},
        autoscaling_config={"min_replicas": low, "initial_replicas": max(low, 1), "max_replicas": high,
                            "target_ongoing_requests": 1, "upscale_delay_s": 1, "downscale_delay_s": 120})
    return deployment.bind(settings)


def _version(settings: ReplicaSettings, config) -> str:
    """What a deployment is: its settings and the code of ``core``."""
    digest = hashlib.sha256(repr((settings, config.ray_models_per_replica, config.ray_replicas,
                                  config.ray_cpus_per_replica)).encode())
    for path in sorted(CORE_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
