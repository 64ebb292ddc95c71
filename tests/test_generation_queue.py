"""The per-device generation queue: concurrency limit, users taking turns (FIFO within each user), the
per-user cap, positions, cancel/interrupt/skip.

Work functions here are plain Python steps synchronised with events, so the
tests are exact and fast; tests/test_pipeline.py runs the queue with a real model.
"""

from __future__ import annotations

import threading
import time

import pytest

from core.generation.queue import (
    CANCELLED,
    DONE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    GenerationQueue,
    JobCancelled,
    TooManyQueued,
)

TIMEOUT = 10


@pytest.fixture
def queue():
    q = GenerationQueue(max_concurrent=1, name="test")
    yield q
    q.shutdown(wait=True, timeout=TIMEOUT)


def gated(started: threading.Event, release: threading.Event, result="ok"):
    """A job that says it started and then waits to be released."""

    def work(ctx):
        started.set()
        assert release.wait(TIMEOUT)
        return result

    return work


def wait_until(predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_one_at_a_time_second_job_waits_at_position_one_and_never_overlaps(queue):
    started1, release1 = threading.Event(), threading.Event()
    job1 = queue.submit(gated(started1, release1, "first"), owner="alice")
    assert started1.wait(TIMEOUT)
    job2 = queue.submit(lambda ctx: "second", owner="bob")
    assert job1.state == RUNNING and job1.position == 0
    assert job2.position == 1
    time.sleep(0.05)
    assert job2.started_at is None  # still waiting while job 1 runs
    release1.set()
    assert job1.wait(TIMEOUT) == "first" and job2.wait(TIMEOUT) == "second"
    assert job1.finished_at <= job2.started_at
    assert job2.position == 0 and job1.state == job2.state == DONE


def test_waiting_jobs_run_in_fifo_order_and_positions_move_up(queue):
    started, release = threading.Event(), threading.Event()
    order = []
    blocker = queue.submit(gated(started, release))
    assert started.wait(TIMEOUT)
    jobs = [queue.submit(lambda ctx, i=i: order.append(i) or i) for i in range(4)]
    assert [j.position for j in jobs] == [1, 2, 3, 4]
    queue.cancel(jobs[1].id, is_admin=True)
    assert [j.position for j in jobs] == [1, 0, 2, 3]
    release.set()
    blocker.wait(TIMEOUT)
    assert [jobs[i].wait(TIMEOUT) for i in (0, 2, 3)] == [0, 2, 3]
    assert order == [0, 2, 3]


def test_max_concurrent_bounds_running_jobs():
    q = GenerationQueue(max_concurrent=2, name="two")
    lock, running, peak = threading.Lock(), [0], [0]

    def work(ctx):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    try:
        jobs = [q.submit(work) for _ in range(6)]
        for job in jobs:
            job.wait(TIMEOUT)
    finally:
        q.shutdown(timeout=TIMEOUT)
    assert peak[0] == 2
    spans = sorted((j.started_at, j.finished_at) for j in jobs)
    for i, (start, _end) in enumerate(spans):  # never three at once
        overlapping = [s for s in spans if s[0] <= start < s[1]]
        assert len(overlapping) <= 2, (i, overlapping)


def test_interrupt_stops_a_long_job_after_its_current_step(queue):
    at_step_3, interrupted = threading.Event(), threading.Event()
    steps_done = []

    def long_job(ctx):
        for step in range(1, 1001):
            steps_done.append(step)
            ctx.report(step, 1000)
            if step == 3:
                at_step_3.set()
                assert interrupted.wait(TIMEOUT)
            if ctx.should_stop():
                return "partial"
        return "complete"

    job = queue.submit(long_job, owner="alice")
    assert at_step_3.wait(TIMEOUT)
    queue.cancel(job.id, by="alice")
    interrupted.set()
    assert job.wait(TIMEOUT) == "partial"
    assert steps_done == [1, 2, 3] and job.step == 3 and job.total == 1000
    assert job.state == INTERRUPTED and job.interrupted


def test_cancelling_a_waiting_job_means_it_never_runs(queue):
    started, release = threading.Event(), threading.Event()
    ran = threading.Event()
    blocker = queue.submit(gated(started, release))
    assert started.wait(TIMEOUT)
    waiting = queue.submit(lambda ctx: ran.set(), owner="bob")
    queue.cancel(waiting.id, by="bob")
    assert waiting.state == CANCELLED and waiting.position == 0
    with pytest.raises(JobCancelled):
        waiting.wait(TIMEOUT)
    release.set()
    blocker.wait(TIMEOUT)
    assert not ran.is_set()
    assert queue.get(waiting.id) is waiting  # still looked up after the end


def test_only_owner_or_admin_cancels(queue):
    started, release = threading.Event(), threading.Event()
    job = queue.submit(gated(started, release), owner="alice")
    assert started.wait(TIMEOUT)
    with pytest.raises(PermissionError):
        queue.cancel(job.id, by="mallory")
    with pytest.raises(PermissionError):
        queue.cancel(job.id)  # a visitor
    assert not job.interrupted
    assert job.can_be_cancelled_by("alice") and job.can_be_cancelled_by("root", is_admin=True)
    queue.cancel(job.id, by="root", is_admin=True)
    assert job.interrupted
    release.set()
    job.wait(TIMEOUT)
    with pytest.raises(KeyError):
        queue.cancel("no-such-job", is_admin=True)


def test_a_failing_job_reports_its_error_and_the_worker_goes_on(queue):
    def boom(ctx):
        raise RuntimeError("out of memory")

    bad = queue.submit(boom)
    good = queue.submit(lambda ctx: 42)
    with pytest.raises(RuntimeError, match="out of memory"):
        bad.wait(TIMEOUT)
    assert bad.state == FAILED and good.wait(TIMEOUT) == 42


def test_skip_is_seen_once_and_progress_updates_wake_waiters(queue):
    go, seen = threading.Event(), []

    def work(ctx):
        ctx.report(1, 4)
        assert go.wait(TIMEOUT)
        seen.append(ctx.take_skip())
        seen.append(ctx.take_skip())
        ctx.report(4, 4)
        return "done"

    job = queue.submit(work, owner="alice")
    wait_until(lambda: job.step == 1)
    version = job.version
    job.skip()
    go.set()
    assert job.wait_update(version, TIMEOUT) != version
    assert job.wait(TIMEOUT) == "done" and seen == [True, False]
    assert job.progress == 1.0 and not job.interrupted
    assert queue.jobs_of("alice") == []


def test_shutdown_cancels_waiting_jobs_and_refuses_new_ones():
    q = GenerationQueue(max_concurrent=1, name="closing")
    started, release = threading.Event(), threading.Event()
    running = q.submit(gated(started, release))
    assert started.wait(TIMEOUT)
    waiting = q.submit(lambda ctx: None)
    q.shutdown(wait=False)
    assert waiting.state == CANCELLED and running.interrupted
    release.set()
    running.wait(TIMEOUT)
    assert running.state == INTERRUPTED
    with pytest.raises(RuntimeError):
        q.submit(lambda ctx: None)



def recording(order: list, name: str):
    """A job that notes its name when it starts."""
    return lambda ctx: order.append(name)


def test_users_take_turns_one_users_fifty_jobs_do_not_hold_up_anothers_one(queue):
    started, release = threading.Event(), threading.Event()
    order = []
    first = queue.submit(gated(started, release), owner="alice")
    assert started.wait(TIMEOUT)
    flood = [queue.submit(recording(order, f"alice-{i}"), owner="alice") for i in range(50)]
    bobs = queue.submit(recording(order, "bob"), owner="bob")
    assert bobs.position == 1 and [j.position for j in flood[:3]] == [2, 3, 4]
    assert queue.waiting()[:3] == [bobs, flood[0], flood[1]]
    release.set()
    bobs.wait(TIMEOUT)
    for job in flood:
        job.wait(TIMEOUT)
    assert order[0] == "bob"  # after the one job that was running, not after alice's 50
    assert order[1:] == [f"alice-{i}" for i in range(50)]  # alice's own jobs in the order she sent them
    assert first.finished_at <= bobs.started_at


def test_two_users_with_jobs_waiting_alternate_and_jobs_without_an_owner_are_one_lane(queue):
    started, release = threading.Event(), threading.Event()
    order = []
    queue.submit(gated(started, release), owner="alice")
    assert started.wait(TIMEOUT)
    jobs = [queue.submit(recording(order, f"alice-{i}"), owner="alice") for i in range(3)]
    jobs += [queue.submit(recording(order, f"bob-{i}"), owner="bob") for i in range(3)]
    jobs += [queue.submit(recording(order, f"none-{i}")) for i in range(2)]
    expected = ["bob-0", "none-0", "alice-0", "bob-1", "none-1", "alice-1", "bob-2", "alice-2"]
    assert [expected[j.position - 1] for j in jobs] == [f"alice-{i}" for i in range(3)] + \
        [f"bob-{i}" for i in range(3)] + ["none-0", "none-1"]  # positions foretell the order ...
    release.set()
    for job in jobs:
        job.wait(TIMEOUT)
    assert order == expected  # ... that the workers keep


def test_one_user_may_have_at_most_max_per_owner_jobs_waiting_or_running():
    q = GenerationQueue(max_concurrent=1, name="capped", max_per_owner=2)
    started, release = threading.Event(), threading.Event()
    try:
        running = q.submit(gated(started, release), owner="alice")
        assert started.wait(TIMEOUT)
        waiting = q.submit(lambda ctx: "second", owner="alice")
        with pytest.raises(TooManyQueued, match="already have 2 generations waiting or running") as refused:
            q.submit(lambda ctx: "third", owner="alice")
        assert refused.value.status == 429 and refused.value.retry_after >= 1
        assert q.jobs_of("alice") == [running, waiting]  # the refused job was not queued
        bobs = [q.submit(lambda ctx: "bob", owner="bob") for _ in range(2)]  # other users are not affected
        q.cancel(waiting.id, by="alice")
        again = q.submit(lambda ctx: "again", owner="alice")  # a cancelled job frees its place
        release.set()
        assert [job.wait(TIMEOUT) for job in (*bobs, again)] == ["bob", "bob", "again"]
        assert q.submit(lambda ctx: "later", owner="alice").wait(TIMEOUT) == "later"  # finished ones too
    finally:
        release.set()
        q.shutdown(timeout=TIMEOUT)
