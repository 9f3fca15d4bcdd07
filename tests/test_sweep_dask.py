"""Sweeps on a real Dask cluster: a scheduler and two worker processes on this machine.

The scheduler and the workers are the ``dask scheduler`` and ``dask worker``
commands, each its own process, started outside the project's folder with
only the code on ``PYTHONPATH`` and empty cache and data folders of their own:
whatever data they train on came from this process.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from bench.cluster import DASK, ROOT, START_TIMEOUT, LocalCluster, _wait_for, local_cluster
from core.params import TrainParams
from core.sweep import DaskEngine, EngineUnavailable, LocalEngine, SweepGrid, rows_csv, run_sweep
from core.sweep.engine import check_versions, versions
from core.train import train_mlp


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> LocalCluster:
    """Two workers, each with empty cache and data folders of its own."""
    with local_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


@pytest.fixture(scope="module")
def engine(cluster):
    found = DaskEngine(cluster.address)
    yield found
    found.close()


def test_every_row_on_the_cluster_equals_the_local_engines_row(cluster, engine, small,
                                                               monkeypatch, tmp_path):
    """Same n_iter, accuracies, dead units and weights; the rows name the workers, which
    loaded no data and wrote nothing of their own."""
    grid = SweepGrid(base=TrainParams(max_iter=4, holdout=True), hidden_units=(3, 6), alpha=(1e-4,),
                     random_state=(2, 3), scale_pixels=(True,), solver=("sgd",))
    configs = grid.configurations()
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "local"))
    local = run_sweep(configs, small, LocalEngine(2))
    local_models = [train_mlp(p, small).model for p in configs]
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "cluster"))
    remote = run_sweep(configs, small, engine)
    assert "Dask cluster" in engine.description and "2 workers" in engine.description
    for mine, theirs, model in zip(local, remote, local_models, strict=True):
        assert theirs.ok and theirs.test_accuracy is not None, theirs.error
        assert theirs.worker in cluster.workers
        assert (theirs.n_iter, theirs.train_accuracy, theirs.test_accuracy, theirs.dead_units) \
            == (mine.n_iter, mine.train_accuracy, mine.test_accuracy, mine.dead_units)
        stored = train_mlp(theirs.params, small).model  # from this process's cache now
        for a, b in zip(model.coefs_ + model.intercepts_,
                        stored.coefs_ + stored.intercepts_, strict=True):
            np.testing.assert_array_equal(a, b)
    table = list(csv.DictReader(io.StringIO(rows_csv(remote))))
    assert {t["worker"] for t in table} <= cluster.workers
    assert all(t["data_fingerprint"] == small.fingerprint for t in table)
    for cache in cluster.caches:
        assert not any(cache.iterdir()), f"a worker wrote into its own folder: {cache}"


def test_a_version_difference_is_named_with_the_worker(engine, cluster):
    ours = {**versions(), "scikit-learn": "0.0-other"}
    with pytest.raises(EngineUnavailable) as caught:
        check_versions(engine.client, ours=ours)
    message = str(caught.value)
    assert "scikit-learn" in message and "(here 0.0-other)" in message
    assert any(worker in message for worker in cluster.workers)
    check_versions(engine.client)  # the real versions agree


def test_the_command_runs_on_the_cluster_and_its_csv_names_the_workers(cluster, tmp_path):
    out = tmp_path / "sweep.csv"
    env = {**os.environ, "MLP_LENS_DATA": "sample", "MLP_LENS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "core.sweep", "--hidden-units", "3", "--alpha", "0.0001,0.1",
         "--seeds", "2", "--scale-pixels", "--max-iter", "2", "--out", str(out),
         "--scheduler", cluster.address],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "the Dask cluster at" in done.stderr
    table = list(csv.DictReader(out.open()))
    assert len(table) == 2 and {t["worker"] for t in table} <= cluster.workers


def test_a_scheduler_that_cannot_load_the_project_fails_the_sweep_at_once_saying_why(
        tmp_path):
    """`dask scheduler` started without the project on its path (a worker has it) cannot
    unpickle the sweep's tasks: the engine says so, naming the missing module and the command
    that works, within seconds instead of a sweep waiting for ever."""
    address_file = tmp_path / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(address_file)], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        _wait_for(address_file.exists, "the scheduler to write its address")
        worker = subprocess.Popen(
            [str(DASK), "worker", "--scheduler-file", str(address_file), "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard"], cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        address = json.loads(address_file.read_text())["address"]
        began = time.monotonic()
        with pytest.raises(EngineUnavailable) as caught:
            DaskEngine(address)
        assert time.monotonic() - began < 30
        assert "No module named 'core'" in str(caught.value)
        assert "PYTHONPATH=/path/to/mlp-lens dask scheduler" in str(caught.value)
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(20)


def test_a_scheduler_killed_mid_sweep_leaves_a_csv_of_the_finished_rows(tmp_path):
    """The command sweeps on a cluster of its own; once some rows are done its scheduler is
    killed: the command ends with one error line (no traceback), exit code 1, and the CSV of
    the rows finished before."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLP_LENS_CACHE": str(tmp_path / "cache"),
           "MLP_LENS_DATA": "sample"}
    with local_cluster(tmp_path, workers=1, env=env, wait=False) as running:
        address, scheduler = running.address, running.scheduler
        out = tmp_path / "sweep.csv"
        sweep = subprocess.Popen(
            [sys.executable, "-m", "core.sweep", "--digits", "0,1,2,3,4,5,6,7,8,9",
             "--hidden-units", "20,24,28", "--seeds", "1,2,3,4", "--scale-pixels",
             "--max-iter", "150",
             "--scheduler", address, "--out", str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            said = _read_until(sweep.stderr, re.compile(rb"\] [1-9]\d*/12"))
            scheduler.kill()
            _, rest = sweep.communicate(timeout=120)
        finally:
            if sweep.poll() is None:
                sweep.kill()
                sweep.wait(20)
    said += rest
    shown = said.decode(errors="replace")
    assert sweep.returncode == 1, shown[:3000]
    assert b"Traceback" not in said and b"error: " in said, shown[-3000:]
    assert b"rows were finished first" in said
    with out.open() as file:
        rows = list(csv.DictReader(file))
    assert 1 <= len(rows) < 12
    assert all(row["test_accuracy"] and not row["error"] for row in rows)


def _read_until(stream, pattern: re.Pattern, timeout: float = START_TIMEOUT) -> bytes:
    """Read a child's stderr (its progress bar has no line ends) until ``pattern`` is in it."""
    said, deadline = b"", time.monotonic() + timeout
    while not pattern.search(said):
        assert time.monotonic() < deadline, said.decode(errors="replace")[-2000:]
        chunk = os.read(stream.fileno(), 4096)
        assert chunk, f"the command ended first: {said.decode(errors='replace')[-2000:]}"
        said += chunk
    return said


def test_a_lost_clusters_description_is_the_last_one_seen(cluster):
    """The Sweep page captions its results with the engine's description: once the client is
    closed (its scheduler lost) it reads the cluster as last seen, not an AttributeError."""
    engine = DaskEngine(cluster.address)
    seen = engine.description
    assert "2 workers" in seen
    engine.close()
    assert engine.description == seen
    with pytest.raises(EngineUnavailable, match="was lost"):
        engine.backend(None)
