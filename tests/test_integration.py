"""Full size: the 70,000-row mnist_784 built by ../shared's tool, through the lesson's code path.

Skipped where ../shared is absent (a user's machine); the project never needs it otherwise.
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import fetch_openml

from core.data import load_mnist
from core.params import TrainParams
from core.train import train_mlp
from tests.fresh_process import run_script, same_network
from tests.openml_cache import SHARED_TOOL as TOOL

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not TOOL.exists(), reason=f"{TOOL} not found (on project machines only)"),
]


@pytest.fixture(scope="module")
def full_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("full-openml")
    subprocess.run([sys.executable, str(TOOL), str(home)], check=True, capture_output=True)
    return home


@pytest.fixture(scope="module")
def lessons_arrays(full_home):
    """``X, y`` as the lesson's ``fetch_openml`` gives them (parsing them takes seconds)."""
    return fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                        data_home=str(full_home))


def test_full_mnist_784_loads_like_the_lessons_fetch_openml(full_home, lessons_arrays):
    data = load_mnist(full_home)
    X, y = lessons_arrays
    assert data.source == "openml"
    assert data.X.shape == X.shape == (70000, 784)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y.astype(str), y)
    assert sum(data.counts((0, 1, 2, 3)).values()) == int((y <= "3").sum())


FULL_LESSON = """
import numpy as np
from sklearn.datasets import fetch_openml
from sklearn.neural_network import MLPClassifier

X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
X5, y5 = X[y <= "3"], y[y <= "3"]
mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, alpha=1e-4, solver="sgd",
                    random_state=2)
mlp.fit(X5, y5)
print(len(y5))
"""


def test_full_size_training_matches_the_lessons_code(full_home, tmp_path):
    """A few epochs on every 0-3 digit: the same weights as the lesson's MLPClassifier, run as
    a person runs it (a new Python with the machine's BLAS threads)."""
    data = load_mnist(full_home)  # from MLP Lens's uint8 copy by now
    output, arrays = run_script(FULL_LESSON, tmp_path, data_home=full_home)
    result = train_mlp(TrainParams(max_iter=3), data)
    assert result.n_samples == int(output)
    assert same_network(arrays, result.model)


def test_full_size_holdout_is_mnists_own_split(full_home, lessons_arrays):
    """Rows 0-59,999 train, 60,000-69,999 (the real MNIST test digits) test."""
    data = load_mnist(full_home)
    assert (data.n_train, data.n_test) == (60_000, 10_000)
    result = train_mlp(TrainParams(max_iter=3, scale_pixels=True, holdout=True), data)
    _, y = lessons_arrays
    assert result.n_samples == int((y[:60_000] <= "3").sum())
    assert result.n_test == int((y[60_000:] <= "3").sum()) == result.confusion.sum()
