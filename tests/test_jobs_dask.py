"""Live trainings on a real Dask cluster, through the job model every page uses.

The cluster is test_sweep_dask's: the ``dask scheduler`` and two ``dask worker``
processes (one thread each, empty cache and data folders of their own), so
whatever data they train on came from this process. A job there streams its
epochs back, pauses, steps and resumes, and caches the very network a local fit
gives; a worker killed under a job fails that job alone; a scheduler lost sends
the trainings back to local worker processes, with one notice.
"""

import os
import signal
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bench.cluster import ROOT, START_TIMEOUT, local_cluster
from core import jobs
from core.budget import budget, max_trainings
from core.params import TrainParams
from core.train import is_trained, train_mlp, train_once
from tests.test_sweep_dask import cluster  # noqa: F401 - the fixture

# A small step: the loss keeps falling, so the fit runs all its epochs (a second or two here).
SLOW = {"scale_pixels": True, "hidden_units": 12, "learning_rate_init": 1e-4}


@pytest.fixture
def on_the_cluster(cluster):  # noqa: F811 - the fixture imported above
    """Jobs started in the test train on the cluster; afterwards, locally again."""
    jobs.use_cluster(cluster.address)
    try:
        yield cluster
    finally:
        jobs.use_cluster(None)


def _wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _assert_local_network(result, params, data) -> None:
    """``result`` is, bit for bit, the network a plain local fit gives with one BLAS thread."""
    with threadpool_limits(limits=1, user_api="blas"):
        reference = train_once(params, data)
    assert result.n_iter == reference.n_iter
    for ours, theirs in zip(result.model.coefs_ + result.model.intercepts_,
                            reference.model.coefs_ + reference.model.intercepts_, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_live_training_on_the_cluster_streams_pauses_resumes_and_caches_the_local_network(
        on_the_cluster, small):
    """Asked for as a page asks (``jobs.start``): epochs arrive while it trains on a Dask
    worker; paused it holds, with no trainer; a step is one epoch; resumed it finishes, and
    the cache holds exactly the network a local training gives. The budget is the cluster's
    two worker threads."""
    params = TrainParams(max_iter=200, random_state=81, **SLOW)
    run = jobs.start(params, small, session="a")
    assert jobs.start(params, small, session="b") is run  # another page follows it
    run.release("b", stop=False)
    seen = set()

    def two_epochs_seen() -> bool:
        snapshot = run.snapshot()
        if snapshot is not None:
            seen.add(snapshot.epoch)
        return len(seen) >= 2

    try:
        _wait_until(two_epochs_seen)
        run.pause()
        _wait_until(lambda: run.held)
        assert run.worker in on_the_cluster.workers and budget().limit == 2
        assert budget().busy == 0  # held: its trainer went back
        held_at = run.snapshot().epoch
        assert max(seen) <= held_at < params.max_iter  # epochs seen while it trained
        time.sleep(0.5)
        assert run.snapshot().epoch == held_at and not run.done
        run.step()
        _wait_until(lambda: run.held and run.snapshot().epoch == held_at + 1)
        run.resume()
        assert run.wait(120) and run.error is None, run.error
    finally:
        run.release("a", stop=True)
    assert run.result.n_iter == params.max_iter and not run.result.stopped
    _assert_local_network(run.result, params, small)
    assert is_trained(params, small)
    _assert_local_network(train_mlp(params, small), params, small)  # as the cache holds it


def test_a_job_whose_dask_worker_is_killed_fails_alone_and_trains_when_asked_again(
        on_the_cluster, small):
    """SIGKILL on the Dask worker process training one job: that job fails with a message
    naming the worker, the job on the other worker finishes, and asking again trains the
    network on the cluster (its worker's nanny has started a new one); stopped, that
    training ends on its worker too."""
    from distributed import Client

    slow = TrainParams(max_iter=1000, random_state=82, **SLOW)
    beside = TrainParams(max_iter=30, scale_pixels=True, random_state=83)
    victim = jobs.start(slow, small, session="a")
    _wait_until(lambda: victim.snapshot() is not None)
    other = jobs.start(beside, small, session="b")
    with Client(on_the_cluster.address, timeout=30) as client:
        pid = client.run(os.getpid, workers=[victim.worker])[victim.worker]
        os.kill(pid, signal.SIGKILL)
        assert victim.wait(30) and victim.state == "failed"
        assert f"the Dask worker training it ({victim.worker}) was lost" in victim.error
        assert other.wait(60) and other.state == "done" and is_trained(beside, small)
        assert not is_trained(slow, small)
        again = jobs.start(slow, small, session="a")
        try:
            assert again is not victim
            _wait_until(lambda: again.snapshot() is not None)
            assert again.worker.startswith("tcp://")
        finally:
            again.release("a", stop=True)
        assert again.wait(30) and again.state == "stopped"
        _wait_until(lambda: not any(client.processing().values()), 30)  # its fit ended there
        client.wait_for_workers(2, timeout=START_TIMEOUT)  # as it was, for the tests after


def test_an_unreachable_scheduler_leaves_the_trainings_here_with_a_notice(small):
    """Nothing listens at the address: the training runs in a local worker process, and the
    notice says why."""
    jobs.use_cluster("tcp://127.0.0.1:9")
    try:
        params = TrainParams(max_iter=5, scale_pixels=True, random_state=84)
        run = jobs.start(params, small, session="a")
        assert run.wait(60) and run.state == "done" and run.worker.startswith("local:")
        assert "cannot be reached" in jobs.backend_notice()
        assert "Trainings run on this machine instead." in jobs.backend_notice()
        assert budget().limit == max_trainings()
    finally:
        jobs.use_cluster(None)


def test_a_lost_scheduler_sends_the_trainings_here_with_one_notice(small, tmp_path):
    """A cluster of its own (a scheduler and a worker) trains a job; its scheduler is killed:
    the job starts over in a local worker process and caches the local network, later jobs
    train locally, and one notice says so."""

    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLP_LENS_CACHE": str(tmp_path / "worker")}
    env.pop("MLP_LENS_DATA", None)
    with local_cluster(tmp_path, workers=1, env=env) as running:
        address, scheduler = running.address, running.scheduler
        try:
            jobs.use_cluster(address)
            params = TrainParams(max_iter=300, random_state=85, **SLOW)
            run = jobs.start(params, small, session="a")
            _wait_until(lambda: run.snapshot() is not None and run.worker is not None)
            assert run.worker.startswith("tcp://")
            scheduler.kill()
            assert run.wait(120) and run.state == "done", run.error
            assert run.worker.startswith("local:")
            notice = jobs.backend_notice()
            assert f"The Dask scheduler at {address} was lost" in notice
            _assert_local_network(run.result, params, small)
            later = jobs.start(TrainParams(max_iter=5, scale_pixels=True, random_state=86),
                               small, session="a")
            assert later.wait(60) and later.worker.startswith("local:")
            assert jobs.backend_notice() == notice and budget().limit == max_trainings()
        finally:
            jobs.use_cluster(None)
