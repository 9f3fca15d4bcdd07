"""Training in the background: identical results, shared runs, stop, and abandoned runs."""

import numpy as np
import pytest

from core.live import running, start_training
from core.params import TrainParams
from core.train import is_trained, make_model, train_mlp, training_inputs


def _reference_coefs(params, data):
    X, y = training_inputs(params, data)
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
    assert first.result.stopped and first.result.n_iter < 400
    assert "stopped by you at epoch" in first.result.stop_reason
    assert not is_trained(params, small)  # a partial network is never cached


def test_an_abandoned_run_keeps_training_and_fills_the_cache(small):
    params = TrainParams(max_iter=30, scale_pixels=True, random_state=24)
    run = start_training(params, small, session="a")
    run.release("a", stop=False)
    assert run.wait(60)
    assert not run.result.stopped
    assert is_trained(params, small)
    assert run not in running()
