"""Loading MNIST: the real fetch_openml path, the uint8 copy, the offline fallback, damage."""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import fetch_openml

from core.cache import cache_dir
from core.data import MnistData, load_mnist, load_sample
from tests.openml_cache import write_openml_cache

ROOT = Path(__file__).resolve().parents[1]


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


def _change_some_pixels(content: bytes) -> bytes:
    """The same file with some pixels of one image changed (0 <-> 1): header, layout and
    labels intact, so only a checksum can tell."""
    header = len(content) % 785 or 785  # the .npy header is what the 785-byte rows leave over
    changed = bytearray(content)
    first = header + 10 * 785  # the 11th image, its middle rows
    for at in range(first + 300, first + 500):
        changed[at] ^= 1
    return bytes(changed)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "bytes changed"])
def test_a_damaged_data_copy_is_rebuilt(openml_home, small, damage):
    first = load_mnist(openml_home)
    # This home's copy only: other tests' copies in the shared cache folder are theirs.
    name = hashlib.sha1(str(openml_home.resolve()).encode()).hexdigest()[:12]
    copy = cache_dir() / "data" / f"mnist-openml-{name}.npy"
    assert copy.exists()
    content = copy.read_bytes()
    damaged = {"truncate": lambda: content[: len(content) // 3],
               "garbage": lambda: b"not a numpy file" * 100, "empty": lambda: b"",
               "bytes changed": lambda: _change_some_pixels(content)}[damage]
    _damage(copy, damaged())
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


def test_a_copy_truncated_under_a_running_server_does_not_kill_it(sample, tmp_path):
    """The data is held in memory: shrinking its file (which kills a process that maps it,
    with SIGBUS) changes nothing for a process that already loaded it."""
    script = textwrap.dedent("""
        import os
        from core.data import load_sample
        from core.params import TrainParams
        from core.train import train_mlp

        data = load_sample()
        with open(data.path, "r+b") as copy:
            copy.truncate(4096)
        result = train_mlp(TrainParams(max_iter=2, scale_pixels=True, digits=(3, 8)), data)
        print("trained", result.n_samples)
    """)
    (tmp_path / "data").mkdir()
    for name in (sample.path.name, sample.path.name + ".blake2b"):  # no parsing: a quick load
        shutil.copy(sample.path.parent / name, tmp_path / "data" / name)
    env = {**os.environ, "MLP_LENS_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit code {done.returncode}: {done.stderr[-2000:]}"
    assert "trained 1000" in done.stdout


def test_a_temporary_file_left_by_a_killed_write_is_removed(sample):
    folder = sample.path.parent
    stale, fresh = folder / ".mnist-sample.npy.abc123.tmp", folder / ".mnist-sample.npy.def.tmp"
    for tmp in (stale, fresh):
        tmp.write_bytes(b"half a copy")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    load_sample()
    assert not stale.exists()
    assert fresh.exists()  # it may be another process's write, under way
    fresh.unlink()


RESOLVER_THAT_NEVER_ANSWERS = """
import socket, sys, threading, time
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", 53))
threading.Thread(target=lambda: [sink.recvfrom(512) for _ in iter(int, 1)], daemon=True).start()
from core.data import _unreachable
start = time.monotonic()
why = _unreachable(("www.openml.org", 443), 3.0)
print(f"{time.monotonic() - start:.2f} {why}")
"""


def test_the_offline_check_is_bounded_with_a_resolver_that_never_answers(tmp_path):
    """Name lookup included: in a network namespace whose only name server is a local UDP
    socket that reads every query and never replies, the check still ends in about 3 s."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs unshare and ip (util-linux, iproute2) for a private network")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
    probe = tmp_path / "probe.py"
    probe.write_text(RESOLVER_THAT_NEVER_ANSWERS)
    shell = (f"ip link set lo up && mount --bind {resolv} /etc/resolv.conf && "
             f"exec {sys.executable} {probe}")
    done = subprocess.run(["unshare", "--map-root-user", "--net", "--mount", "sh", "-c", shell],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no private network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    seconds, why = done.stdout.split(" ", 1)
    print(f"offline check with a silent resolver: {seconds} s ({why.strip()})")
    assert 2.5 < float(seconds) < 3.5
    assert "name lookup did not answer within 3 s" in why
