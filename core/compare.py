"""Several random seeds of one network: train them in parallel, line up their units, compare.

Equally good networks learn different units, in a different order. To compare
two of them, each unit of one is matched to a unit of the other by the
assignment that maximises the total absolute correlation of their weight
images (the Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
from dataclasses import dataclass, replace
from time import monotonic

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.cache import CACHE_ENV, cache_dir
from core.data import MnistData, open_copy
from core.params import FIELDS, TrainParams
from core.process import configure_process
from core.train import TrainingFailed, train_mlp, training_state

MAX_SEEDS = 8
DEFAULT_SEEDS = (2, 3, 4, 5)


@dataclass(frozen=True)
class Alignment:
    """How a network's units line up with a reference network's units."""

    order: tuple[int, ...]  # order[i]: this network's unit matched to reference unit i
    correlations: tuple[float, ...]  # signed correlation of each matched pair
    similarity: float  # mean absolute correlation of the matched pairs, 0..1


def unit_correlations(reference: np.ndarray, images: np.ndarray, *, pixels=None) -> np.ndarray:
    """Pearson correlation of every reference unit's weight image with every unit's: (n, n).

    ``pixels`` (a boolean mask of 784) restricts it to pixels that are ever
    inked: weights from always-blank pixels keep their random start and do
    not change what the network computes.
    """
    a = reference.reshape(len(reference), -1)
    b = images.reshape(len(images), -1)
    if pixels is not None:
        a, b = a[:, pixels], b[:, pixels]
    a = (a - a.mean(axis=1, keepdims=True)) / (a.std(axis=1, keepdims=True) + 1e-12)
    b = (b - b.mean(axis=1, keepdims=True)) / (b.std(axis=1, keepdims=True) + 1e-12)
    return a @ b.T / a.shape[1]


def align_units(reference: np.ndarray, images: np.ndarray, *, pixels=None) -> Alignment:
    """Match each reference unit to one unit of ``images``, maximising total |correlation|."""
    corr = unit_correlations(reference, images, pixels=pixels)
    rows, cols = linear_sum_assignment(np.abs(corr), maximize=True)
    matched = corr[rows, cols]
    return Alignment(order=tuple(int(c) for c in cols),
                     correlations=tuple(float(r) for r in matched),
                     similarity=float(np.abs(matched).mean()))


def stability(alignments: list[Alignment]) -> float:
    """Mean similarity of the other seeds to the reference: 1 means the same units every time."""
    return float(np.mean([a.similarity for a in alignments])) if alignments else 1.0


def clean_seeds(values) -> tuple[tuple[int, ...], list[str]]:
    """Seeds from a person's list: whole numbers in range, no repeats, at most eight."""
    spec = FIELDS["random_state"]
    seeds, notices = [], []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            seed = int(text)
        except ValueError:
            notices.append(f"'{text[:20]}' is not a whole number; left out.")
            continue
        if not spec.low <= seed <= spec.high:
            notices.append(f"{seed} is outside 0 to {spec.high:,.0f}; left out.")
        elif seed in seeds:
            notices.append(f"{seed} was listed twice; kept once.")
        else:
            seeds.append(seed)
    if len(seeds) > MAX_SEEDS:
        notices.append(f"At most {MAX_SEEDS} seeds; kept the first {MAX_SEEDS}.")
        seeds = seeds[:MAX_SEEDS]
    return tuple(seeds), notices


@dataclass
class SeedJob:
    """One seed's training in its own worker process."""

    params: TrainParams
    state: str = "queued"  # queued, training, done, failed, stopped
    error: str = ""
    process: multiprocessing.Process | None = None
    started: float = 0.0


class SeedTraining:
    """Train the seeds that are not cached yet, in worker processes, ``n_jobs`` at a time.

    Each seed has its own process, so a worker that dies costs only its seed.
    Workers memory-map the dataset's uint8 copy instead of receiving a copy of
    it, limit their BLAS to one thread, and leave their network in the
    persistent cache, where the page reads it. ``poll()`` never blocks.
    """

    def __init__(self, params: TrainParams, seeds, data: MnistData, *, n_jobs: int | None = None,
                 timeout: float = 3600):
        if data.path is None:
            raise ValueError("the data has no uint8 copy on disk for the workers to share")
        self.data, self.timeout = data, timeout
        self.n_jobs = n_jobs or min(len(seeds), os.cpu_count() or 1)
        self._context = _worker_context()
        self._epochs = self._context.Array("i", len(seeds), lock=False)
        self._peak_kb = self._context.Array("l", len(seeds), lock=False)  # each worker's
        # Each worker's latest first-layer weights, written after every epoch, for the live view.
        self._size = 784 * params.hidden_units
        self._weights = self._context.Array("d", len(seeds) * self._size, lock=False)
        self._lock = threading.Lock()
        self.jobs = {seed: SeedJob(replace(params, random_state=seed)) for seed in seeds}
        for job in self.jobs.values():
            if training_state(job.params, data) != "untrained":
                job.state = "done"  # a network, or a failure the page shows for this seed

    def poll(self) -> dict[int, SeedJob]:
        """Reap finished workers, start queued ones; return every seed's job."""
        with self._lock:
            for job in self.jobs.values():
                if job.state == "training":
                    self._reap(job)
            busy = sum(job.state == "training" for job in self.jobs.values())
            for index, job in enumerate(self.jobs.values()):
                if job.state == "queued" and busy < self.n_jobs:
                    self._start(index, job)
                    busy += 1
        return self.jobs

    def epoch(self, seed: int) -> int:
        return self._epochs[list(self.jobs).index(seed)]

    def weights(self, seed: int) -> np.ndarray | None:
        """The seed's hidden weight images as they were at its latest epoch: (n_hidden, 28, 28);
        None before its first epoch (or when it came from the cache)."""
        if self.epoch(seed) == 0:
            return None
        index = list(self.jobs).index(seed)
        flat = np.frombuffer(self._weights, dtype=np.float64)
        first_layer = flat[index * self._size:(index + 1) * self._size].reshape(784, -1)
        return first_layer.T.reshape(-1, 28, 28).copy()

    @property
    def worker_peak_mb(self) -> float:
        """The largest peak resident memory of the workers so far (MB), as each reported it
        on finishing; it counts the libraries the worker shares with the fork server."""
        return max(self._peak_kb, default=0) / 1024

    @property
    def finished(self) -> bool:
        return all(job.state in ("done", "failed", "stopped") for job in self.poll().values())

    def wait(self, timeout: float) -> bool:
        deadline = monotonic() + timeout
        while not self.finished and monotonic() < deadline:
            threading.Event().wait(0.1)
        return self.finished

    def stop(self) -> None:
        """End every worker still running; seeds not finished yet are marked stopped."""
        with self._lock:
            for job in self.jobs.values():
                if job.process is not None and job.process.is_alive():
                    job.process.terminate()
                    job.process.join(5)
                if job.state in ("queued", "training"):
                    job.state = "stopped"

    def _start(self, index: int, job: SeedJob) -> None:
        data = self.data
        job.process = self._context.Process(
            target=_train_in_worker, daemon=True, name=f"seed-{job.params.random_state}",
            args=(job.params, str(data.path), data.source, data.note, str(cache_dir()),
                  self._epochs, self._peak_kb, index, self._weights))
        job.process.start()
        job.state, job.started = "training", monotonic()

    def _reap(self, job: SeedJob) -> None:
        process = job.process
        if process.is_alive():
            if monotonic() - job.started > self.timeout:
                process.terminate()
                job.state, job.error = "failed", f"took longer than {self.timeout:.0f} s"
            return
        process.join()
        if process.exitcode == 0 and training_state(job.params, self.data) != "untrained":
            job.state = "done"
        else:
            job.state = "failed"
            job.error = f"the worker process ended unexpectedly (exit code {process.exitcode})"


def _worker_context():
    """Workers come from a fork server: one clean process, started on first use, that has
    imported scikit-learn once and forks each worker from itself in milliseconds.

    Not plain ``fork``: the Streamlit server runs many threads, and a child forked from it
    can inherit a lock some other thread held. Not ``spawn``: each worker would spend
    2-3 s importing scikit-learn again.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["core.compare"])
    return context


def _train_in_worker(params, path, source, note, cache, epochs, peak_kb, index, weights
                     ) -> None:
    """Runs in a worker process: one BLAS thread, the shared data mapped from disk.

    The cache folder is the parent's now: the fork server keeps the environment it
    started with, which may be older than the parent's ``MLP_LENS_CACHE``.
    """
    from threadpoolctl import threadpool_limits

    configure_process()
    os.environ[CACHE_ENV] = cache
    with threadpool_limits(limits=1):
        data = open_copy(path, source=source, note=note)

        size = 784 * params.hidden_units
        shown = np.frombuffer(weights, dtype=np.float64)[index * size:(index + 1) * size]

        def count(model):
            shown[:] = model.coefs_[0].ravel()  # before the epoch count, which says it is there
            epochs[index] = int(getattr(model, "n_iter_", epochs[index] + 1))

        try:
            train_mlp(params, data, on_epoch=count)
        except TrainingFailed:
            pass  # the cache holds the TrainingFailure; the page shows it for this seed
    peak_kb[index] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
