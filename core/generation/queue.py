"""One generation queue per device, shared by every entry point; users take turns.

At most ``max_concurrent`` jobs run at once, on the queue's own worker threads;
the others wait and can see their position. Each owner (user) has a FIFO lane
of waiting jobs, and the next job to start is the first of the lane whose owner
was served least recently (never served first; ties go to the older job): a user
with 50 jobs waiting and a user with one alternate, so one user cannot hold up
everyone else. Jobs without an owner form one lane of their own. With
``max_per_owner`` an owner may have at most that many jobs waiting or running;
``submit`` refuses more with ``TooManyQueued`` (429). A job's work function gets
a ``JobContext`` to report progress and to see interrupt/skip requests, which
``core.generation.diffusion.generate`` turns into diffusers' ``callback_on_step_end``
hook, so an interrupted job stops after its current step.

Callers (FastAPI threadpool workers, Gradio workers) ``submit`` and then
``wait`` or poll ``position``/``progress``. The job's ``owner`` is recorded so
they can enforce "only the owner or an admin cancels" (``cancel(..., by=,
is_admin=)`` does it for them).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Callable, Hashable

from core.errors import Throttled

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, INTERRUPTED, FAILED, CANCELLED = (
    "queued", "running", "done", "interrupted", "failed", "cancelled",
)
FINISHED_STATES = (DONE, INTERRUPTED, FAILED, CANCELLED)
RETRY_AFTER_S = 5  # what a refused submit tells the client to wait (a small generation's time)


class JobCancelled(Exception):
    """The job was cancelled before it started."""


class TooManyQueued(Throttled):
    """The owner already has ``limit`` jobs waiting or running."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"you already have {limit} generation{'s' if limit != 1 else ''} waiting or running, the "
                         "most one user may have at once: wait for one to finish (or cancel one), then try again",
                         RETRY_AFTER_S)


class Job:
    """One queued piece of work. Times are ``time.monotonic()`` seconds."""

    def __init__(self, queue: "GenerationQueue", number: int, fn: Callable, owner: Hashable, label: str):
        self.id = f"{queue.name}-{number}"
        self.number = number  # submission order, which breaks ties between lanes
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
        self._on_finish: list[Callable[[], None]] = []

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

    def when_finished(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the job has finished: now if it has, else from the thread that finishes it.
        Lets an async caller wait for a job without holding a thread (``wait`` blocks one)."""
        with self._changed:
            if not self.finished:
                self._on_finish.append(callback)
                return
        callback()

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
            callbacks, self._on_finish = (self._on_finish, []) if self.finished else ([], self._on_finish)
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a waiter that went away (its event loop closed) must not stop the worker
                log.exception("a job's finish callback failed")


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
    """Round-robin queue of per-owner FIFO lanes, running at most ``max_concurrent`` jobs at once on its own
    threads; ``max_per_owner`` (None: no limit) caps each owner's waiting and running jobs."""

    def __init__(self, max_concurrent: int = 1, *, name: str = "device", history: int = 200,
                 max_per_owner: int | None = None):
        if int(max_concurrent) < 1:
            raise ValueError("max_concurrent must be at least 1")
        if max_per_owner is not None and max_per_owner < 1:
            raise ValueError("max_per_owner must be at least 1")
        self.max_concurrent = int(max_concurrent)
        self.max_per_owner = max_per_owner
        self.name = name
        self._cond = threading.Condition()
        self._lanes: dict[Hashable, deque[Job]] = {}  # each owner's waiting jobs, oldest first
        self._served: dict[Hashable, int] = {}  # owner -> the turn their last job started on, while they have jobs
        self._turns = itertools.count(1)
        self._running: dict[str, Job] = {}
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self._history = history
        self._ids = itertools.count(1)
        self._workers: list[threading.Thread] = []
        self._closed = False

    # ---- submitting and looking up
    def submit(self, fn: Callable[[JobContext], Any], *, owner: Hashable = None, label: str = "") -> Job:
        """Queue ``fn(context)`` in the owner's lane; returns its ``Job`` at once.

        Raises ``TooManyQueued`` when the owner already has ``max_per_owner`` jobs waiting or running.
        """
        with self._cond:
            if self._closed:
                raise RuntimeError(f"queue {self.name} is shut down")
            if self.max_per_owner is not None and self._count_of(owner) >= self.max_per_owner:
                raise TooManyQueued(self.max_per_owner)
            job = Job(self, next(self._ids), fn, owner, label)
            self._lanes.setdefault(owner, deque()).append(job)
            self._start_workers()
            self._cond.notify_all()
        return job

    def position(self, job: Job) -> int:
        """1-based place in the order the waiting jobs will start in (if no others come); 0 if not waiting."""
        with self._cond:
            lane = self._lanes.get(job.owner, ())
            if job not in lane:
                return 0
            depth, lanes = lane.index(job), self._lanes_in_turn_order()
            earlier_rounds = sum(min(len(other), depth) for other in lanes)
            this_round = next(i for i, other in enumerate(lanes) if other is lane)
            return earlier_rounds + sum(1 for other in lanes[:this_round] if len(other) > depth) + 1

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            for lane in self._lanes.values():
                for job in lane:
                    if job.id == job_id:
                        return job
            return self._running.get(job_id) or self._finished.get(job_id)

    def waiting(self) -> list[Job]:
        """The waiting jobs in the order they will start in (if no others come)."""
        with self._cond:
            return self._start_order()

    def running(self) -> list[Job]:
        with self._cond:
            return list(self._running.values())

    def jobs_of(self, owner: Hashable) -> list[Job]:
        """The owner's running jobs, then their waiting ones in the order they will start."""
        with self._cond:
            return [*(j for j in self._running.values() if j.owner == owner), *self._lanes.get(owner, ())]

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
            lane = self._lanes.get(job.owner)
            if lane is None or job not in lane:
                return False
            lane.remove(job)
            self._leave(job.owner)
            self._remember(job)
        job._update(state=CANCELLED, finished_at=time.monotonic())
        return True

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        """Cancel waiting jobs, interrupt running ones, stop the workers."""
        with self._cond:
            self._closed = True
            waiting, running = self._start_order(), list(self._running.values())
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
            self._cond.wait_for(lambda: self._lanes or self._closed)
            if not self._lanes:
                return None
            owner = _next_lane(self._lanes, self._served)
            job = self._lanes[owner].popleft()
            self._served[owner] = next(self._turns)
            self._running[job.id] = job
            self._leave(owner)
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
                self._leave(job.owner)
                self._remember(job)
            state = FAILED if error is not None else (INTERRUPTED if job.interrupted else DONE)
            job._update(result=result, error=error, state=state, finished_at=time.monotonic())

    # ---- lanes (the caller holds the lock)
    def _count_of(self, owner: Hashable) -> int:
        """The owner's waiting and running jobs."""
        return len(self._lanes.get(owner, ())) + sum(1 for job in self._running.values() if job.owner == owner)

    def _leave(self, owner: Hashable) -> None:
        """Drop the owner's empty lane; forget their turn once they have no job left (they come back as new)."""
        lane = self._lanes.get(owner)
        if lane is not None and not lane:
            del self._lanes[owner]
        if not self._count_of(owner):
            self._served.pop(owner, None)

    def _lanes_in_turn_order(self) -> list[deque[Job]]:
        """The lanes in the order their heads will start. Serving a lane gives it the newest turn, so every
        later round keeps this order: round ``r`` starts the ``r``-th job of each lane that has one."""
        return [self._lanes[owner] for owner in sorted(self._lanes, key=lambda owner: _turn_key(self._lanes,
                                                                                             self._served, owner))]

    def _start_order(self) -> list[Job]:
        """The waiting jobs in the order the workers would start them (if no others come)."""
        lanes = [list(lane) for lane in self._lanes_in_turn_order()]
        rounds = max(map(len, lanes), default=0)
        return [lane[depth] for depth in range(rounds) for lane in lanes if depth < len(lane)]

    def _remember(self, job: Job) -> None:
        """Keep finished jobs for lookups (A1111's progress after the end); caller holds the lock."""
        self._finished[job.id] = job
        while len(self._finished) > self._history:
            self._finished.popitem(last=False)



def _turn_key(lanes: dict[Hashable, deque[Job]], served: dict[Hashable, int], owner: Hashable) -> tuple[int, int]:
    """Whose turn comes first: the owner served least recently (never: first), then the one with the oldest job."""
    return served.get(owner, 0), lanes[owner][0].number


def _next_lane(lanes: dict[Hashable, deque[Job]], served: dict[Hashable, int]) -> Hashable:
    """The owner whose turn it is."""
    return min(lanes, key=lambda owner: _turn_key(lanes, served, owner))


def wait_reporting(job: Job, on_update: Callable[[Job], None] | None = None) -> Any:
    """``job.wait()``, calling ``on_update(job)`` whenever its position or progress changes meanwhile."""
    seen = -1
    while not job.finished:
        seen = job.wait_update(seen, timeout=0.5)
        if on_update is not None:
            on_update(job)
    return job.wait()
