"""Training: exactly the lesson's network, cached on disk, with honest diagnostics."""

import ast
import os
import shutil
import time
import warnings
from dataclasses import replace

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from core.cache import cache_dir
from core.data import MnistData, load_mnist
from core.params import TrainParams
from core.train import (
    TrainingFailed,
    TrainingFailure,
    cached_failure,
    dead_units_cause,
    is_trained,
    make_model,
    train_mlp,
    training_state,
    trainings_run,
)
from tests.fresh_process import blas_threads_in_a_fresh_process, run_script, same_network
from tests.openml_cache import write_openml_cache, write_shared_openml_cache

LESSON_CODE = """
import numpy as np
from sklearn.datasets import fetch_openml
from sklearn.neural_network import MLPClassifier

X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
X5, y5 = X[y <= "3"], y[y <= "3"]
mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, alpha=1e-4, solver="sgd",
                    random_state=2)
mlp.fit(X5, y5)
print(mlp.n_iter_, len(y5))
"""


@pytest.fixture(scope="module")
def openml_home(tmp_path_factory, small):
    """A scikit-learn data folder where ``fetch_openml("mnist_784")`` finds 1,200 real digits."""
    home = tmp_path_factory.mktemp("sklearn-data")
    write_openml_cache(home, small.X, small.y)
    return home


def test_default_params_give_exactly_the_lessons_weights(openml_home, tmp_path):
    """The lesson's own code, run as a person runs it (a new Python, BLAS with every core),
    gives the coefs_ of TrainParams() on the same digits."""
    output, arrays = run_script(LESSON_CODE, tmp_path, data_home=openml_home)
    n_iter, n_samples = map(int, output.split())

    result = train_mlp(TrainParams(), load_mnist(openml_home))

    assert len(result.model.coefs_) == 2
    assert result.layer_shapes == ((784, 6), (6, 4))
    assert same_network(arrays, result.model)
    assert (result.n_iter, result.n_samples) == (n_iter, n_samples)
    assert result.test_accuracy is None and result.confusion is None and result.n_test == 0


def test_the_reference_process_runs_blas_with_every_core():
    """The fidelity tests' references really run with the machine's threads, not with the one
    thread MLP Lens gives BLAS in this process."""
    threads = blas_threads_in_a_fresh_process()
    assert threads > 1 if len(os.sched_getaffinity(0)) > 1 else threads == 1


def test_a_trained_config_loads_from_disk_without_training(small):
    """The persistent cache: the second call trains nothing and takes well under a second."""
    params = TrainParams(hidden_units=4, max_iter=20, scale_pixels=True, random_state=11)
    assert not is_trained(params, small)
    first = train_mlp(params, small)
    before = trainings_run()
    start = time.perf_counter()
    again = train_mlp(params, small)
    assert time.perf_counter() - start < 0.5
    assert trainings_run() == before
    assert is_trained(params, small)
    np.testing.assert_array_equal(first.model.coefs_[0], again.model.coefs_[0])


def test_the_cache_key_includes_the_data(small):
    params = TrainParams(max_iter=3, scale_pixels=True, random_state=12)
    train_mlp(params, small)
    other = MnistData(small.X[::-1].copy(), small.y[::-1].copy(), source="sample", note="")
    assert other.fingerprint != small.fingerprint
    assert not is_trained(params, other)


def test_a_damaged_model_cache_file_is_retrained_not_a_crash(small):
    params = TrainParams(max_iter=4, scale_pixels=True, random_state=13)
    good = train_mlp(params, small)
    outputs = [p for p in (cache_dir() / "models").rglob("output.pkl")]
    assert outputs
    for path in outputs:
        path.write_bytes(path.read_bytes()[:40])  # truncated, as after a crash mid-write
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib warns that it recomputes
        again = train_mlp(params, small)
    np.testing.assert_array_equal(good.model.coefs_[0], again.model.coefs_[0])


def test_the_lessons_settings_leave_units_dead_and_scaling_fixes_it(sample):
    """Raw 0-255 pixels with sgd kill most units on real digits; dividing by 255 trains well."""
    lesson = train_mlp(TrainParams(), sample)
    scaled = train_mlp(TrainParams(scale_pixels=True), sample)
    assert len(lesson.dead_units) >= 3
    assert lesson.train_accuracy < 0.7
    assert all(lesson.active_fraction[i] == 0 for i in lesson.dead_units)
    assert len(scaled.dead_units) < len(lesson.dead_units)
    assert scaled.train_accuracy > 0.95


def test_stopping_at_max_iter_is_reported_with_the_reason(small):
    result = train_mlp(TrainParams(max_iter=3, scale_pixels=True), small)
    assert result.n_iter == 3 and not result.converged
    assert "max_iter = 3" in result.stop_reason
    assert len(result.loss_curve) == 3


def test_convergence_is_reported(small):
    result = train_mlp(TrainParams(max_iter=500, scale_pixels=True, learning_rate_init=0.1,
                                   solver="adam", digits=(0, 1)), small)
    assert result.converged and result.n_iter < 500
    assert result.stop_reason.startswith("converged")


def test_lbfgs_converged_exactly_when_scikit_learn_does_not_warn(small):
    """Two lbfgs fits at once, one converging and one cut off, each reported as scikit-learn
    itself judges it (by warning or not), with no mix-up between the threads."""
    import threading

    configs = [TrainParams(solver="lbfgs", scale_pixels=True, max_iter=300, random_state=7),
               TrainParams(solver="lbfgs", scale_pixels=True, max_iter=8, random_state=7)]
    results = {}
    threads = [threading.Thread(target=lambda p=p: results.update({p: train_mlp(p, small)}))
               for p in configs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for params in configs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            X, y = small.subset(params.digits)
            make_model(params).fit(X / 255.0, y)
        warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        assert results[params].converged is not warned
    assert results[configs[0]].stop_reason.startswith("lbfgs converged after")
    assert "without converging" in results[configs[1]].stop_reason
    assert "ITERATIONS REACHED LIMIT" in results[configs[1]].stop_reason


def test_non_finite_weights_give_a_message_not_a_crash(small):
    """Within TrainParams' bounds uint8 digits stay finite (units die instead), so the guard is
    driven by pixels of extreme size: scikit-learn's fit really produces non-finite weights."""
    extreme = MnistData(small.X.astype(np.float64) * 1e150, small.y, source="sample", note="")
    with pytest.raises(TrainingFailed, match="Training diverged.*Scale pixels"):
        train_mlp(TrainParams(max_iter=5), extreme)


# The settings beyond the lesson's: each trains plain scikit-learn's network.

@pytest.mark.parametrize(
    ("changes", "arguments"),
    [({"activation": "tanh"}, {"activation": "tanh"}),
     ({"activation": "logistic"}, {"activation": "logistic"}),
     ({"activation": "identity"}, {"activation": "identity"}),
     ({"batch_size": 50}, {"batch_size": 50}),
     ({"momentum": 0.5}, {"momentum": 0.5}),
     ({"learning_rate": "invscaling", "learning_rate_init": 0.1},
      {"learning_rate": "invscaling", "learning_rate_init": 0.1}),
     ({"learning_rate": "adaptive", "max_iter": 40},
      {"learning_rate": "adaptive", "max_iter": 40}),
     ({"early_stopping": True, "validation_fraction": 0.2, "max_iter": 60},
      {"early_stopping": True, "validation_fraction": 0.2, "max_iter": 60})],
    ids=["tanh", "logistic", "identity", "batch_size", "momentum", "invscaling", "adaptive",
         "early_stopping"],
)
def test_each_new_setting_trains_plain_scikit_learns_network(small, changes, arguments):
    """The arguments written out by hand, fitted with one BLAS thread (as MLP Lens trains),
    give bit for bit the coefs_, iterations and curves of the dashboard's network."""
    params = TrainParams(**{"max_iter": 8, "scale_pixels": True, "digits": (1, 7), **changes})
    X, y = small.subset(params.digits)
    reference = MLPClassifier(**{"hidden_layer_sizes": (6,), "max_iter": 8, "alpha": 1e-4,
                                 "solver": "sgd", "random_state": 2, **arguments})
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        reference.fit(X.astype(np.float64) / 255.0, y)

    result = train_mlp(params, small)

    for ours, theirs in zip(result.model.coefs_ + result.model.intercepts_,
                            reference.coefs_ + reference.intercepts_, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert result.n_iter == reference.n_iter_
    assert result.loss_curve == tuple(reference.loss_curve_)
    assert result.validation_scores == tuple(reference.validation_scores_ or ())


def test_early_stopping_keeps_the_validation_curve_and_says_why_it_stopped(small):
    result = train_mlp(TrainParams(early_stopping=True, validation_fraction=0.25,
                                   scale_pixels=True, max_iter=300, digits=(0, 1)), small)
    assert result.converged and result.n_iter < 300
    assert len(result.validation_scores) == result.n_iter == len(result.loss_curve)
    assert all(0.0 <= score <= 1.0 for score in result.validation_scores)
    assert result.stop_reason.startswith("stopped early: the accuracy on the 25% of images")
    assert f"best {max(result.validation_scores):.1%}" in result.stop_reason
    assert train_mlp(TrainParams(max_iter=3, scale_pixels=True), small).validation_scores == ()


def test_raw_pixels_saturate_tanh_units_and_they_are_reported_as_saturated(sample):
    """tanh on raw 0-255 pixels: the reported units sit within 1% of -1 or 1 on every training
    image, the others do not; scaling the pixels avoids it. 'Dead' is a ReLU word."""
    params = TrainParams(activation="tanh", max_iter=20)
    result = train_mlp(params, sample)
    X, _ = sample.subset(params.digits)
    outputs = np.tanh(X.astype(np.float64) @ result.model.coefs_[0]
                      + result.model.intercepts_[0])
    at_limit = (np.abs(outputs) >= 0.99).all(axis=0)
    assert result.unit_problem == "saturated"
    assert result.dead_units and result.dead_units == tuple(np.flatnonzero(at_limit))
    assert "tanh sits at its limit" in dead_units_cause(params)
    scaled = train_mlp(replace(params, scale_pixels=True), sample)
    assert len(scaled.dead_units) < len(result.dead_units)


def test_logistic_units_at_their_limits_are_reported_as_saturated(small):
    """logistic: saturated means within 0.01 of 0 or 1 on every image. A large learning rate on
    raw pixels drives units there; the report matches the outputs computed by hand."""
    params = TrainParams(activation="logistic", learning_rate_init=0.1, max_iter=5,
                         hidden_units=12)
    result = train_mlp(params, small)
    X, _ = small.subset(params.digits)
    with np.errstate(over="ignore"):  # exp(-z) is inf for very negative z: an output of 0
        outputs = 1 / (1 + np.exp(-(X.astype(np.float64) @ result.model.coefs_[0]
                                    + result.model.intercepts_[0])))
    at_limit = ((outputs <= 0.01) | (outputs >= 0.99)).all(axis=0)
    assert result.unit_problem == "saturated"
    assert result.dead_units == tuple(np.flatnonzero(at_limit))
    assert result.dead_units, "expected this configuration to saturate some units"


def test_identity_units_are_never_dead(sample):
    result = train_mlp(TrainParams(activation="identity", max_iter=5), sample)
    assert result.unit_problem is None and result.dead_units == ()
    assert train_mlp(TrainParams(max_iter=5), sample).unit_problem == "dead"


def test_a_diverged_network_is_cached_as_a_failure_not_as_trained(small):
    """The failure is a cached value of its own type: the state says "failed" (not "trained",
    not "untrained"), and asking again raises at once without training again."""
    extreme = MnistData(small.X.astype(np.float64) * 1e150, small.y, source="sample", note="")
    params = TrainParams(max_iter=5, random_state=31)
    assert training_state(params, extreme) == "untrained"
    with pytest.raises(TrainingFailed):
        train_mlp(params, extreme)
    assert training_state(params, extreme) == "failed"
    assert not is_trained(params, extreme)
    failure = cached_failure(params, extreme)
    assert isinstance(failure, TrainingFailure)
    assert failure.message.startswith("Training diverged")
    before = trainings_run()
    with pytest.raises(TrainingFailed, match="Training diverged"):
        train_mlp(params, extreme)
    assert trainings_run() == before
    good = TrainParams(max_iter=2, scale_pixels=True, random_state=31)
    train_mlp(good, small)
    assert training_state(good, small) == "trained" and cached_failure(good, small) is None


@pytest.mark.parametrize("scale_pixels", [True, False])
def test_pixels_become_inputs_one_way_for_training_drawing_and_the_script(small, scale_pixels):
    """Training rows, a drawn digit's row and the exported script's step all come from
    model_inputs: the same numbers for the same image."""
    from core.draw import digit_probabilities
    from core.export import reproduce_code
    from core.train import PIXEL_SCALE, model_inputs, training_inputs

    params = TrainParams(scale_pixels=scale_pixels, max_iter=3, random_state=32)
    X, _ = training_inputs(params, small)
    first = small.subset(params.digits)[0][0]
    np.testing.assert_array_equal(X[0], model_inputs(first[None], scale_pixels=scale_pixels)[0])
    assert X[0].max() == (1.0 if scale_pixels else 255.0)
    model = train_mlp(params, small).model
    shown = digit_probabilities(model, first, scale_pixels=scale_pixels)
    np.testing.assert_array_equal(list(shown.values()), model.predict_proba(X[:1])[0])
    code = reproduce_code(params, source="sample")
    assert (f"X = X / {PIXEL_SCALE!r}" in code) is scale_pixels


HOLDOUT_CONFIGS = [
    TrainParams(holdout=True, max_iter=5),
    # The shape issue #12 found BLAS threads change (on a 2-core Xeon, full data).
    TrainParams(digits=(1, 7), hidden_units=9, scale_pixels=True, max_iter=20, random_state=5,
                holdout=True),
]
HOLDOUT_REFERENCE = """
import numpy as np
from sklearn.datasets import fetch_openml
from sklearn.metrics import confusion_matrix
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

threadpool_limits(1, user_api="blas")
X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
X_train, y_train, X_test, y_test = X[:{n}], y[:{n}], X[{n}:], y[{n}:]
train, test = np.isin(y_train, {labels}), np.isin(y_test, {labels})
X_train, y_train, X_test, y_test = X_train[train], y_train[train], X_test[test], y_test[test]
if {scale}:
    X_train, X_test = X_train / 255.0, X_test / 255.0
mlp = MLPClassifier(hidden_layer_sizes=({units},), max_iter={max_iter}, alpha=1e-4,
                    solver="sgd", random_state={seed})
mlp.fit(X_train, y_train)
print(repr(mlp.score(X_test, y_test)), len(y_train), len(y_test))
print(confusion_matrix(y_test, mlp.predict(X_test), labels={labels}).tolist())
"""


@pytest.fixture(scope="module")
def mnist_layout_home(tmp_path_factory):
    """1,400 rows of mnist_784 in MNIST's layout, by ../shared's tool: 1,200 real training
    digits, then the first 200 real MNIST test digits."""
    return write_shared_openml_cache(tmp_path_factory.mktemp("mnist-layout"), rows=1400)


@pytest.mark.parametrize("params", HOLDOUT_CONFIGS, ids=["lesson", "digits-1-7-9-units"])
def test_holdout_equals_a_plain_fit_on_the_training_rows_scored_on_the_test_rows(
        params, mnist_layout_home, tmp_path):
    """Hand-written scikit-learn on the same fetch_openml data (training rows first, MNIST's
    test digits last), in its own process: the same weights, test accuracy and confusions."""
    data = load_mnist(mnist_layout_home)
    assert (data.source, data.n_train, data.n_test) == ("openml", 1200, 200)
    code = HOLDOUT_REFERENCE.format(
        n=data.n_train, labels=[str(d) for d in params.digits], scale=params.scale_pixels,
        units=params.hidden_units, max_iter=params.max_iter, seed=params.random_state)
    output, arrays = run_script(code, tmp_path, data_home=mnist_layout_home)
    first, second = output.splitlines()
    score, n_train, n_test = first.split()

    result = train_mlp(params, data)

    assert same_network(arrays, result.model)
    assert result.test_accuracy == float(score)
    assert (result.n_samples, result.n_test) == (int(n_train), int(n_test))
    assert result.confusion.tolist() == ast.literal_eval(second)
    if params.scale_pixels:  # the lesson's raw pixels kill units; scaled, it generalises
        assert result.test_accuracy > 0.7


def test_the_confusion_matrix_adds_up_to_the_test_rows(sample):
    """Rows are the true digits' test images, the diagonal the right answers."""
    params = TrainParams(digits=(3, 5, 8), scale_pixels=True, max_iter=15, holdout=True)
    result = train_mlp(params, sample)
    test_counts = sample.counts(params.digits, "test")
    assert result.confusion.shape == (3, 3)
    assert result.confusion.sum() == result.n_test == sum(test_counts.values())
    assert result.confusion.sum(axis=1).tolist() == list(test_counts.values())
    assert np.trace(result.confusion) / result.n_test == pytest.approx(result.test_accuracy)
    assert result.n_samples == sum(sample.counts(params.digits, "train").values())
    assert result.gap == pytest.approx(result.train_accuracy - result.test_accuracy)


def test_holdout_off_trains_on_every_image_as_before(small):
    """Off, nothing changes: every image of the digits, the same network as without the field."""
    off = train_mlp(TrainParams(max_iter=4, scale_pixels=True, random_state=21), small)
    on = train_mlp(TrainParams(max_iter=4, scale_pixels=True, random_state=21, holdout=True),
                   small)
    X, y = small.subset(off.params.digits)
    plain = make_model(off.params)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        plain.fit(X / 255.0, y)
    assert off.n_samples == len(y) and off.n_test == 0 and off.test_accuracy is None
    np.testing.assert_array_equal(off.model.coefs_[0], plain.coefs_[0])
    assert on.n_samples + on.n_test == len(y)
    assert not np.array_equal(on.model.coefs_[0], off.model.coefs_[0])


def test_a_digit_choice_with_no_test_images_gets_a_message_not_a_division_by_zero(small):
    """A tiny custom copy has no test side at all: holding out says so before training."""
    tiny = MnistData(small.X[:6].copy(), small.y[:6].copy(), source="openml", note="tiny")
    digits = tuple(sorted(set(tiny.y.tolist())))[:2]
    assert tiny.n_test == 0
    with pytest.raises(TrainingFailed, match="no images of the digits .* untick .Hold out"):
        train_mlp(TrainParams(digits=digits, holdout=True, max_iter=2), tiny)
    assert train_mlp(TrainParams(digits=digits, max_iter=2), tiny).n_test == 0


@pytest.mark.parametrize("other", [{"random_state": 15}, {"hidden_units": 5}],
                         ids=["another seed", "another size"])
def test_another_settings_network_copied_into_a_slot_is_not_shown_as_this_one(
        small, tmp_path, monkeypatch, other):
    """A valid pickle of another setting in this setting's cache slot is noticed and retrained."""
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))
    wanted = TrainParams(max_iter=4, scale_pixels=True, random_state=14)
    intruder = replace(wanted, **other)
    train_mlp(intruder, small)
    intruder_file = next((tmp_path / "models").rglob("output.pkl"))
    reference = train_mlp(wanted, small)
    slot = next(p for p in (tmp_path / "models").rglob("output.pkl") if p != intruder_file)
    shutil.copy(intruder_file, slot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown = train_mlp(wanted, small)
    assert shown.params == wanted
    assert shown.model.get_params()["random_state"] == 14
    for ours, theirs in zip(shown.model.coefs_, reference.model.coefs_, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert train_mlp(wanted, small).params == wanted  # the slot holds the right network again


@pytest.mark.parametrize("unusable", ["a file", "under a file"])
def test_without_a_usable_cache_folder_networks_are_kept_in_memory(small, tmp_path, monkeypatch,
                                                                    unusable):
    from core.cache import cache_problem

    (tmp_path / "file").write_text("not a folder")
    folder = tmp_path / "file" if unusable == "a file" else tmp_path / "file" / "cache"
    monkeypatch.setenv("MLP_LENS_CACHE", str(folder))
    assert cache_problem()
    params = TrainParams(max_iter=3, scale_pixels=True, random_state=16)
    first = train_mlp(params, small)
    before = trainings_run()
    assert is_trained(params, small)
    again = train_mlp(params, small)
    assert trainings_run() == before and again is first


@pytest.mark.parametrize("held", [{"a": "dict"}, "a string", None,
                                  TrainingFailure(message=["not", "a", "message"])],
                         ids=["a dict", "a string", "None", "a damaged failure"])
def test_a_cache_entry_holding_no_network_of_its_own_is_retrained_once(
        small, tmp_path, monkeypatch, held):
    """A valid pickle of something else in a setting's slot counts as no network: the page
    sees it untrained, one training puts the right network there, and it then loads."""
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))
    params = TrainParams(max_iter=4, scale_pixels=True, random_state=17)
    reference = train_mlp(params, small)
    (slot,) = (tmp_path / "models").rglob("output.pkl")
    joblib.dump(held, slot)
    assert training_state(params, small) == "untrained"
    before = trainings_run()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown = train_mlp(params, small)
    assert trainings_run() == before + 1
    for ours, theirs in zip(shown.model.coefs_, reference.model.coefs_, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert training_state(params, small) == "trained"
    train_mlp(params, small)
    assert trainings_run() == before + 1  # loaded, not trained again


def test_a_network_the_full_disk_cannot_take_is_trained_once_and_kept_in_memory(
        small, full_disk, monkeypatch):
    """On a cache folder with too little room, a training finishes, its save fails, and the
    network is kept in memory: shown once, never trained again; the folder is reported
    unusable with the reason, and the failed save leaves no temporary file behind."""
    from core.cache import cache_problem

    monkeypatch.setenv("MLP_LENS_CACHE", str(full_disk))
    assert cache_problem() == ""  # small files still fit
    params = TrainParams(max_iter=60, scale_pixels=True, random_state=18, hidden_units=30)
    before = trainings_run()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib's own CacheWarning on the failed save
        first = train_mlp(params, small)
    assert trainings_run() == before + 1
    assert training_state(params, small) == "trained"  # the page shows it, no new training
    assert train_mlp(params, small) is first and trainings_run() == before + 1
    assert "could not be saved" in cache_problem() and "MB free" in cache_problem()
    leftovers = [p for p in full_disk.rglob("*") if p.is_file() and "output.pkl" in p.name]
    assert leftovers == [], leftovers
    other = replace(params, random_state=19)  # the next one goes to memory at once
    train_mlp(other, small)
    assert training_state(other, small) == "trained" and trainings_run() == before + 2


def test_a_models_folder_that_cannot_be_read_falls_back_to_memory(small, tmp_path, monkeypatch):
    """``models`` is there but unusable (a file here; mode 000 for a user who is not root):
    every page works on networks kept in memory, and says why."""
    from core.cache import cache_problem

    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path))
    (tmp_path / "models").write_text("not a folder")
    assert "models" in cache_problem()
    params = TrainParams(max_iter=3, scale_pixels=True, random_state=20)
    assert training_state(params, small) == "untrained"
    first = train_mlp(params, small)
    assert is_trained(params, small) and train_mlp(params, small) is first
