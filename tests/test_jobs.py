"""Jobs: trainings in worker processes, with identical results, shared by every page that asks,
paused and stepped across the process boundary, stopped, abandoned, or killed."""

import os
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from threadpoolctl import threadpool_limits

from core import jobs, pace
from core.jobs import running
from core.jobs import start as start_training
from core.params import TrainParams
from core.train import is_trained, make_model, train_mlp, training_inputs
from core.weights import DEFAULT_STYLE, WeightStyle

ROOT = Path(__file__).resolve().parents[1]


def _reference_coefs(params, data):
    """A plain fit with one BLAS thread, as MLP Lens trains: with two, OpenBLAS may sum in
    another order (lbfgs on this sample differs in the last bits)."""
    X, y = training_inputs(params, data)
    with threadpool_limits(limits=1, user_api="blas"):
        return make_model(params).fit(X, y).coefs_


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_watching_epochs_does_not_change_the_network(small, solver):
    """A fit observed epoch by epoch equals an uninterrupted fit, for every solver."""
    params = TrainParams(solver=solver, max_iter=15, scale_pixels=True, random_state=21)
    epochs = []
    result = train_mlp(params, small, on_epoch=lambda model: epochs.append(model.solver))
    assert len(epochs) >= 1
    for ours, reference in zip(result.model.coefs_, _reference_coefs(params, small),
                               strict=True):
        np.testing.assert_array_equal(ours, reference)
    # the per-instance hook is gone: the cached model pickles as a plain MLPClassifier
    assert "_update_no_improvement_count" not in vars(result.model)
    assert "_loss_grad_lbfgs" not in vars(result.model)


def test_a_background_run_finishes_into_the_cache_with_the_same_network(small):
    params = TrainParams(max_iter=25, scale_pixels=True, random_state=22)
    run = start_training(params, small, session="a")
    assert run.wait(60) and run.error is None
    assert run.snapshot().epoch == run.result.n_iter
    assert is_trained(params, small)
    for ours, reference in zip(run.result.model.coefs_, _reference_coefs(params, small),
                               strict=True):
        np.testing.assert_array_equal(ours, reference)


def test_two_sessions_asking_for_one_network_share_one_run(small):
    params = TrainParams(max_iter=400, scale_pixels=True, random_state=23)
    first = start_training(params, small, session="a")
    second = start_training(params, small, session="b")
    assert first is second
    first.release("a", stop=True)  # b still watches: training goes on
    assert not first.wait(0.5)
    first.release("b", stop=True)
    assert first.wait(30)
    assert first.state == "stopped" and first.result is None
    assert not is_trained(params, small)  # a partial network is never cached


def test_a_session_gone_silent_does_not_keep_a_run_another_one_leaves(sample, monkeypatch):
    """A session that stopped looking (its browser went away, or reconnected as a new
    session, without releasing anything) does not keep a run going once the last page that
    still looks at it moves on; one that still looks does."""
    monkeypatch.setattr(jobs, "STILL_WATCHING_SECONDS", 1.0)
    # A small step on every digit: the loss keeps falling for all 1000 epochs, so it cannot
    # converge and end before the test is done with it (a worker process trains the 1,200
    # small digits 1000 times in about 2 s: too few).
    params = TrainParams(max_iter=1000, scale_pixels=True, random_state=25, hidden_units=20,
                         learning_rate_init=1e-4, digits=tuple(range(10)))
    run = start_training(params, sample, session="gone")
    try:
        assert start_training(params, sample, session="here") is run
        run.seen("gone")
        run.release("here", stop=True)  # "gone" looked just now: it still watches
        assert not run.wait(0.5)
        run.watch("here")
        time.sleep(1.5)  # "gone" says nothing more; "here" keeps looking
        run.seen("here")
        run.release("here", stop=True)
        assert run.wait(30), "the run should stop: no session looks at it any more"
        assert run.state == "stopped"
    finally:
        run.release("gone", stop=True)
        run.release("here", stop=True)


def test_an_abandoned_run_keeps_training_and_fills_the_cache(small):
    params = TrainParams(max_iter=30, scale_pixels=True, random_state=24)
    run = start_training(params, small, session="a")
    run.release("a", stop=False)
    assert run.wait(60)
    assert run.state == "done" and not run.result.stopped
    assert is_trained(params, small)
    assert run not in running()


def _wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_pause_holds_step_advances_one_epoch_and_resume_gives_the_uninterrupted_network(small):
    """Paused, the epoch stays and no CPU is spent; a step is exactly one epoch; resumed, the
    fit ends with the very weights of a plain fit, and that network is cached. Its worker
    trains at a lower priority than the server, whose pages go first."""
    params = TrainParams(max_iter=60, scale_pixels=True, random_state=25, hidden_units=12)
    run = start_training(params, small, session="a")
    _wait_until(lambda: run.snapshot() is not None)
    run.pause()
    _wait_until(lambda: run.held)
    held_at = run.snapshot().epoch
    worker = psutil.Process(run.pid)
    assert worker.nice() == min(os.nice(0) + jobs.WORKER_NICENESS, 19)
    cpu = sum(worker.cpu_times()[:2])
    time.sleep(1.0)
    assert run.snapshot().epoch == held_at and not run.done
    assert sum(worker.cpu_times()[:2]) - cpu < 0.2  # its worker waits, it does not train
    run.step()
    _wait_until(lambda: run.held and run.snapshot().epoch == held_at + 1)
    time.sleep(0.3)
    assert run.snapshot().epoch == held_at + 1  # exactly one
    run.resume()
    assert run.wait(60) and run.error is None and not run.result.stopped
    assert run.result.n_iter == 60 or run.result.converged
    for ours, reference in zip(run.result.model.coefs_, _reference_coefs(params, small),
                               strict=True):
        np.testing.assert_array_equal(ours, reference)
    assert is_trained(params, small)
    assert run.result.fit_seconds < 1.0 + 0.5 * run.result.n_iter  # the pause is not counted


def test_a_held_run_that_its_visitor_leaves_stops_at_once(small):
    params = TrainParams(max_iter=200, scale_pixels=True, random_state=26)
    run = start_training(params, small, session="a")
    _wait_until(lambda: run.snapshot() is not None)
    run.pause()
    _wait_until(lambda: run.held)
    run.release("a", stop=True)
    assert run.wait(5)
    assert run.state == "stopped" and not is_trained(params, small)
    assert not psutil.pid_exists(run.pid) or psutil.Process(run.pid).status() == "zombie"


def test_the_estimate_comes_from_similar_runs_and_the_own_pace(small):
    """After a run of a solver has been timed, a new one of that solver gets an estimate."""
    params = TrainParams(max_iter=12, scale_pixels=True, random_state=27, solver="adam")
    run = start_training(params, small, session="a")
    assert run.wait(60)
    images = run.images
    other = TrainParams(max_iter=100, scale_pixels=True, random_state=28, solver="adam",
                        hidden_units=12)
    per_epoch = pace.seconds_per_epoch(other, images)
    assert per_epoch is not None and per_epoch > 0
    assert pace.estimate(other, images) == pytest.approx(100 * per_epoch)
    assert pace.estimate(other, images, done=40, own=0.5) == pytest.approx(30.0)
    assert pace.describe(30.0) == "about 30 s" and pace.describe(300) == "about 5 min"


def test_two_sessions_watching_one_run_make_one_frame_per_epoch(small):
    """Everyone watching a run shares one drawing per epoch (and weight style): looking again
    without a new epoch draws nothing; a step draws once more, however many pages look."""
    params = TrainParams(max_iter=1000, scale_pixels=True, random_state=27, hidden_units=12,
                         learning_rate_init=1e-4)
    run = start_training(params, small, session="a")
    try:
        assert start_training(params, small, session="b") is run
        _wait_until(lambda: run.snapshot() is not None and run.snapshot().epoch >= 2)  # a curve
        run.pause()
        _wait_until(lambda: run.held)
        first = run.frame(DEFAULT_STYLE)
        assert run.draws == 1
        for _ in range(6):  # a's and b's pages refreshing, three times each
            assert run.frame(DEFAULT_STYLE) is first
        assert run.draws == 1
        assert first.epoch == run.snapshot().epoch and first.units == 12
        assert first.grid_png.startswith(b"\x89PNG")
        assert [row["loss"] for row in first.loss_spec["data"]["values"]] == \
            list(run.snapshot().loss_curve)
        grey = run.frame(WeightStyle("lesson", "unit"))  # another visitor's colours
        assert grey.grid_png != first.grid_png and run.draws == 2
        held_at = first.epoch
        run.step()
        _wait_until(lambda: run.held and run.snapshot().epoch == held_at + 1)
        later = [run.frame(DEFAULT_STYLE) for _ in range(4)]
        assert {frame.epoch for frame in later} == {held_at + 1}
        assert run.draws == 3
    finally:
        run.release("a", stop=True)
        run.release("b", stop=True)
    assert run.wait(30)


ABANDONED = """
import gc, time, psutil
from core.process import configure_process
from core.data import load_sample
from core.params import TrainParams
from core.jobs import start as start_training
configure_process()
data = load_sample()
rss = lambda: psutil.Process().memory_info().rss
before, runs = rss(), []
for seed in range(30):
    params = TrainParams(hidden_units=24, digits=tuple(range(10)), scale_pixels=True,
                         max_iter=1000, random_state=500 + seed)
    runs.append(start_training(params, data, session=f"s{seed}", unwatched_after=2.0))
    time.sleep(0.3)
assert all(run.wait(120) and run.abandoned for run in runs)
gc.collect()
print((rss() - before) / 2**20)
"""


def test_thirty_abandoned_trainings_give_their_memory_back(tmp_path):
    """Thirty visitors start a training each and leave: once every run has stopped unwatched
    (the runs themselves still held, as sessions hold them), the process is at most 60 MB
    larger than before (measured: 46 MB smaller). It was 240 MB larger, for good: each
    training thread's malloc arena kept what it freed, and each run its last network."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MLP_LENS_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", ABANDONED], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    grown = float(done.stdout.strip().splitlines()[-1])
    assert grown < 60, f"the process grew by {grown:.0f} MB"


def test_a_job_whose_worker_is_killed_fails_alone_and_trains_when_asked_again(small):
    """SIGKILL on one job's worker process: that job fails with a message saying so, the
    job beside it finishes, and asking again starts a new worker that trains the network."""
    import os
    import signal

    slow = TrainParams(max_iter=1000, scale_pixels=True, random_state=31, hidden_units=20,
                       learning_rate_init=1e-4)
    beside = TrainParams(max_iter=20, scale_pixels=True, random_state=32)
    victim = start_training(slow, small, session="a")
    other = start_training(beside, small, session="b")
    _wait_until(lambda: victim.snapshot() is not None)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(30) and victim.state == "failed"
    assert "died (killed by signal SIGKILL)" in victim.error
    assert other.wait(60) and other.state == "done" and is_trained(beside, small)
    assert not is_trained(slow, small)
    again = start_training(slow, small, session="a")
    assert again is not victim and again.pid != victim.pid
    _wait_until(lambda: again.snapshot() is not None)
    again.release("a", stop=True)
    assert again.wait(30) and again.state == "stopped"


def test_the_network_as_it_stands_comes_from_the_worker_at_its_epoch(small):
    """Stop keeps the network at its last epoch: asked of a held worker, it is the network
    of the epoch shown, with that epoch's first-layer weights."""
    from core.train import describe_partial

    params = TrainParams(max_iter=300, scale_pixels=True, random_state=33, hidden_units=9)
    run = start_training(params, small, session="a")
    try:
        _wait_until(lambda: run.snapshot() is not None and run.snapshot().epoch >= 3)
        run.pause()
        _wait_until(lambda: run.held)
        model, epoch, seconds = run.network_now()
        assert epoch == run.snapshot().epoch and model.n_iter_ == epoch
        np.testing.assert_array_equal(model.coefs_[0], run.snapshot().weights)
        partial = describe_partial(params, small, model, epoch=epoch, seconds=seconds)
        assert partial.stopped and partial.n_iter == epoch
        assert f"stopped by you at epoch {epoch}" in partial.stop_reason
    finally:
        run.release("a", stop=True)
    assert run.wait(30)
