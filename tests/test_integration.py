"""Full size: the 70,000-row mnist_784 built by ../shared's tool, through the lesson's code path.

Skipped where ../shared is absent (a user's machine); the project never needs it otherwise.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import fetch_openml
from sklearn.neural_network import MLPClassifier

from core.data import load_mnist
from core.params import TrainParams
from core.train import train_mlp

SHARED = Path(__file__).resolve().parents[2] / "shared"
TOOL = SHARED / "tools" / "make_openml_mnist_cache.py"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not TOOL.exists(), reason=f"{TOOL} not found (on project machines only)"),
]


@pytest.fixture(scope="module")
def full_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("full-openml")
    subprocess.run([sys.executable, str(TOOL), str(home)], check=True, capture_output=True)
    return home


def test_full_mnist_784_loads_like_the_lessons_fetch_openml(full_home):
    data = load_mnist(full_home)
    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                        data_home=str(full_home))
    assert data.source == "openml"
    assert data.X.shape == X.shape == (70000, 784)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y.astype(str), y)
    assert sum(data.counts((0, 1, 2, 3)).values()) == int((y <= "3").sum())


def test_full_size_training_matches_the_lessons_code(full_home):
    """A few epochs on every 0-3 digit: the same weights as the lesson's MLPClassifier."""
    data = load_mnist(full_home)  # from MLP Lens's uint8 copy by now
    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                        data_home=str(full_home))
    X5, y5 = X[y <= "3"], y[y <= "3"]
    mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, alpha=1e-4, solver="sgd",
                        random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X5, y5)
    result = train_mlp(TrainParams(max_iter=3), data)
    assert result.n_samples == len(y5)
    np.testing.assert_array_equal(result.model.coefs_[0], mlp.coefs_[0])
    np.testing.assert_array_equal(result.model.coefs_[1], mlp.coefs_[1])
