"""scikit-learn's private hooks: checked at import, installed only while a fit runs."""

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import _multilayer_perceptron as mlp_module

from core.params import TrainParams
from core.sklearn_hooks import CHECKED_WITH, LbfgsOutcome, recording_lbfgs_outcome, watching
from core.train import _how_it_stopped, make_model, training_inputs

ROOT = Path(__file__).resolve().parents[1]


def _import_after(statement: str) -> subprocess.CompletedProcess:
    """Import core.train in a fresh Python after ``statement`` has changed scikit-learn."""
    code = f"{statement}\nimport core.train\n"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("statement, missing", [
    ("import sklearn.neural_network._multilayer_perceptron as m\n"
     "del m._check_optimize_result", "_check_optimize_result"),
    ("from sklearn.neural_network import MLPClassifier as M\n"
     "import sklearn.neural_network._multilayer_perceptron as m\n"
     "del m.BaseMultilayerPerceptron._update_no_improvement_count",
     "MLPClassifier._update_no_improvement_count"),
])
def test_a_scikit_learn_without_the_hooks_fails_at_import_with_a_clear_message(statement,
                                                                               missing):
    """Another scikit-learn that renamed a private name: a clear ImportError at import, naming
    what is missing and the version the hooks were checked against, not a wrong number later."""
    done = _import_after(statement)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: MLP Lens cannot watch MLPClassifier's training"), last
    assert missing in last
    assert f"checked against scikit-learn {CHECKED_WITH}" in last
    assert "requirements.txt" in last


def test_the_lbfgs_recorder_is_installed_only_while_recording(small):
    """Outside a fit, scikit-learn's module is as scikit-learn made it."""
    original = mlp_module._check_optimize_result
    params = TrainParams(solver="lbfgs", max_iter=5, scale_pixels=True)
    X, y = training_inputs(params, small)
    with recording_lbfgs_outcome() as outcome, pytest.warns(ConvergenceWarning):
        assert mlp_module._check_optimize_result is not original
        make_model(params).fit(X, y)
    assert mlp_module._check_optimize_result is original
    assert outcome.seen and outcome.converged is False
    assert "ITERATIONS REACHED LIMIT" in outcome.message


def test_watching_calls_back_every_epoch_and_leaves_a_plain_model(small):
    params = TrainParams(max_iter=4, scale_pixels=True)
    X, y = training_inputs(params, small)
    model, seen = make_model(params), []
    with watching(model, lambda m: seen.append(len(m.loss_curve_))), \
            pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    assert seen == [1, 2, 3, 4]
    assert "_update_no_improvement_count" not in vars(model)


def test_an_lbfgs_outcome_that_was_not_seen_is_unknown_never_converged(small):
    """If scipy's result was not seen, the flag is None ("unknown"), not a guess."""
    params = TrainParams(solver="lbfgs", max_iter=300, scale_pixels=True)
    model = make_model(params)
    model.n_iter_ = 42  # a fit that stopped before max_iter: the old fallback said "converged"
    converged, reason = _how_it_stopped(params, model, LbfgsOutcome())
    assert converged is None
    assert "unknown" in reason and "42 iterations" in reason
