"""Generation in its own process: the pipeline cache and the denoise loop live there, not in the web server.

Why a process: between torch calls a denoise loop runs Python (the scheduler, the
UNet's module tree, the hooks), and a small model on the CPU spends much of each
step there. In the web server's process that loop would hold the GIL about half
the time, and every page, search and upload would wait for it. In a child
process (at a lower CPU priority) the server keeps its interpreter to itself.

``GenerationWorker`` (parent side) starts the child on the first generation and
again after a crash. ``run(task, ...)`` sends one ``GenerationTask`` (plain,
picklable values: file paths, the request, LoRA paths) and blocks until the
images come back, relaying the child's step reports to ``report`` and the
caller's interrupt/skip requests to the child. Several runs may be in flight at
once (the queue's ``max_concurrent``): the child runs each on its own thread, as
the queue did before, sharing one ``PipelineCache``. An ``UpscaleTask`` (the Extras tab) runs there too, its
networks in a small cache of their own.

Messages, parent → child: ``("run", id, task)``, ``("stop", id)``, ``("skip", id)``, ``("quit", 0)``;
child → parent: ``("progress", id, step, total)``, ``("done", id, images, loaded, cached)`` (``cached`` None
after an upscale),
``("failed", id, kind, message)``, where ``kind`` is ``"load"`` (the checkpoint
cannot be loaded: the user's to fix), ``"input"`` (a LoRA that does not fit) or ``"run"``.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import traceback
from typing import Callable

from core.generation.backend import GenerationCrashed, GenerationOutcome, GenerationTask, Task, UpscaleTask, failure

log = logging.getLogger(__name__)
WORKER_NICE = 10  # added to the child's nice value (POSIX): pages first, images when the CPU is free
POLL_S = 0.05  # how often a waiting run looks at its job's interrupt and skip requests
UPSCALERS_KEPT = 2  # upscaler networks the child keeps loaded (tens of MB each)
QUIT_GRACE_S = 2  # a closing child that has not ended by itself after this is killed (shutdown well within 5 s)


class _Call:
    """One run in flight, as the parent sees it."""

    def __init__(self, report: Callable[[int, int], None] | None):
        self.report = report
        self.done = threading.Event()
        self._answer = threading.Lock()
        self.outcome: GenerationOutcome | None = None
        self.error: BaseException | None = None

    def finish(self, outcome: GenerationOutcome | None = None, error: BaseException | None = None) -> None:
        """The first answer counts (a crash noticed after the result came changes nothing)."""
        with self._answer:
            if not self.done.is_set():
                self.outcome, self.error = outcome, error
                self.done.set()


def _fail_all(pending: dict[int, _Call], message: str) -> None:
    calls = list(pending.values())
    pending.clear()
    for call in calls:
        call.finish(error=GenerationCrashed(message))


class GenerationWorker:
    """Parent side: starts the child on first use (and after a crash), runs tasks there (a ``GenerationBackend``)."""

    kind = "local"

    def __init__(self, cache_models: int):
        self.cache_models = cache_models
        self._lock = threading.Lock()  # process, connection and pending calls
        self._closing = threading.Lock()  # a second close waits for the first: the child is gone when it returns
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, _Call] = {}
        self._process = None
        self._conn = None
        self._models: list[str] = []  # the child's loaded checkpoints (cache keys' names), as it last reported
        self._loads = 0

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def run(self, task: Task, *, report: Callable[[int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None,
            should_skip: Callable[[], bool] | None = None) -> GenerationOutcome:
        """Generate in the child; raises ``ModelLoadError``, ``InvalidInput`` (a LoRA that does not fit), ``GenerationCrashed`` or ``RuntimeError``."""
        call_id, call = self._start(task, report)
        stop_sent = False
        while not call.done.wait(POLL_S):
            if not stop_sent and should_stop is not None and should_stop():
                stop_sent = self._send(("stop", call_id))
            elif should_skip is not None and should_skip():
                self._send(("skip", call_id))
        if call.error is not None:
            raise call.error
        return call.outcome

    def pool(self) -> dict:
        """The one generation process, as the Admin tab lists a pool."""
        with self._lock:
            running = len(self._pending)
        return {"backend": self.kind, "address": None,
                "replicas": [{"id": f"pid {self.pid}" if self.pid else "not started", "node": socket.gethostname(),
                              "models": self._models, "loads": self._loads, "downloads": 0, "running": running,
                              "steps_after_last_stop": None}]}

    def close(self) -> None:
        """Stop the child (runs in flight fail at once); a later ``run`` starts a new one.

        The child is asked to quit and killed if it has not within ``QUIT_GRACE_S``: a step cannot be stopped
        halfway, and one long step (or a stuck device) must not hold up the app's shutdown.
        """
        with self._closing:
            with self._lock:
                process, conn, pending = self._process, self._conn, self._pending
                self._process, self._conn, self._pending = None, None, {}
            if conn is None:
                return
            _fail_all(pending, "the app is shutting down; the generation was stopped")
            self._send(("quit", 0), conn)  # (closing our end would not wake the reply thread's recv on it)
            conn.close()
            process.join(QUIT_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()

    # ---- parent internals
    def _start(self, task: Task, report) -> tuple[int, _Call]:
        """Register the call and send it; if the child is gone the reply thread (or ``close``) fails the call."""
        call_id, call = next(self._ids), _Call(report)
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._spawn()
            self._pending[call_id] = call
            conn = self._conn
        self._send(("run", call_id, task), conn)
        return call_id, call

    def _spawn(self) -> None:
        """Start a child (caller holds the lock), with its own table of pending calls and its own reply thread.
        ``spawn``: no copy of the server's threads or sockets."""
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(target=serve, args=(child_end, self.cache_models), daemon=True,
                                  name="visionary-generation")
        process.start()
        child_end.close()
        self._process, self._conn, self._pending = process, parent_end, {}
        threading.Thread(target=self._read, args=(parent_end, self._pending, process), daemon=True,
                         name="generation-replies").start()

    def _send(self, message: tuple, conn=None) -> bool:
        conn = conn or self._conn
        try:
            with self._send_lock:
                conn.send(message)
            return True
        except (OSError, ValueError, AttributeError):  # closed or gone: the reply thread fails the pending calls
            return False

    def _read(self, conn, pending: dict[int, _Call], process) -> None:
        """Relay one child's messages to its waiting runs until its connection ends, then fail what is left."""
        while True:
            try:
                kind, call_id, *rest = conn.recv()
            except (EOFError, OSError):
                break
            call = pending.get(call_id)
            if call is None:
                continue
            if kind == "progress" and call.report is not None:
                _report_quietly(call.report, *rest)
            elif kind == "done":
                pending.pop(call_id, None)
                images, loaded, models = rest
                if models is not None:  # (None: an upscale, which neither loads nor evicts a checkpoint)
                    self._models, self._loads = models, self._loads + int(loaded)
                call.finish(GenerationOutcome(images, loaded, worker=f"pid {process.pid}"))
            elif kind == "failed":
                pending.pop(call_id, None)
                kind_of_failure, message = rest
                call.finish(error=failure(kind_of_failure, message))
        with self._lock:
            if conn is self._conn:  # the next run starts a new child
                self._process, self._conn, self._pending = None, None, {}
        process.join(1)
        how = f" (exit code {process.exitcode})" if process.exitcode not in (None, 0) else ""
        _fail_all(pending, f"the generation process stopped{how} before the image was finished, possibly out "
                           "of memory; try again, or with a smaller size or batch")


def _report_quietly(report: Callable[[int, int], None], step: int, total: int) -> None:
    """A failing progress callback must not stop the relay (the run's result still has to come through)."""
    try:
        report(step, total)
    except Exception:
        log.exception("a generation progress callback failed")


# --------------------------------------------------------------------------- the child
class _Controls:
    """A run's interrupt and skip flags, set by the parent's messages."""

    def __init__(self):
        self.stop = threading.Event()
        self.skip = threading.Event()

    def take_skip(self) -> bool:
        if self.skip.is_set():
            self.skip.clear()
            return True
        return False


def serve(conn, cache_models: int) -> None:
    """The child's main loop: one thread per run, until the parent closes the connection."""
    from core.pipeline import PipelineCache

    # Ctrl+C in the terminal reaches the whole process group: the server stops this process itself (``close``),
    # and if the server dies the connection ends and so does the loop below.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(WORKER_NICE)
    cache, send_lock, controls = PipelineCache(cache_models), threading.Lock(), {}
    upscalers = PipelineCache(UPSCALERS_KEPT)  # apart from the checkpoints: an upscale never evicts one

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    while True:
        try:
            kind, call_id, *rest = conn.recv()
        except (EOFError, OSError):
            return _end(controls)
        if kind == "quit":
            return _end(controls)
        if kind == "run":
            controls[call_id] = _Controls()
            task = rest[0]
            run, held = (_upscale, upscalers) if isinstance(task, UpscaleTask) else (_run, cache)
            threading.Thread(target=run, args=(held, send, call_id, task, controls), daemon=True).start()
        elif call_id in controls:
            flags = controls[call_id]
            (flags.stop if kind == "stop" else flags.skip).set()


def _end(controls: dict) -> None:
    """End the child: a normal exit when idle; at once when a run is in flight (its caller has been told), since
    a normal interpreter exit would wait for the step it is in, or abort in torch's threads."""
    if controls:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _run(cache, send, call_id: int, task: GenerationTask, controls: dict) -> None:
    from core.generation.diffusion import generate
    from core.generation.embeddings import EmbeddingDoesNotFit
    from core.generation.lora import LoraDoesNotLoad
    from core.pipeline import load_pipeline

    flags = controls[call_id]
    try:
        loaded = task.cache_key not in cache
        try:
            pipe = cache.get_or_load(task.cache_key, lambda: load_pipeline(
                task.checkpoint.path, device=task.device, vae_path=task.vae.path if task.vae else None))
        except ValueError as exc:  # ModelLoadError and the loaders' own checks
            send(("failed", call_id, "load", str(exc)))
            return
        try:
            images = generate(pipe, task.request, loras=[(ref.path, weight) for ref, weight in task.loras],
                              embeddings=[(ref.path, name) for ref, name in task.embeddings],
                              progress_callback=lambda step, total: send(("progress", call_id, step, total)),
                              should_stop=flags.stop.is_set, should_skip=flags.take_skip,
                              upscaler=task.upscaler.path if task.upscaler else None)
        except (LoraDoesNotLoad, EmbeddingDoesNotFit) as exc:  # the request's fault, not the process's: said as bad input
            send(("failed", call_id, "input", str(exc)))
            return
        send(("done", call_id, images, loaded, [checkpoint_name(key) for key in cache.keys()]))
    except Exception as exc:  # the run fails; the child lives on for the next one
        traceback.print_exc()
        _send_quietly(send, ("failed", call_id, "run", f"generation failed: {type(exc).__name__}: {exc}"))
    finally:
        controls.pop(call_id, None)


def _upscale(upscalers, send, call_id: int, task: UpscaleTask, controls: dict) -> None:
    """An Extras run; the networks it loads stay in their own small cache."""
    from core.generation.upscaler_nets import UpscalerDoesNotLoad, load_upscaler
    from core.generation.upscaling import UpscaleStopped, run_upscale
    from core.pipeline import resolve_device

    flags = controls[call_id]
    device = resolve_device(task.device)[0]
    loaded = [False]

    def net_of(ref):
        loaded[0] = loaded[0] or ref.sha256 not in upscalers
        return upscalers.get_or_load(ref.sha256, lambda: load_upscaler(ref.path, device))

    try:
        images = run_upscale(task, net_of, report=lambda step, total: send(("progress", call_id, step, total)),
                             should_stop=flags.stop.is_set)
        send(("done", call_id, images, loaded[0], None))
    except UpscaleStopped:
        _send_quietly(send, ("failed", call_id, "input", "the upscale was interrupted"))
    except UpscalerDoesNotLoad as exc:
        _send_quietly(send, ("failed", call_id, "load", str(exc)))
    except Exception as exc:
        traceback.print_exc()
        _send_quietly(send, ("failed", call_id, "run", f"upscaling failed: {type(exc).__name__}: {exc}"))
    finally:
        controls.pop(call_id, None)


def checkpoint_name(cache_key) -> str:
    """A loaded pipeline as the pool view names it: the checkpoint's short hash (and the VAE's)."""
    checkpoint, vae = cache_key
    return checkpoint[:10] + (f" + VAE {vae[:10]}" if vae else "")


def _send_quietly(send, message: tuple) -> None:
    try:
        send(message)
    except (OSError, ValueError):  # the parent is gone
        pass

