"""One FIFO generation queue per device, shared by every entry point.

At most ``max_concurrent`` jobs run at once, on the queue's own worker threads;
the others wait in order and can see their position. A job's work function gets
a ``JobContext`` to report progress and to see interrupt/skip requests, which
``core.generation.generate`` turns into diffusers' ``callback_on_step_end``
hook, so an interrupted job stops after its current step.

Callers (FastAPI threadpool workers, Gradio workers) ``submit`` and then
``wait`` or poll ``position``/``progress``. The job's ``owner`` is recorded so
they can enforce "only the owner or an admin cancels" (``cancel(..., by=,
is_admin=)`` does it for them).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Callable, Hashable

QUEUED, RUNNING, DONE, INTERRUPTED, FAILED, CANCELLED = (
    "queued", "running", "done", "interrupted", "failed", "cancelled",
)
FINISHED_STATES = (DONE, INTERRUPTED, FAILED, CANCELLED)


class JobCancelled(Exception):
    """The job was cancelled before it started."""


class Job:
    """One queued piece of work. Times are ``time.monotonic()`` seconds."""

    def __init__(self, queue: "GenerationQueue", job_id: str, fn: Callable, owner: Hashable, label: str):
        self.id = job_id
        self.owner = owner
        self.label = label
        self.state = QUEUED
        self.step = 0
        self.total = 0
        self.result: Any = None
        self.error: BaseException | None = None
        self.queued_at = time.monotonic()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.skipped = False  # a skip was asked for (A1111's state.skipped)
        self.version = 0  # bumped on every change, for ``wait_update``
        self._fn = fn
        self._queue = queue
        self._changed = threading.Condition()
        self._interrupt = threading.Event()
        self._skip = threading.Event()

    # ---- what callers read
    @property
    def position(self) -> int:
        """1-based place among the waiting jobs (1 = runs next); 0 once running or finished."""
        return self._queue.position(self)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def interrupted(self) -> bool:
        return self._interrupt.is_set()

    @property
    def progress(self) -> float:
        """0..1 (1 when finished)."""
        if self.finished:
            return 1.0
        return self.step / self.total if self.total else 0.0

    def eta_seconds(self) -> float | None:
        """Seconds left, extrapolated from the steps done so far (None before the first step)."""
        if self.started_at is None or not self.step or not self.total:
            return None
        elapsed = time.monotonic() - self.started_at
        return elapsed / self.step * (self.total - self.step)

    def can_be_cancelled_by(self, user: Hashable, is_admin: bool = False) -> bool:
        return bool(is_admin) or (user is not None and user == self.owner)

    def wait(self, timeout: float | None = None) -> Any:
        """The work function's result; re-raises its exception; ``JobCancelled`` if cancelled."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.finished, timeout):
                raise TimeoutError(f"job {self.id} still {self.state}")
        if self.state == CANCELLED:
            raise JobCancelled(f"job {self.id} was cancelled")
        if self.error is not None:
            raise self.error
        return self.result

    def wait_update(self, seen_version: int, timeout: float | None = None) -> int:
        """Block until the job changes after ``seen_version`` (or finishes); returns the new version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen_version or self.finished, timeout)
            return self.version

    # ---- requests
    def interrupt(self) -> None:
        """Stop after the current step (a waiting job never starts)."""
        self._interrupt.set()
        self._queue.cancel_waiting(self)

    def skip(self) -> None:
        """A1111's skip: end the current image early and go on with the next."""
        self.skipped = True
        self._skip.set()

    # ---- used by the queue and the context
    def _update(self, **fields) -> None:
        with self._changed:
            for key, value in fields.items():
                setattr(self, key, value)
            self.version += 1
            self._changed.notify_all()


class JobContext:
    """What a work function sees of its job."""

    def __init__(self, job: Job):
        self.job = job

    def report(self, step: int, total: int) -> None:
        self.job._update(step=step, total=total)

    def should_stop(self) -> bool:
        return self.job._interrupt.is_set()

    def take_skip(self) -> bool:
        """True once per ``skip()`` request."""
        if self.job._skip.is_set():
            self.job._skip.clear()
            return True
        return False


class GenerationQueue:
    """FIFO queue running at most ``max_concurrent`` jobs at once on its own threads."""

    def __init__(self, max_concurrent: int = 1, *, name: str = "device", history: int = 200):
        if int(max_concurrent) < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = int(max_concurrent)
        self.name = name
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._running: dict[str, Job] = {}
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self._history = history
        self._ids = itertools.count(1)
        self._workers: list[threading.Thread] = []
        self._closed = False

    # ---- submitting and looking up
    def submit(self, fn: Callable[[JobContext], Any], *, owner: Hashable = None, label: str = "") -> Job:
        """Queue ``fn(context)``; returns its ``Job`` at once."""
        with self._cond:
            if self._closed:
                raise RuntimeError(f"queue {self.name} is shut down")
            job = Job(self, f"{self.name}-{next(self._ids)}", fn, owner, label)
            self._waiting.append(job)
            self._start_workers()
            self._cond.notify_all()
        return job

    def position(self, job: Job) -> int:
        with self._cond:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return 0

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            for job in self._waiting:
                if job.id == job_id:
                    return job
            return self._running.get(job_id) or self._finished.get(job_id)

    def waiting(self) -> list[Job]:
        with self._cond:
            return list(self._waiting)

    def running(self) -> list[Job]:
        with self._cond:
            return list(self._running.values())

    def jobs_of(self, owner: Hashable) -> list[Job]:
        """The owner's waiting and running jobs, in queue order."""
        with self._cond:
            return [j for j in (*self._running.values(), *self._waiting) if j.owner == owner]

    # ---- cancelling
    def cancel(self, job_id: str, *, by: Hashable = None, is_admin: bool = False) -> Job:
        """Cancel a waiting job or interrupt a running one, if ``by`` owns it or is an admin.

        Raises ``KeyError`` for an unknown job and ``PermissionError`` for anyone else.
        """
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if not job.can_be_cancelled_by(by, is_admin):
            raise PermissionError("only the job's owner or an admin can cancel it")
        job.interrupt()
        return job

    def cancel_waiting(self, job: Job) -> bool:
        """Take ``job`` out of the line if it has not started."""
        with self._cond:
            if job not in self._waiting:
                return False
            self._waiting.remove(job)
            self._remember(job)
        job._update(state=CANCELLED, finished_at=time.monotonic())
        return True

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        """Cancel waiting jobs, interrupt running ones, stop the workers."""
        with self._cond:
            self._closed = True
            waiting, running = list(self._waiting), list(self._running.values())
            self._cond.notify_all()
        for job in waiting:
            self.cancel_waiting(job)
        for job in running:
            job.interrupt()
        if wait:
            for worker in self._workers:
                worker.join(timeout)

    # ---- workers
    def _start_workers(self) -> None:
        while len(self._workers) < self.max_concurrent:
            worker = threading.Thread(
                target=self._work, name=f"{self.name}-worker-{len(self._workers) + 1}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def _next_job(self) -> Job | None:
        with self._cond:
            self._cond.wait_for(lambda: self._waiting or self._closed)
            if not self._waiting:
                return None
            job = self._waiting.popleft()
            self._running[job.id] = job
        job._update(state=RUNNING, started_at=time.monotonic())
        return job

    def _work(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            result, error = None, None
            try:
                result = job._fn(JobContext(job))
            except BaseException as exc:  # the worker must survive any job
                error = exc
            with self._cond:
                self._running.pop(job.id, None)
                self._remember(job)
            state = FAILED if error is not None else (INTERRUPTED if job.interrupted else DONE)
            job._update(result=result, error=error, state=state, finished_at=time.monotonic())

    def _remember(self, job: Job) -> None:
        """Keep finished jobs for lookups (A1111's progress after the end); caller holds the lock."""
        self._finished[job.id] = job
        while len(self._finished) > self._history:
            self._finished.popitem(last=False)

