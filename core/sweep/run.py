"""Running a sweep: each configuration from the cache, or trained once by an engine.

Workers get the data from this process (memory-mapped by loky, scattered once
to every Dask worker), never load it themselves, and send back the fitted
network with the fingerprint of the data they trained on; this process checks
it and writes the network into its own persistent cache.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass, replace
from time import monotonic

import joblib

from core import jobs
from core.budget import Watch
from core.data import MnistData
from core.params import TrainParams
from core.process import configure_process
from core.sweep.engine import EngineUnavailable, SweepInterrupted
from core.sweep.grid import SweepRow, row_from_result
from core.train import (
    TrainingFailed,
    TrainingFailure,
    is_trained,
    store_trained,
    train_mlp,
    train_once,
)

log = logging.getLogger("mlp_lens")


@dataclass(frozen=True)
class _Fitted:
    """What a worker sends back: the outcome, where it ran, the fingerprint of its data."""

    params: TrainParams
    outcome: object  # TrainResult, or the cached failure of a training that gave no network
    worker: str
    fingerprint: str
    error: str = ""  # the task itself failed: nothing to keep in the cache


def _train_task(params: TrainParams, data: MnistData) -> _Fitted:
    """Runs in a worker: fingerprint the data received, train once, send the outcome back."""
    configure_process()  # one BLAS thread, warnings as results (once per worker process)
    worker = _worker_name()
    # replace() runs __post_init__ again: the fingerprint of the bytes this worker holds,
    # not the one computed where the data came from (which came along with them).
    fingerprint = replace(data).fingerprint
    if fingerprint != data.fingerprint:
        return _Fitted(params, None, worker, fingerprint, error=(
            f"The data reached the worker changed (fingerprint {fingerprint}, sent "
            f"{data.fingerprint}); nothing was trained."))
    try:
        outcome = train_once(params, data)
    except Exception as exc:  # noqa: BLE001 - the row says what went wrong; the rest go on
        return _Fitted(params, None, worker, fingerprint, error=(
            f"Training failed in the worker ({type(exc).__name__}: {str(exc)[:300]})."))
    return _Fitted(params, outcome, worker, fingerprint)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"local:{os.getpid()}"


def _worker_deaths() -> tuple[type[BaseException], ...]:
    """The errors with which an engine reports that a worker process died under a task."""
    from concurrent.futures.process import BrokenProcessPool

    from joblib.externals.loky.process_executor import TerminatedWorkerError

    found: list[type[BaseException]] = [TerminatedWorkerError, BrokenProcessPool]
    try:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        found += [KilledWorker, CommClosedError]
    except ImportError:
        pass
    return tuple(found)


def run_sweep(configurations, data: MnistData, engine, *, on_row=None,
              stop: threading.Event | None = None) -> list[SweepRow]:
    """One row per configuration: loaded from the cache, or trained by ``engine``.

    ``on_row(row)`` is called as each row is known (in the caller's thread).
    Setting ``stop`` starts no new training; the rows so far are returned.
    When a worker dies, the configurations it may have been running are tried
    again one at a time: one that kills its worker again fails its row, with
    a message; the others go on in fresh workers.
    """
    stop = stop or threading.Event()
    found: dict[TrainParams, SweepRow] = {}

    def accept(row: SweepRow) -> None:
        found[row.params] = row
        if on_row is not None:
            on_row(row)

    todo = []
    for params in configurations:
        if params in found or params in todo:
            continue
        if is_trained(params, data):
            accept(_cached_row(params, data))
        else:
            todo.append(params)
    try:
        _train_rows(todo, data, engine, accept, stop)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the rows done are kept
        done = [found[p] for p in dict.fromkeys(configurations) if p in found]
        reason = str(exc) if isinstance(exc, EngineUnavailable) else (
            f"The engine failed part-way ({type(exc).__name__}: {str(exc)[:200]}).")
        total = len(dict.fromkeys(configurations))
        raise SweepInterrupted(f"{reason} {len(done)} of {total} rows were finished first.",
                               done) from None
    return [found[p] for p in dict.fromkeys(configurations) if p in found]


def _train_rows(todo: list[TrainParams], data: MnistData, engine, accept,
                stop: threading.Event) -> None:
    """Train ``todo`` on ``engine``: locally as jobs; on Dask retrying the configurations a
    dead worker held."""
    if not todo:
        return
    engine.check()  # workers may have joined since the engine was opened
    if engine.local:
        _train_as_jobs(todo, data, engine.n_workers, accept, stop)
        return
    while todo and not stop.is_set():
        rest, suspects, death = _run_until_a_death(todo, data, engine, accept, stop)
        if death and rest == todo:
            raise EngineUnavailable(f"The engine failed before any training started ({death}).")
        todo = rest
        for params in suspects:
            if stop.is_set():
                break
            _, again, death = _run_until_a_death([params], data, engine, accept, stop)
            if again:
                accept(SweepRow(params, "lost", data.fingerprint, error=(
                    f"The worker process training it died, twice ({death}).")))


def _train_as_jobs(todo: list[TrainParams], data: MnistData, lanes: int, accept,
                   stop: threading.Event) -> None:
    """Each configuration a job of the server's (``core.jobs``), ``lanes`` at a time: each
    takes a trainer from the server's budget in the one line, so a visitor opening Explore
    meanwhile waits for one fit at most; a configuration another page is training already
    is followed, not trained twice. Once ``stop`` is set no new one starts; the ones under
    way finish and are kept. A worker that dies fails its own row."""
    session, pending, running = f"sweep-{id(todo)}", list(todo), []
    while pending or running:
        while pending and len(running) < lanes and not stop.is_set():
            running.append(jobs.start(pending.pop(0), data, session=session,
                                      unwatched_after=math.inf))  # the sweep watches itself
        if stop.is_set():
            pending.clear()
        for job in list(running):
            job.seen(session)
            if job.done:
                running.remove(job)
                accept(_job_row(job, data))
        if running:
            running[0].wait(0.1)


def _job_row(job: jobs.Job, data: MnistData) -> SweepRow:
    worker = job.worker or "local"  # "local:<pid>", or its Dask worker's address
    if job.result is not None:
        return row_from_result(job.result, worker=worker, fingerprint=data.fingerprint)
    return SweepRow(job.params, worker, data.fingerprint,
                    error=job.error or "Its training was stopped on another page.")


def _cached_row(params: TrainParams, data: MnistData) -> SweepRow:
    try:
        result = train_mlp(params, data)
    except TrainingFailed as exc:
        return SweepRow(params, "cache", data.fingerprint, error=str(exc))
    return row_from_result(result, worker="cache", fingerprint=data.fingerprint)


def _run_until_a_death(todo: list[TrainParams], data: MnistData, engine, accept,
                       stop: threading.Event) -> tuple[list, list, str]:
    """Train ``todo`` on ``engine`` until done, stopped, or a worker dies.

    Returns the configurations not started, those started but not returned
    (the ones a dead worker may have been running; tasks are handed out one
    at a time as workers free up, so they are few), and how the worker died.
    """
    started: list[TrainParams] = []

    def tasks():
        for params in todo:
            if stop.is_set():
                return
            started.append(params)
            yield joblib.delayed(_train_task)(params, data)

    returned: set[TrainParams] = set()
    try:
        with engine.backend(data):
            outputs = joblib.Parallel(return_as="generator_unordered", batch_size=1,
                                      pre_dispatch="n_jobs")(tasks())
            try:
                for fitted in outputs:
                    returned.add(fitted.params)
                    accept(_stored_row(fitted, data))
                    if stop.is_set():
                        break
            finally:
                outputs.close()
    except _worker_deaths() as exc:
        death = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return ([p for p in todo if p not in started],
                [p for p in started if p not in returned], death)
    return [], [], ""


def _stored_row(fitted: _Fitted, data: MnistData) -> SweepRow:
    """Check the worker's data was ours; put its network into this process's cache."""
    if fitted.error:
        return SweepRow(fitted.params, fitted.worker, fitted.fingerprint, error=fitted.error)
    if fitted.fingerprint != data.fingerprint:
        return SweepRow(fitted.params, fitted.worker, fitted.fingerprint, error=(
            f"The worker trained on other data (fingerprint {fitted.fingerprint}, here "
            f"{data.fingerprint}); its network was not kept."))
    store_trained(fitted.params, data, fitted.outcome)
    if isinstance(fitted.outcome, TrainingFailure):
        return SweepRow(fitted.params, fitted.worker, fitted.fingerprint,
                        error=fitted.outcome.message)
    return row_from_result(fitted.outcome, worker=fitted.worker, fingerprint=fitted.fingerprint)


@dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep is: rows done of total, seconds so far and (roughly) to go."""

    done: int
    total: int
    elapsed: float
    remaining: float | None  # None until a first network was trained here
    finished: bool
    stopped: bool
    error: str  # why the sweep itself ended early (an engine failure), else ""
    abandoned: bool = False  # stopped because no page watched it (not by a person)


class SweepRun:
    """A sweep in a background thread, for a page: it polls ``progress()`` and may ``stop()``.

    Polling is watching: once no page has called ``progress()`` for ``unwatched_after``
    seconds (``MLP_LENS_UNWATCHED_SECONDS``, 60 by default), the sweep stops as ``stop()``
    does (the rows done stay, and so do their networks in the cache) and says so.
    """

    def __init__(self, configurations, data: MnistData, engine, *,
                 unwatched_after: float | None = None):
        self.configurations = tuple(dict.fromkeys(configurations))
        self.data, self.engine = data, engine
        self.error = ""
        self.abandoned = False
        self._watch = Watch(unwatched_after)
        self._rows: list[SweepRow] = []
        self._trained = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = monotonic()
        self._ended: float | None = None
        self._thread = threading.Thread(target=self._work, daemon=True, name="sweep")
        self._thread.start()
        threading.Thread(target=self._stop_when_unwatched, daemon=True,
                         name="sweep-watch").start()

    @property
    def rows(self) -> list[SweepRow]:
        with self._lock:
            return list(self._rows)

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Start no new training; the ones under way finish (seconds) and are kept."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.finished

    def progress(self) -> SweepProgress:
        """Where the sweep is; a page is watching it."""
        self._watch.seen()
        with self._lock:
            done, trained, ended = len(self._rows), self._trained, self._ended
        elapsed = (ended or monotonic()) - self._started
        left = len(self.configurations) - done
        remaining = elapsed / trained * left if trained and ended is None else None
        return SweepProgress(done, len(self.configurations), elapsed,
                             0.0 if ended is not None else remaining, ended is not None,
                             self._stop.is_set(), self.error, self.abandoned)

    def _accept(self, row: SweepRow) -> None:
        with self._lock:
            self._rows.append(row)
            self._trained += row.worker != "cache"

    def _work(self) -> None:
        try:
            run_sweep(self.configurations, self.data, self.engine, on_row=self._accept,
                      stop=self._stop)
        except Exception as exc:  # noqa: BLE001 - the page shows it; the rows so far stay
            self.error = f"The sweep stopped: {type(exc).__name__}: {str(exc)[:300]}"
        finally:
            with self._lock:
                self._ended = monotonic()

    def _stop_when_unwatched(self) -> None:
        while not self._stop.is_set() and self._thread.is_alive():
            if self._watch.unwatched:
                log.info("stopping a sweep of %d configurations: no page watched it for %.0f s",
                         len(self.configurations), self._watch.after)
                self.abandoned = True
                self._stop.set()
                return
            self._stop.wait(min(1.0, self._watch.after / 4))
