"""A network's history: recorded without changing the fit, thinned, cached, honest about deaths."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from core.history import BUFFER, MAX_FRAMES, HistoryRecorder, probe_rows, thin
from core.params import TrainParams
from core.sklearn_hooks import initial_first_layer, watching
from core.train import make_model, train_mlp, training_inputs, trainings_run

# The reference fit runs in a fresh interpreter with plain scikit-learn, its BLAS set to
# the one thread MLP Lens trains with (some shapes sum in another order with two threads).
_PLAIN_FIT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits
    arrays = np.load(sys.argv[1])
    with threadpool_limits(limits=1, user_api="blas"):
        model = MLPClassifier(**json.loads(sys.argv[2])).fit(arrays["X"], arrays["y"])
    np.savez(sys.argv[3], *model.coefs_, *model.intercepts_)
""")


def _plain_fit(params: TrainParams, X, y, tmp_path) -> list[np.ndarray]:
    np.savez(tmp_path / "data.npz", X=X, y=y)
    arguments = make_model(params).get_params()  # plain values only: they go as JSON
    subprocess.run([sys.executable, "-c", _PLAIN_FIT, str(tmp_path / "data.npz"),
                    json.dumps(arguments), str(tmp_path / "coefs.npz")], check=True, timeout=300)
    saved = np.load(tmp_path / "coefs.npz")
    return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_recording_the_history_leaves_the_weights_of_a_plain_fit(small, solver, tmp_path):
    """Weights with the history recorded equal plain scikit-learn's, one BLAS thread each,
    and the history's last frame is the final coefs_[0]."""
    params = TrainParams(solver=solver, max_iter=12, scale_pixels=True, random_state=31)
    result = train_mlp(params, small)
    X, y = training_inputs(params, small)
    reference = _plain_fit(params, X, y, tmp_path)
    ours = result.model.coefs_ + result.model.intercepts_
    for mine, plain in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(mine, plain)
    history = result.history
    np.testing.assert_array_equal(history.hidden_weights[-1],
                                  result.model.coefs_[0].astype(np.float32))
    assert history.hidden_weights.dtype == np.float32
    assert history.hidden_weights.shape == (len(history.epochs), 784, 6)
    assert history.active_fraction.shape == (len(history.epochs), 6)
    assert history.epochs[0] == 1 and list(history.epochs) == sorted(set(history.epochs))
    assert len(history.loss) == len(history.epochs)
    assert history.per_evaluation is (solver == "lbfgs")
    if solver == "lbfgs":  # one frame per loss evaluation, the last at the accepted step
        assert history.loss[-1] == pytest.approx(result.model.loss_)
        assert np.all(np.isfinite(history.loss))
    else:
        assert history.epochs == tuple(range(1, result.n_iter + 1))
        np.testing.assert_array_equal(history.loss, result.loss_curve)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("epochs", [250, 450])
def test_a_long_training_keeps_one_hundred_evenly_spaced_frames(small, epochs):
    """Epoch 1 and the last kept, 98 in between, evenly apart (450 epochs fill the buffer
    while it trains, so it keeps every other epoch from then on)."""
    X, y = small.subset((0, 1))
    X = X / 255.0
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=epochs, tol=0, n_iter_no_change=1000,
                          solver="sgd", random_state=0)
    recorder = HistoryRecorder(X[probe_rows(len(X))])
    with watching(model, recorder):
        model.fit(X, y)
    history = recorder.finish(model)
    assert len(history.epochs) == MAX_FRAMES
    assert history.epochs[0] == 1 and history.epochs[-1] == epochs
    gaps = np.diff(history.epochs)
    assert gaps.max() <= 1.5 * gaps.min() and gaps.min() >= 2
    np.testing.assert_array_equal(history.hidden_weights[-1], model.coefs_[0].astype(np.float32))
    assert len(recorder._frames) <= BUFFER * MAX_FRAMES  # bounded while it trains


def test_thinning_keeps_the_first_and_last_and_never_more_than_asked():
    epochs = list(range(1, 1 + 10_000, 37)) + [10_001]
    kept = thin(len(epochs), epochs, 100)
    assert kept[0] == 0 and kept[-1] == len(epochs) - 1
    assert 95 <= len(kept) <= 100
    assert thin(5, [1, 2, 3, 4, 5], 100) == [0, 1, 2, 3, 4]


def test_the_history_survives_the_cache(small):
    params = TrainParams(hidden_units=4, max_iter=15, scale_pixels=True, random_state=32)
    first = train_mlp(params, small)
    before = trainings_run()
    again = train_mlp(params, small)
    assert trainings_run() == before  # loaded from disk, not trained
    assert again.history.epochs == first.history.epochs
    assert again.history.died_at == first.history.died_at
    np.testing.assert_array_equal(again.history.hidden_weights, first.history.hidden_weights)
    np.testing.assert_array_equal(again.history.active_fraction, first.history.active_fraction)


def test_on_the_lessons_settings_the_dead_units_died_and_the_live_ones_did_not(sample):
    """Raw pixels and sgd on real digits: every dead unit has the epoch it died at, from which
    its activity stays at zero; the live units have none."""
    result = train_mlp(TrainParams(), sample)
    history = result.history
    assert len(result.dead_units) >= 3
    for unit, died in enumerate(history.died_at):
        if unit in result.dead_units:
            assert died in history.epochs
            assert not history.active_fraction[history.frame(died):, unit].any()
        else:
            assert died is None
    assert min(d for d in history.died_at if d is not None) <= 3  # they die in the first steps
    assert history.dead_at(history.epochs[-1]) == result.dead_units


def test_settled_at_is_the_epoch_a_unit_stopped_changing(small):
    result = train_mlp(TrainParams(max_iter=40, scale_pixels=True, random_state=33), small)
    history = result.history
    for unit in range(6):
        settled = history.settled_at(unit)
        assert settled in history.epochs
        weights = history.hidden_weights[:, :, unit]
        travelled = np.linalg.norm(weights[0] - weights[-1])
        after = weights[history.frame(settled):]
        assert np.all(np.linalg.norm(after - weights[-1], axis=1) <= 0.05 * travelled + 1e-6)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_the_start_is_the_first_layer_scikit_learn_starts_from(small, solver):
    """The weights before training, drawn on a clone, are exactly those the real fit starts
    from (seen by wrapping scikit-learn's own initialisation on the fitted instance)."""
    params = TrainParams(solver=solver, max_iter=3, scale_pixels=True, random_state=34)
    X, y = training_inputs(params, small)
    model = make_model(params)
    expected = initial_first_layer(model, X.shape[1])
    seen = {}
    initialise = model._initialize

    def spying(*args, **kwargs):
        initialise(*args, **kwargs)
        seen["start"] = (model.coefs_[0].copy(), model.intercepts_[0].copy())

    model._initialize = spying
    model.fit(X, y)
    for mine, real in zip(expected, seen["start"], strict=True):
        np.testing.assert_array_equal(mine, real)
    history = train_mlp(params, small).history
    np.testing.assert_array_equal(history.start_weights, expected[0].astype(np.float32))


def test_the_lessons_dead_units_were_alive_before_training(sample):
    """On raw pixels the dead units fired on part of the probe before the first epoch: their
    activity really falls to zero."""
    history = train_mlp(TrainParams(), sample).history
    dead = [u for u, died in enumerate(history.died_at) if died is not None]
    assert dead and all(history.start_active_fraction[u] > 0 for u in dead)


def test_with_early_stopping_the_last_frame_is_the_network_kept(small):
    """Early stopping ends on the best-scoring weights, not the last epoch's: so does the
    history."""
    params = TrainParams(max_iter=60, scale_pixels=True, early_stopping=True, random_state=35)
    result = train_mlp(params, small)
    history = result.history
    assert history.epochs[-1] == result.n_iter
    np.testing.assert_array_equal(history.hidden_weights[-1],
                                  result.model.coefs_[0].astype(np.float32))
