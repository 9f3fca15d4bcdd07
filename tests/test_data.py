"""Loading MNIST: the real fetch_openml path, the uint8 copy, the offline fallback, damage."""

import socket
import time

import numpy as np
import pytest
from sklearn.datasets import fetch_openml

from core.cache import cache_dir
from core.data import MnistData, load_mnist, load_sample
from tests.openml_cache import write_openml_cache


@pytest.fixture
def openml_home(tmp_path, small):
    """A scikit-learn data folder holding a 1,200-row mnist_784 in OpenML's format."""
    write_openml_cache(tmp_path / "sklearn", small.X, small.y)
    return tmp_path / "sklearn"


def _damage(path, content: bytes) -> None:
    """Put a damaged file where ``path`` was, as a crash or a full disk would leave it.

    A new file replaces the old one: other tests still hold the old one memory-mapped,
    and rewriting a mapped file in place would pull the pages from under them.
    """
    damaged = path.with_name(path.name + ".damaged")
    damaged.write_bytes(content)
    damaged.replace(path)


@pytest.fixture
def closed_port():
    """An address on this machine where nothing listens: connecting fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return ("127.0.0.1", s.getsockname()[1])


def test_load_mnist_reads_openml_through_fetch_openml(openml_home, small, closed_port):
    data = load_mnist(openml_home, probe_address=closed_port)
    assert data.source == "openml"
    assert data.X.dtype == np.uint8 and data.y.dtype == np.uint8
    assert data.X.shape == (1200, 784)
    np.testing.assert_array_equal(data.X, small.X)
    np.testing.assert_array_equal(data.y, small.y)
    assert "OpenML" in data.note


def test_the_same_data_as_the_lessons_fetch_openml(openml_home):
    """Our arrays are the lesson's X and y (as_frame=False), as uint8."""
    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                        data_home=str(openml_home))
    data = load_mnist(openml_home)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y.astype(str), y)
    assert data.subset((0, 1, 2, 3))[0].shape == X[y <= "3"].shape


def test_later_loads_come_from_the_uint8_copy(openml_home, small):
    """Once copied, the ARFF file is not needed (it is not parsed again)."""
    first = load_mnist(openml_home)
    for path in openml_home.rglob("*.arff.gz"):
        path.unlink()
    again = load_mnist(openml_home)
    assert again.source == "openml"
    assert again.fingerprint == first.fingerprint


def test_offline_without_a_local_copy_falls_back_to_the_sample_quickly(tmp_path, closed_port):
    start = time.perf_counter()
    data = load_mnist(tmp_path / "empty", probe_address=closed_port, probe_timeout=3)
    assert time.perf_counter() - start < 5
    assert data.source == "sample"
    assert data.X.shape == (5000, 784)
    assert "OpenML cannot be reached" in data.note
    assert "5,000 real MNIST digits" in data.note


def test_the_sample_is_real_mnist(sample):
    assert sample.X.shape == (5000, 784) and sample.X.dtype == np.uint8
    assert np.bincount(sample.y).tolist() == [500] * 10
    assert sample.X.max() == 255 and sample.X.min() == 0


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_data_copy_is_rebuilt(openml_home, small, damage):
    first = load_mnist(openml_home)
    copies = list((cache_dir() / "data").glob("mnist-openml-*.npy"))
    assert copies
    for copy in copies:
        content = copy.read_bytes()
        _damage(copy, {"truncate": content[: len(content) // 3],
                       "garbage": b"not a numpy file" * 100, "empty": b""}[damage])
    again = load_mnist(openml_home)
    assert again.source == "openml"
    assert again.fingerprint == first.fingerprint


def test_a_damaged_sample_copy_is_rebuilt(sample):
    for copy in (cache_dir() / "data").glob("mnist-sample-*.npy"):
        _damage(copy, b"\x93NUMPY broken")
    assert load_sample().fingerprint == sample.fingerprint


def test_the_lessons_original_call_fails_as_a_data_frame(openml_home):
    """Why MLP Lens passes as_frame=False: by default y is categorical and y <= '3' raises."""
    _, y = fetch_openml("mnist_784", version=1, return_X_y=True, data_home=str(openml_home))
    with pytest.raises(TypeError):
        y <= "3"  # noqa: B015 - the comparison itself is what fails


def test_clearing_the_cache_removes_copies_and_networks(tmp_path, monkeypatch):
    from core.cache import clear_cache

    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "cache"))
    data = load_sample()
    assert data.path.exists()
    freed = clear_cache()
    assert freed > 3_000_000  # the 5,000-digit copy: 5,000 x 785 bytes
    assert not (tmp_path / "cache" / "data").exists()
    assert load_sample().fingerprint == data.fingerprint  # and it rebuilds


def test_the_sample_has_a_fixed_stratified_split(sample):
    """The split a script gets from train_test_split(test_size=1/7, stratify=y, random_state=0)."""
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        sample.X, sample.y, test_size=1 / 7, stratify=sample.y, random_state=0)
    assert (sample.n_train, sample.n_test) == (4285, 715)
    np.testing.assert_array_equal(sample.X[sample.train_rows], X_train)
    np.testing.assert_array_equal(sample.y[sample.test_rows], y_test)
    assert set(sample.counts(range(10), "test").values()) <= {71, 72}  # 1/7 of 500 each
    assert "stratified" in sample.split and "715 test images" in sample.split


def test_the_split_sides_are_disjoint_and_cover_every_image(sample):
    rows = np.concatenate([sample.train_rows, sample.test_rows])
    assert sorted(rows.tolist()) == list(range(len(sample.y)))
    X, y = sample.subset((4, 9), "test")
    assert len(y) == sum(sample.counts((4, 9), "test").values())
    both = sum(sum(sample.counts((4, 9), part).values()) for part in ("train", "test"))
    assert both == sum(sample.counts((4, 9)).values())
    with pytest.raises(ValueError, match="part must be one of"):
        sample.subset((4, 9), "validation")


def test_openml_data_keeps_mnists_own_split(tmp_path, closed_port):
    """mnist_784's last rows are MNIST's test digits: 10,000 of 70,000, or the last seventh of a
    shorter copy in the same layout (../shared's tool with --rows)."""
    from tests.openml_cache import write_shared_openml_cache

    home = write_shared_openml_cache(tmp_path / "sklearn", rows=700)
    data = load_mnist(home, probe_address=closed_port)
    assert (data.source, data.n_train, data.n_test) == ("openml", 600, 100)
    np.testing.assert_array_equal(data.test_rows, np.arange(600, 700))
    assert "first 600 rows" in data.split and "last 100" in data.split
    full = np.zeros(70_000, dtype=np.uint8)
    assert MnistData(np.zeros((70_000, 784), np.uint8), full, source="openml",
                     note="").n_train == 60_000
