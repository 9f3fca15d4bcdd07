"""A real Dask cluster on this machine: the ``dask scheduler`` and ``dask worker`` commands.

Each is its own process, started in a folder of its own with only the project's
code on ``PYTHONPATH`` and, for each worker, empty cache and data folders: whatever
data they train on came from whoever sent it. The tests (``tests/test_sweep_dask.py``,
``tests/test_jobs_dask.py``, ``tests/e2e/test_dask_page.py``) and the class run on a
cluster (``bench.classroom``) start theirs here, as ``docs/operators.md`` tells an
operator to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
START_TIMEOUT = 180  # workers importing scikit-learn on a busy 2-core machine


@dataclass(frozen=True)
class LocalCluster:
    """A running cluster: its address, its workers' addresses and cache folders, and the
    scheduler's process (a test may kill it)."""

    address: str
    workers: frozenset[str]
    caches: tuple[Path, ...]
    scheduler: subprocess.Popen
    logs: tuple[Path, ...]  # each process's output, the scheduler's first

    def log_text(self) -> str:
        """Everything the scheduler and the workers have logged (a worker logs each training
        it runs, as a server does for its own)."""
        return "".join(path.read_text(errors="replace") for path in self.logs)


@contextmanager
def local_cluster(folder: Path, *, workers: int = 2, env: dict[str, str] | None = None,
                  nice: int = 0, wait: bool = True) -> Iterator[LocalCluster]:
    """A scheduler and ``workers`` one-thread workers, started in ``folder``; all end with the
    block. ``env`` replaces the processes' environment (default: this one's, with the project
    on ``PYTHONPATH`` and no ``MLP_LENS_DATA``); ``nice`` lowers the workers' priority, as on
    a machine they share with the server; without ``wait`` the block starts before the workers
    have joined."""
    env = dict(env) if env is not None else _environment()
    address_file = folder / "scheduler.json"
    logs, processes = [], []

    def start(command: list[str], **changes) -> subprocess.Popen:
        log = (folder / f"{len(processes)}.log").open("w")
        logs.append(log)
        processes.append(subprocess.Popen(command, cwd=folder, stdout=log,
                                          stderr=subprocess.STDOUT, env={**env, **changes},
                                          start_new_session=True))
        return processes[-1]

    scheduler = start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                       "--no-dashboard", "--scheduler-file", str(address_file)])
    caches = tuple(folder / f"worker-{i}-cache" for i in range(workers))
    try:
        _wait_for(address_file.exists, "the scheduler to write its address")
        for cache in caches:
            cache.mkdir()
            start([*(["nice", "-n", str(nice)] if nice else []), str(DASK), "worker",
                   "--scheduler-file", str(address_file), "--nthreads", "1", "--nworkers", "1",
                   "--host", "127.0.0.1", "--no-dashboard"],
                  MLP_LENS_CACHE=str(cache), SCIKIT_LEARN_DATA=str(cache / "sklearn"))
        address = json.loads(address_file.read_text())["address"]
        yield LocalCluster(address=address, workers=_joined(address, workers if wait else 0),
                           caches=caches, scheduler=scheduler,
                           logs=tuple(Path(log.name) for log in logs))
    finally:
        _end(processes)
        for log in logs:
            log.close()


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLP_LENS_DATA", None)
    return env


def _joined(address: str, workers: int) -> frozenset[str]:
    """The workers' addresses once ``workers`` of them have joined."""
    if not workers:
        return frozenset()
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(workers, timeout=START_TIMEOUT)
        return frozenset(client.nthreads())


def _end(processes: list[subprocess.Popen]) -> None:
    """Kill each process with all it started (a worker's nanny starts the worker itself): a
    polite stop took 8 s, and whatever the cluster held is thrown away anyway."""
    for process in reversed(processes):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # gone already (a test killed its scheduler)
    for process in processes:
        process.wait(20)


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)
