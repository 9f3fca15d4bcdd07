"""Where a sweep's networks are trained: local worker processes, or a Dask cluster.

Locally, each configuration is a job of the server's (``core.jobs``), as every other
training is. On Dask, ``engine.backend(data)`` is the ``joblib.parallel_config`` under
which ``core.sweep.run`` calls ``joblib.Parallel``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from contextlib import AbstractContextManager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib

from core.data import MnistData

SCHEDULER_ENV = "MLP_LENS_DASK_SCHEDULER"
CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler: the page says so well within 10 s
# Versions that must agree between this process and every worker: a difference could change
# a network or break the exchange. "mlp-lens code" is a digest of the core package's sources.
VERSIONED = ("python", "numpy", "scipy", "scikit-learn", "joblib", "threadpoolctl", "dask",
             "distributed", "cloudpickle", "msgpack", "tornado", "toolz", "mlp-lens code")


class EngineUnavailable(RuntimeError):
    """The cluster cannot be used; the message says why and what to do instead."""


class SweepInterrupted(EngineUnavailable):
    """The engine failed part-way through a sweep (a scheduler lost): ``rows`` are the ones
    finished before, whose networks are in the cache."""

    def __init__(self, message: str, rows: list):
        super().__init__(message)
        self.rows = rows


class LocalEngine:
    """Worker processes on this machine: each configuration is a job of this process's
    (``core.jobs``), ``n_workers`` at a time, one BLAS thread each."""

    local = True

    def __init__(self, n_workers: int | None = None):
        self.n_workers = n_workers or os.cpu_count() or 1
        self.address = None

    @property
    def description(self) -> str:
        return (f"local processes on this machine: {self.n_workers} worker"
                f"{'s' if self.n_workers != 1 else ''}, one BLAS thread each")

    def check(self) -> None:
        """Nothing to check: the workers run this process's own code and libraries."""

    def close(self) -> None:
        """Nothing to close: each job's worker process ends with its training."""


class DaskEngine:
    """A Dask cluster, through joblib's Dask backend on a ``distributed.Client``."""

    local = False

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT):
        from distributed import Client

        self.address = address
        self._described = ""
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineUnavailable(
                f"The Dask scheduler at {address} cannot be reached in {timeout:g} s "
                f"({type(exc).__name__}: {str(exc)[:200]}).") from None
        try:
            self.check()
        except BaseException:
            self.client.close()
            raise

    @property
    def connected(self) -> bool:
        return self.client.status == "running"

    def check(self) -> None:
        """Raise ``EngineUnavailable`` if the cluster has no worker, or one whose versions
        differ from this process's."""
        check_scheduler(self.client, self.address)
        if not self.client.nthreads():
            raise EngineUnavailable(f"The Dask scheduler at {self.address} has no workers.")
        check_versions(self.client)

    @property
    def n_workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    @property
    def description(self) -> str:
        """The cluster as it is, or as it was last seen once it cannot be asked (closed)."""
        try:
            workers, threads = len(self.client.nthreads()), self.n_workers
        except Exception:  # noqa: BLE001 - a lost scheduler or a closed client
            return self._described or f"the Dask cluster at {self.address} (lost)"
        self._described = (f"the Dask cluster at {self.address}: {workers} worker"
                           f"{'s' if workers != 1 else ''}, {threads} thread"
                           f"{'s' if threads != 1 else ''}")
        return self._described

    def backend(self, data: MnistData) -> AbstractContextManager:
        if not self.connected:  # joblib would run the rest here, one by one, without a word
            raise EngineUnavailable(f"The Dask scheduler at {self.address} was lost "
                                    f"({self.client.status}).")
        # scatter=[data]: joblib broadcasts the data to every worker once and hands each
        # task the worker's copy in place of this object.
        return joblib.parallel_config(backend=_dask_backend(), client=self.client,
                                      scatter=[data], n_jobs=self.n_workers,
                                      wait_for_workers_timeout=10)

    def close(self) -> None:
        self.client.close()


def _dask_backend() -> str:
    """joblib's Dask backend, registered under our name, counting at least two lanes: joblib
    runs a call whose backend counts one lane here, in this process, one task after another,
    so a cluster of one worker thread trained every network on this machine, unnoticed."""
    name = "mlp-lens-dask"
    from joblib._dask import DaskDistributedBackend  # the backend behind backend="dask"

    class AtLeastTwoLanes(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs):
            return max(2, super().effective_n_jobs(n_jobs))

    joblib.register_parallel_backend(name, AtLeastTwoLanes)
    return name


def open_engine(scheduler: str | None = None, *, n_workers: int | None = None):
    """The Dask engine at ``scheduler`` (else ``$MLP_LENS_DASK_SCHEDULER``), or local processes.

    Raises ``EngineUnavailable`` when a scheduler is given but cannot be used.
    """
    address = scheduler or os.environ.get(SCHEDULER_ENV, "").strip()
    return DaskEngine(address) if address else LocalEngine(n_workers)


def versions() -> dict[str, str]:
    """The versions that must agree between this process and every worker."""
    found = {"python": sys.version.split()[0], "mlp-lens code": _code_digest()}
    for name in VERSIONED:
        if name not in found:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                found[name] = "not installed"
    return found


def check_scheduler(client, address: str) -> None:
    """Raise ``EngineUnavailable`` unless the scheduler can load MLP Lens's code: it unpickles
    every task graph, and one it cannot load is lost without a word to us (the sweep waited
    at 0 of 12 for ever)."""
    try:
        client.run_on_scheduler(versions)
    except Exception as exc:  # noqa: BLE001 - whatever the scheduler answers, it cannot run ours
        raise EngineUnavailable(
            f"The Dask scheduler at {address} cannot load MLP Lens's code "
            f"({type(exc).__name__}: {str(exc)[:200]}). Start it with the project on its "
            "path: `PYTHONPATH=/path/to/mlp-lens dask scheduler`.") from None


def check_versions(client, *, ours: dict[str, str] | None = None) -> None:
    """Raise ``EngineUnavailable`` naming every version a worker has that differs from ours
    (``versions()`` of this process unless given)."""
    ours = ours or versions()
    try:
        theirs = client.run(versions)
    except (ImportError, AttributeError) as exc:
        raise EngineUnavailable(
            "The Dask workers cannot import MLP Lens's code "
            f"({type(exc).__name__}: {exc}). Start `dask worker` in the project's folder "
            "(or with it on PYTHONPATH) on every machine.") from None
    differences = [f"{worker}: {name} {found.get(name, 'missing')} (here {ours[name]})"
                   for worker, found in sorted(theirs.items()) for name in VERSIONED
                   if found.get(name) != ours[name]]
    if differences:
        raise EngineUnavailable("The Dask workers do not run the same versions as this "
                                "process, so their networks could differ: "
                                + "; ".join(differences[:8]) + ".")


def _code_digest() -> str:
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()
