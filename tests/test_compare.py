"""Comparing networks: unit alignment, seed and value lists, verdicts, and each network a job
shared with every page."""

import os
import signal
import sys
import time
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import jobs
from core.budget import Budget
from core.compare import (
    MAX_SEEDS,
    VARIED,
    Comparing,
    SeedTraining,
    align_units,
    clean_seeds,
    clean_values,
    seed_verdict,
    setting_verdict,
    stability,
)
from core.jobs import TRAINING_THREAD
from core.params import TrainParams
from core.train import is_trained, make_model, train_mlp, training_inputs
from core.weights import hidden_weight_images

ROOT = Path(__file__).resolve().parents[1]

LONG = 1000  # max_iter of a training the test ends itself


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
    seeds, notices = clean_seeds("2, 3;3,-1,abc,, 7, 2.5, 1e1")
    assert seeds == (2, 3, 7, 10)  # 1e1 is read as the Sweep reads it: ten
    assert notices == ["'abc' is not a whole number; left out.",
                       "'2.5' is not a whole number; left out.",
                       "3 was listed twice; kept once.",
                       "-1 is outside 0 to 4,294,967,295; left out."]
    many, notices = clean_seeds(",".join(str(s) for s in range(12)))
    assert many == tuple(range(MAX_SEEDS)) and "At most 8" in notices[0]


@pytest.fixture(scope="module")
def six_and_twelve(small):
    """Networks of 6 and of 12 hidden units, trained on real digits (scaled pixels)."""
    return {units: hidden_weight_images(train_mlp(TrainParams(
        hidden_units=units, scale_pixels=True, max_iter=10), small).model) for units in (6, 12)}


def test_six_units_line_up_with_twelve_and_the_other_six_are_listed_after(images, six_and_twelve):
    """A reference of 6 units against 12 that hold those 6 (shuffled, one negated) among 6
    others: the 6 are matched first, in the reference's order; the 6 others come after."""
    others = six_and_twelve[12][:6]
    twelve = np.concatenate([others, images[[3, 0, 5, 1, 4, 2]]])
    twelve[8] *= -1  # images[5], negated
    alignment = align_units(images, twelve)
    assert alignment.order == (7, 9, 11, 6, 10, 8, 0, 1, 2, 3, 4, 5)
    assert alignment.matched == 6 and alignment.unmatched == (0, 1, 2, 3, 4, 5)
    assert alignment.correlations == pytest.approx((1, 1, 1, 1, 1, -1))
    assert alignment.similarity == pytest.approx(1.0)


def test_a_reference_of_twelve_units_matches_each_of_six_to_its_own(images, six_and_twelve):
    """The reference has more units: every unit of the smaller network is matched, in the
    order of the reference units it matches; none is left over."""
    twelve = np.concatenate([six_and_twelve[12][:6], images[[3, 0, 5, 1, 4, 2]]])
    alignment = align_units(twelve, images)
    assert alignment.partners == (6, 7, 8, 9, 10, 11)
    assert alignment.order == (3, 0, 5, 1, 4, 2) and alignment.unmatched == ()
    assert alignment.similarity == pytest.approx(1.0)


def test_trained_networks_of_6_and_12_units_line_up_either_way(six_and_twelve):
    six, twelve = six_and_twelve[6], six_and_twelve[12]
    forward, backward = align_units(six, twelve), align_units(twelve, six)
    assert sorted(forward.order) == list(range(12)) and len(forward.unmatched) == 6
    assert sorted(backward.order) == list(range(6)) and len(backward.partners) == 6
    assert 0 < forward.similarity <= 1 and 0 < backward.similarity <= 1


def test_raw_and_scaled_pixels_and_a_diverged_network_line_up_without_failing(images, small):
    """Raw pixels' weights are on another scale (correlations do not care); a network whose
    weights overflowed correlates 0 with everything instead of stopping the page."""
    raw = hidden_weight_images(train_mlp(TrainParams(max_iter=10), small).model)
    assert 0 <= align_units(images, raw).similarity <= 1
    diverged = images.copy()
    diverged[1:3] = np.nan
    diverged[4] = np.inf
    alignment = align_units(images, diverged)
    assert alignment.matched == 6 and np.isfinite(alignment.similarity)
    assert alignment.similarity == pytest.approx(3 / 6)  # three units intact, three nothing


@pytest.mark.parametrize(("name", "typed", "values", "notices"), [
    ("hidden_units", "6, 12;12, 40, 0, six, 2.5",
     (6, 12), ["'six' is not a whole number; left out.", "'2.5' is not a whole number; left out.",
               "12 was listed twice; kept once.", "40 is outside 1 to 36; left out.",
               "0 is outside 1 to 36; left out."]),
    ("alpha", "1e-4, 0.01, 1, 11, -1, much",
     (1e-4, 0.01, 1.0), ["'much' is not a number; left out.", "11 is outside 0 to 10; left out.",
                         "-1 is outside 0 to 10; left out."]),
    ("learning_rate_init", "0.001, 0.1, 2", (0.001, 0.1), ["2 is outside 1e-06 to 1; left out."]),
    ("scale_pixels", "false, true, maybe", (False, True), ["'maybe' is not yes or no; left out."]),
    ("solver", "adam, sgd, rmsprop", ("adam", "sgd"),
     ["'rmsprop' is not one of sgd, adam, lbfgs; left out."]),
    ("activation", "tanh, **relu**", ("tanh",),
     ["'**relu**' is not one of relu, tanh, logistic, identity; left out."]),
])
def test_each_varied_settings_values_are_read_by_its_own_kind(name, typed, values, notices):
    assert clean_values(name, typed) == (values, notices)


def test_at_most_eight_values_and_every_default_list_is_valid():
    many, notices = clean_values("hidden_units", ",".join(map(str, range(1, 13))))
    assert many == tuple(range(1, 9)) and notices == ["At most 8 values; kept the first 8."]
    for name, values in VARIED.items():
        query = Comparing(name, values).to_query()
        listed = query["seeds"] if name == "random_state" else query["values"]
        assert clean_values(name, listed) == (values, [])  # the URL round trip
    assert Comparing().to_query() == {"seeds": "2,3,4,5"}  # old links, unchanged


def test_raw_against_scaled_pixels_says_which_did_best_and_where_units_died(small):
    results = {scaled: train_mlp(TrainParams(scale_pixels=scaled, max_iter=10), small)
               for scaled in (False, True)}
    assert results[False].dead_units and not results[True].dead_units  # the premise
    verdict = setting_verdict(results, name="scale_pixels")
    assert not verdict.alike and not verdict.scale_pixels
    assert verdict.text.startswith("**Best: pixels scaled 0–1**, training accuracy "
                                   f"{results[True].train_accuracy:.1%}, against "
                                   f"{results[False].train_accuracy:.1%} for raw pixels 0–255.")
    assert (f"raw pixels 0–255: {len(results[False].dead_units)} of 6 dead; pixels scaled 0–1: "
            "none") in verdict.text
    assert "equivalently" not in verdict.text and "seed" not in verdict.text
    assert setting_verdict({True: results[True]}, name="scale_pixels") is None


def _seeds(small, **settings) -> tuple[dict, float]:
    """Seeds 2, 3 and 4 of one network trained on real digits, and their stability."""
    results = {seed: train_mlp(TrainParams(random_state=seed, **settings), small)
               for seed in (2, 3, 4)}
    images = {seed: hidden_weight_images(r.model) for seed, r in results.items()}
    return results, stability([align_units(images[2], images[seed]) for seed in (3, 4)])


def test_the_lessons_raw_pixels_make_no_equally_good_networks_and_the_words_say_why(small):
    """The lesson's settings: units die in every seed. The page must not call these equally
    good networks; it names each seed's dead units, the cause, and offers scaling the pixels."""
    results, score = _seeds(small, max_iter=10)
    verdict = seed_verdict(results, stability=score)
    assert not verdict.alike and verdict.scale_pixels
    assert "Equally good" not in verdict.text and "equivalently" not in verdict.text
    for seed, result in results.items():
        assert f"seed {seed} ({len(result.dead_units)} of 6)" in verdict.text
    assert "guessing scores about 25%" in verdict.text and "raw 0–255" in verdict.text


def test_seeds_stopped_before_they_finish_are_unequal_and_the_words_ask_for_more_epochs(small):
    results, score = _seeds(small, scale_pixels=True, max_iter=10)
    accuracies = sorted(r.train_accuracy for r in results.values())
    assert accuracies[-1] - accuracies[0] > 0.05  # the premise: seeds far apart
    verdict = seed_verdict(results, stability=score)
    assert not verdict.alike and not verdict.scale_pixels
    assert verdict.text.startswith("**Not equally good networks here**")
    assert f"from {accuracies[0]:.1%} to {accuracies[-1]:.1%}" in verdict.text
    assert "max_iter = 10 before the loss settled" in verdict.text


def test_seeds_that_finish_alike_are_equally_good_networks_with_different_units(small):
    results, score = _seeds(small, scale_pixels=True, max_iter=200)
    verdict = seed_verdict(results, stability=score)
    assert verdict.alike and not verdict.scale_pixels
    assert verdict.text.startswith("**Equally good networks with different units**")
    assert f"stability {score:.2f}" in verdict.text
    assert f"from {min(r.train_accuracy for r in results.values()):.1%}" in verdict.text


def test_one_seed_shows_nothing_either_way(small):
    results, _ = _seeds(small, scale_pixels=True, max_iter=10)
    assert seed_verdict({2: results[2]}, stability=1.0) is None


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
    _started(work, 41)
    os.kill(work.job(41).pid, signal.SIGKILL)
    assert work.wait(120)
    jobs = work.poll()
    assert jobs[41].state == "failed" and "killed by signal SIGKILL" in jobs[41].error
    assert jobs[42].state == "done"


def _started(work: SeedTraining, seed: int, timeout: float = 30) -> dict:
    """The jobs, once ``seed``'s worker process has sent its first epoch."""
    deadline = time.monotonic() + timeout
    while work.poll()[seed].epoch == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert work.jobs[seed].state == "training"
    return work.jobs


def test_workers_use_the_cache_folder_the_page_uses_now(sample, tmp_path, monkeypatch):
    """The fork server is started once, with the environment of that moment; a later change
    of MLP_LENS_CACHE (another server setting, a test) still holds for the networks."""
    SeedTraining(TrainParams(scale_pixels=True, max_iter=2), (51,), sample).wait(120)
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))
    params = TrainParams(scale_pixels=True, max_iter=2, random_state=52)
    work = SeedTraining(params, (52,), sample)
    assert work.wait(120) and work.jobs[52].state == "done"
    assert is_trained(params, sample)
    assert list((tmp_path / "models").rglob("output.pkl"))


def test_workers_run_only_their_seed_never_the_page(sample, tmp_path, monkeypatch):
    """Streamlit points ``__main__`` at the page it runs, and multiprocessing re-runs the main
    script in every child: a worker must train its network and nothing else."""
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


def test_without_a_usable_cache_folder_seeds_still_train_in_workers_kept_in_memory(
        sample, tmp_path, monkeypatch):
    """The worker hands its network back over its pipe; the server keeps it in memory."""
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "file"))
    params = TrainParams(scale_pixels=True, max_iter=3)
    work = SeedTraining(params, (74, 75), sample, trainers=Budget(1))
    assert work.wait(120)
    assert {seed: job.state for seed, job in work.jobs.items()} == {74: "done", 75: "done"}
    assert all(work.job(seed).pid is not None for seed in (74, 75))
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
    assert work.weights(62) is None  # waiting for its turn: nothing to show yet
    work.stop()
    assert work.finished
    assert {seed: job.state for seed, job in work.jobs.items()} == {61: "stopped", 62: "stopped"}
    assert work.job(61).wait(10) and work.job(61).state == "stopped"  # its worker ended


# Identical requests share one training. 30 units on ten digits: ~35 ms an epoch on the sample
# on one idle core, so each test's training lasts several seconds at least (much longer on a
# busy machine), long enough to act on it while it trains.
def _network(max_iter: int, **changes) -> TrainParams:
    return TrainParams(hidden_units=30, digits=tuple(range(10)), scale_pixels=True,
                       max_iter=max_iter, **changes)


def _until(condition, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _following(work: SeedTraining, seed: int) -> bool:
    job = work.poll()[seed]
    return job.state == "training" and job.following


def test_two_pages_comparing_the_same_seeds_share_one_worker_per_seed(sample, tmp_path,
                                                                      monkeypatch):
    """A teacher's link opened twice: each seed trains once, the second page follows the first's
    jobs (live epoch and weights included), and both end with the same cached networks."""
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))  # nothing cached: both must train
    before = jobs.started()
    trainers = Budget(4)
    first = SeedTraining(_network(100), (91, 92), sample, n_jobs=2, trainers=trainers)
    second = None
    try:
        assert _until(lambda: all(job.epoch for job in first.poll().values()))
        second = SeedTraining(_network(100), (91, 92), sample, n_jobs=2, trainers=trainers)
        assert _until(lambda: _following(second, 91) and _following(second, 92))
        images = second.weights(91)
        assert images is not None and images.shape == (30, 28, 28) and np.abs(images).max() > 0
        assert second.job(91) is first.job(91)
        assert second.jobs[91].place == 0 and trainers.waiting == 0  # nobody else kept in line
        assert first.wait(300) and second.wait(60)
        for work in (first, second):
            assert {seed: job.state for seed, job in work.jobs.items()} == {91: "done",
                                                                             92: "done"}
        assert jobs.started() - before == 2
        assert len(list((tmp_path / "models").rglob("output.pkl"))) == 2
        assert trainers.busy == 0 and trainers.peak == 2
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_seed_goes_on_for_its_follower_when_the_page_that_started_it_stops(sample):
    """The first visitor presses Stop: their seed stops for them, but the job keeps training
    for the second visitor, who gets the network (no second training)."""
    before = jobs.started()
    trainers = Budget(2)
    first = SeedTraining(_network(150), (93,), sample, trainers=trainers)
    second = None
    try:
        assert _until(lambda: first.poll()[93].epoch > 0)
        second = SeedTraining(_network(150), (93,), sample, trainers=trainers)
        assert _until(lambda: _following(second, 93))
        assert first.epoch(93) < 150  # still training when its visitor stops it
        first.stop()
        assert first.poll()[93].state == "stopped"
        assert second.wait(300) and second.jobs[93].state == "done"
        assert second.job(93).result is not None  # finished, never ended by the Stop
        assert jobs.started() - before == 1 and trainers.busy == 0
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_job_is_stopped_as_unwatched_only_when_no_page_waiting_for_it_looks(sample):
    """The page that started a job is closed; the one following it still polls: the job goes
    on. Once neither polls, it is stopped, its worker ends and its trainer is freed."""
    trainers = Budget(2)
    first = SeedTraining(_network(LONG), (94,), sample, trainers=trainers, unwatched_after=1.0)
    second = None
    try:
        assert _until(lambda: first.poll()[94].epoch > 0)
        second = SeedTraining(_network(LONG), (94,), sample, trainers=trainers,
                              unwatched_after=1.0)
        assert _until(lambda: first.poll() and _following(second, 94))
        # From now on the first page is closed.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # only the second page is open
            second.poll()
            time.sleep(0.2)
        assert second.poll()[94].state == "training" and trainers.busy == 1
        job = second.job(94)
        assert job.wait(20)  # nobody looks
        assert second.poll()[94].state == "stopped" and second.jobs[94].abandoned
        assert first.poll()[94].state == "stopped" and trainers.busy == 0
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_seed_trained_live_on_explore_is_joined_not_trained_again(sample):
    """The network is training live (the Explore page): a Compare seed of it follows that job,
    and the Explore visitor leaving does not end it while the Compare page waits for it. The
    reverse too: Explore asking for a network a Compare page trains follows its job."""
    params = _network(120, random_state=95)
    trainers = Budget(2)
    live = jobs.start(params, sample, session="explore", trainers=trainers)
    work = None
    try:
        assert _until(lambda: live.snapshot() is not None)
        started = jobs.started()
        work = SeedTraining(_network(120), (95,), sample, trainers=trainers)
        assert _until(lambda: _following(work, 95))
        assert work.job(95) is live
        assert work.epoch(95) > 0 and work.weights(95).shape == (30, 28, 28)
        live.release("explore", stop=True)  # the Explore visitor moves on
        assert work.wait(300) and work.jobs[95].state == "done"
        assert live.result is not None and not live.result.stopped
        assert jobs.started() == started  # no second training
        assert is_trained(params, sample)

        work = SeedTraining(_network(LONG), (195,), sample, trainers=trainers)
        assert _until(lambda: work.poll()[195].epoch > 0)
        explore = jobs.start(_network(LONG, random_state=195), sample, session="explore")
        assert explore is work.job(195) and jobs.started() == started + 1
    finally:
        live.release("explore", stop=True)
        if work is not None:
            work.job(195).release("explore", stop=True)
            work.stop()


def test_a_killed_worker_fails_the_seed_on_every_page_and_retry_trains_it(sample):
    """The worker both pages follow is killed: both show the failure; Retry on one trains the
    seed in a new worker (exactly one more), and the other page follows that one."""
    before = jobs.started()
    trainers = Budget(2)
    first = SeedTraining(_network(150), (96,), sample, trainers=trainers)
    second = None
    try:
        assert _until(lambda: first.poll()[96].epoch > 0)
        second = SeedTraining(_network(150), (96,), sample, trainers=trainers)
        assert _until(lambda: _following(second, 96))
        killed = first.job(96)
        os.kill(killed.pid, signal.SIGKILL)
        assert first.wait(30) and second.wait(30)
        for work in (first, second):
            assert work.jobs[96].state == "failed"
            assert "killed by signal SIGKILL" in work.jobs[96].error
        second.retry(96)
        assert second.job(96) is not killed and trainers.busy + trainers.waiting == 1
        assert second.wait(300) and second.jobs[96].state == "done"
        assert jobs.started() - before == 2 and trainers.busy == 0
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_waiting_seed_looks_again_before_it_starts_a_worker(sample):
    """While a seed waits for a trainer, its network is trained elsewhere and cached: once
    granted, it is done and gives the trainer back at once, without a worker. A second page
    asking for a network waiting in line joins the same job: one place in line."""
    trainers = Budget(1)
    held = trainers.request("another visitor")
    before = jobs.started()
    work = SeedTraining(_network(5), (97,), sample, trainers=trainers)
    other = None
    try:
        assert _until(lambda: work.poll()[97].state == "waiting")
        assert work.jobs[97].place == 1
        train_mlp(_network(5, random_state=97), sample)  # e.g. another server, meanwhile
        held.release()
        assert work.wait(30) and work.jobs[97].state == "done"
        assert jobs.started() == before and trainers.busy == 0

        held = trainers.request("another visitor")
        work = SeedTraining(_network(LONG), (98,), sample, trainers=trainers)
        assert _until(lambda: work.poll()[98].state == "waiting")
        other = SeedTraining(_network(LONG), (98,), sample, trainers=Budget(1))  # another budget
        assert other.job(98) is work.job(98) and other.poll()[98].state == "waiting"
        assert trainers.waiting == 1 and jobs.started() == before
    finally:
        held.release()
        work.stop()
        if other is not None:
            other.stop()


def test_a_seed_whose_live_training_is_paused_shows_it_held_and_frees_its_trainer(sample):
    """Pause on Explore holds the one training of that network: the Compare card says it is
    held (its trainer goes to whoever waits), and it goes on when the visitor resumes."""
    trainers = Budget(1)
    live = jobs.start(_network(40, random_state=99), sample, session="explore",
                      trainers=trainers)
    work = None
    try:
        assert _until(lambda: live.snapshot() is not None)
        work = SeedTraining(_network(40), (99,), sample, trainers=trainers)
        assert _until(lambda: _following(work, 99))
        live.pause()
        assert _until(lambda: work.poll()[99].state == "held")
        assert trainers.busy == 0 and work.weights(99) is not None
        live.resume()
        assert work.wait(300) and work.jobs[99].state == "done"
    finally:
        live.release("explore", stop=True)
        if work is not None:
            work.stop()


def test_when_no_worker_can_start_each_seed_fails_with_the_reason_and_frees_its_trainer(
        sample, monkeypatch):
    """The machine refuses a new process (out of process slots, say): the seeds fail with a
    message the page shows, instead of waiting forever with a trainer held."""
    def no_process(self):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(jobs.Job, "_start_worker", no_process)
    trainers = Budget(2)
    params = TrainParams(max_iter=5, scale_pixels=True, random_state=197)
    work = SeedTraining(params, [197, 198], sample, trainers=trainers)
    try:
        assert work.wait(30)
        assert [job.state for job in work.poll().values()] == ["failed", "failed"]
        assert all("Resource temporarily unavailable" in job.error for job in work.jobs.values())
        assert trainers.busy == 0 and trainers.waiting == 0
    finally:
        work.stop()


STAND_IN_SERVER = """
import time
from core.compare import SeedTraining
from core.data import load_sample
from core.params import TrainParams
from core.process import configure_process

configure_process()
data = load_sample()
params = TrainParams(hidden_units=30, digits=tuple(range(10)), scale_pixels=True, max_iter=1000,
                     learning_rate_init=1e-4)
work = SeedTraining(params, (96, 97), data)
while not all(work.epoch(seed) > 0 for seed in (96, 97)):
    work.poll()
    time.sleep(0.05)
print("TRAINING", flush=True)
time.sleep(300)
"""


def test_workers_end_within_seconds_when_the_server_is_killed(tmp_path):
    """A process running trainings (the server) dies by SIGKILL: no training, fork server or
    helper process it started is left within 5 s."""
    import subprocess

    import psutil

    env = {**os.environ, "MLP_LENS_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", STAND_IN_SERVER], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    started = []
    try:
        assert server.stdout.readline().strip() == "TRAINING"
        started = psutil.Process(server.pid).children(recursive=True)
        assert sum(p.name() == TRAINING_THREAD for p in started) == 2
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 5
        left = started
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"still running 5 s after the server died: {left}"
    finally:
        server.kill()
        server.wait()
        for process in started:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
