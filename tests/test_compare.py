"""Comparing seeds: unit alignment, seed lists, and training in worker processes."""

import os
import signal
import sys
import time
import types
from dataclasses import replace

import numpy as np
import pytest

from core.budget import Budget
from core.compare import MAX_SEEDS, SeedTraining, align_units, clean_seeds, stability
from core.params import TrainParams
from core.train import is_trained, make_model, train_mlp, training_inputs
from core.weights import hidden_weight_images


@pytest.fixture(scope="module")
def images(small):
    return hidden_weight_images(train_mlp(TrainParams(scale_pixels=True, max_iter=10), small).model)


def test_a_known_permutation_of_units_is_recovered_exactly(images):
    permutation = np.array([3, 0, 5, 1, 4, 2])
    alignment = align_units(images, images[permutation])
    # reference unit i is unit order[i] of the shuffled network
    assert np.array_equal(permutation[list(alignment.order)], np.arange(6))
    assert alignment.correlations == pytest.approx((1.0,) * 6)
    assert alignment.similarity == pytest.approx(1.0)


def test_a_network_is_identical_to_itself(images):
    alignment = align_units(images, images)
    assert alignment.order == tuple(range(6))
    assert alignment.similarity == pytest.approx(1.0)
    assert stability([alignment, alignment]) == pytest.approx(1.0)


def test_a_negated_unit_matches_with_correlation_minus_one(images):
    flipped = images.copy()
    flipped[2] *= -1
    alignment = align_units(images, flipped)
    assert alignment.correlations[2] == pytest.approx(-1.0)
    assert alignment.similarity == pytest.approx(1.0)


def test_different_seeds_are_less_alike_than_a_network_with_itself(small):
    first, second = (hidden_weight_images(train_mlp(
        TrainParams(scale_pixels=True, max_iter=10, random_state=s), small).model) for s in (2, 3))
    assert align_units(first, second).similarity < 0.9


def test_seed_lists_are_cleaned_with_a_notice_for_each_problem():
    seeds, notices = clean_seeds(["2", " 3", "3", "-1", "abc", "", "7"])
    assert seeds == (2, 3, 7)
    assert len(notices) == 3
    many, notices = clean_seeds([str(s) for s in range(12)])
    assert many == tuple(range(MAX_SEEDS)) and "At most 8" in notices[0]


def test_workers_train_seeds_in_parallel_into_the_cache(sample):
    """Worker processes give exactly the networks a direct training gives."""
    params = TrainParams(scale_pixels=True, max_iter=8)
    work = SeedTraining(params, (31, 32), sample, n_jobs=2)
    assert work.wait(120)
    assert {seed: job.state for seed, job in work.jobs.items()} == {31: "done", 32: "done"}
    for seed in (31, 32):
        seed_params = TrainParams(scale_pixels=True, max_iter=8, random_state=seed)
        assert is_trained(seed_params, sample)
        from_worker = train_mlp(seed_params, sample)  # loaded from the cache the worker filled
        X, y = training_inputs(seed_params, sample)
        direct = make_model(seed_params).fit(X, y)
        for ours, reference in zip(from_worker.model.coefs_, direct.coefs_, strict=True):
            np.testing.assert_array_equal(ours, reference)
    again = SeedTraining(params, (31, 32), sample)
    assert all(job.state == "done" for job in again.jobs.values())  # cached: nothing to start


def test_a_crashed_worker_fails_its_seed_and_the_others_still_finish(sample):
    work = SeedTraining(TrainParams(scale_pixels=True, max_iter=150), (41, 42), sample, n_jobs=2,
                        trainers=Budget(2))
    jobs = _started(work, 41)
    os.kill(jobs[41].process.pid, signal.SIGKILL)
    start = time.monotonic()
    assert work.wait(120)
    assert time.monotonic() - start < 120
    assert jobs[41].state == "failed" and "exit code -9" in jobs[41].error
    assert jobs[42].state == "done"


def _started(work: SeedTraining, seed: int, timeout: float = 30) -> dict:
    """The jobs, once ``seed``'s worker process has started."""
    deadline = time.monotonic() + timeout
    while work.poll()[seed].state != "training" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert work.jobs[seed].state == "training"
    return work.jobs


def test_workers_use_the_cache_folder_the_page_uses_now(sample, tmp_path, monkeypatch):
    """The fork server is started once, with the environment of that moment; a later change
    of MLP_LENS_CACHE (another server setting, a test) still reaches the workers."""
    SeedTraining(TrainParams(scale_pixels=True, max_iter=2), (51,), sample).wait(120)
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))
    params = TrainParams(scale_pixels=True, max_iter=2, random_state=52)
    work = SeedTraining(params, (52,), sample)
    assert work.wait(120) and work.jobs[52].state == "done"
    assert is_trained(params, sample)
    assert list((tmp_path / "models").rglob("output.pkl"))


def test_workers_run_only_their_seed_never_the_page(sample, tmp_path, monkeypatch):
    """Streamlit points ``__main__`` at the page it runs, and multiprocessing re-runs the main
    script in every child: a seed worker must train its seed and nothing else."""
    ran = tmp_path / "page-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(ran)!r}, 'a').write('a worker ran the page\\n')\n")
    streamlit_main = types.ModuleType("__main__")  # what Streamlit installs: no __spec__
    streamlit_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", streamlit_main)
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "cache"))
    work = SeedTraining(TrainParams(scale_pixels=True, max_iter=3), (71, 72), sample, n_jobs=2,
                        trainers=Budget(2))
    assert work.wait(120) and all(job.state == "done" for job in work.jobs.values())
    assert not ran.exists(), ran.read_text()
    trained = list((tmp_path / "cache" / "models").rglob("output.pkl"))
    assert len(trained) == 2, "a compare run of two seeds trains two networks"


def test_a_changed_data_copy_fails_only_the_worker_that_read_it(sample, tmp_path):
    """A worker reads the copy into memory and checks it against the page's data."""
    from core.data import _write_copy, open_copy

    other = tmp_path / "copy.npy"
    _write_copy(other, sample.X[::-1], sample.y[::-1])  # whole and checksummed, but other data
    with pytest.raises(ValueError, match="not the data"):
        open_copy(other, source="sample", note="", fingerprint=sample.fingerprint)
    other.write_bytes(other.read_bytes()[:4096])
    with pytest.raises(ValueError, match="no usable"):
        open_copy(other, source="sample", note="", fingerprint=sample.fingerprint)


def test_seeds_train_after_the_data_copy_was_truncated(tmp_path, monkeypatch):
    """The page checks the copy before it starts a worker and writes it again if it changed."""
    from core.data import load_sample

    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))
    data = load_sample()
    with open(data.path, "r+b") as copy:
        copy.truncate(4096)
    work = SeedTraining(TrainParams(scale_pixels=True, max_iter=2), (73,), data,
                        trainers=Budget(1))
    assert work.wait(120) and work.jobs[73].state == "done", work.jobs[73].error


def test_without_a_usable_cache_folder_seeds_train_in_the_server(sample, tmp_path, monkeypatch):
    """A worker could not hand its network back: the seeds train in threads, kept in memory."""
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "file"))
    params = TrainParams(scale_pixels=True, max_iter=3)
    work = SeedTraining(params, (74, 75), sample, trainers=Budget(1))
    assert work.wait(120)
    assert {seed: job.state for seed, job in work.jobs.items()} == {74: "done", 75: "done"}
    assert all(job.process is None for job in work.jobs.values())
    assert is_trained(replace(params, random_state=74), sample)


def test_a_seed_shows_its_weights_while_it_trains_and_stop_ends_the_rest(sample):
    """The live view reads each worker's latest weights; Stop ends what is still training."""
    work = SeedTraining(TrainParams(scale_pixels=True, max_iter=400, hidden_units=5), (61, 62),
                        sample, n_jobs=1, trainers=Budget(1))
    deadline = time.monotonic() + 120
    while work.epoch(61) < 2 and time.monotonic() < deadline:
        work.poll()
        time.sleep(0.05)
    images = work.weights(61)
    assert images is not None and images.shape == (5, 28, 28)
    assert np.abs(images).max() > 0
    assert work.weights(62) is None  # waiting for a free worker: nothing to show yet
    work.stop()
    assert work.finished
    assert {seed: job.state for seed, job in work.jobs.items()} == {61: "stopped", 62: "stopped"}
