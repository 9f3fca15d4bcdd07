"""Several random seeds of one network: train them in parallel, line up their units, compare.

Equally good networks learn different units, in a different order. To compare
two of them, each unit of one is matched to a unit of the other by the
assignment that maximises the total absolute correlation of their weight
images (the Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import threading
from dataclasses import dataclass, replace
from time import monotonic

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.budget import Budget, Ticket, Watch, budget, name_this_thread
from core.cache import CACHE_ENV, cache_dir, cache_problem
from core.data import MnistData, open_copy, verified_copy
from core.live import TrainingRun, running_for, start_training
from core.params import FIELDS, TrainParams
from core.process import configure_process
from core.train import TrainingFailed, train_mlp, training_state

MAX_SEEDS = 8
log = logging.getLogger("mlp_lens")
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
    """Seeds from a person's list: whole numbers in range, no repeats, at most eight.

    Each problem gets a notice, which quotes the value cut to about 40 characters
    (the list may come from a link of any length).
    """
    spec = FIELDS["random_state"]
    seeds, notices = [], []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            seed = int(text)
        except ValueError:
            notices.append(f"'{_cut(text)}' is not a whole number; left out.")
            continue
        if not spec.low <= seed <= spec.high:
            notices.append(f"{_cut(text)} is outside 0 to {spec.high:,.0f}; left out.")
        elif seed in seeds:
            notices.append(f"{seed} was listed twice; kept once.")
        else:
            seeds.append(seed)
    if len(seeds) > MAX_SEEDS:
        notices.append(f"At most {MAX_SEEDS} seeds; kept the first {MAX_SEEDS}.")
        seeds = seeds[:MAX_SEEDS]
    return tuple(seeds), notices


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class SeedJob:
    """One seed of a page's comparison: waiting, then trained in a worker process (its own or
    one it follows), or in a thread of this process."""

    params: TrainParams
    state: str = "queued"  # queued, waiting (for a free trainer), training, done, failed, stopped
    error: str = ""
    process: multiprocessing.Process | None = None  # the worker process training it
    ticket: Ticket | None = None  # its place in line, until a worker takes it over
    worker: SeedWorker | None = None  # the worker training this network (maybe for others too)
    run: TrainingRun | None = None  # when it trains in a thread of this process instead
    following: bool = False  # another page started the training it shows
    abandoned: bool = False  # stopped because no page watched it (not by a person)

    @property
    def place(self) -> int:
        """Its place in the line for a free trainer (0 unless waiting)."""
        run, ticket = self.run, self.ticket  # once each: the supervisor may requeue meanwhile
        if run is not None:
            return run.place
        return ticket.place if self.state == "waiting" and ticket else 0


class SeedWorker:
    """One network trained in a worker process, for every Compare page that waits for it.

    The server keeps one per network under way (``_workers``, keyed like the cache by
    the parameters and the data's fingerprint). It holds the trainer its process took
    and the shared memory the process writes its epoch and latest weights to. Pages
    ``watch`` and ``release`` it by name; the process is ended only when the last of
    them releases it, so one visitor's Stop never ends another's training.
    """

    def __init__(self, params: TrainParams, data: MnistData, path, ticket: Ticket, *,
                 context, timeout: float):
        self.params, self.ticket, self.error = params, ticket, ""
        self.key = (params, data.fingerprint)
        self.outcome: str | None = None  # "done", "failed" or "stopped" once it has ended
        self._epochs = context.Value("i", 0, lock=False)
        self._peak_kb = context.Value("l", 0, lock=False)  # the process's, on finishing
        # The latest first-layer weights, written after every epoch, for the live view.
        self._weights = context.Array("d", 784 * params.hidden_units, lock=False)
        self._watchers: set[str] = set()
        self._deadline = monotonic() + timeout
        self._timeout = timeout
        self.process = context.Process(
            target=_train_in_worker, daemon=True, name=f"seed-{params.random_state}",
            args=(params, str(path), data.source, data.note, data.fingerprint, str(cache_dir()),
                  self._epochs, self._peak_kb, self._weights, os.getpid()))

    @property
    def epoch(self) -> int:
        return self._epochs.value

    @property
    def peak_kb(self) -> int:
        return self._peak_kb.value

    def images(self) -> np.ndarray:
        """The hidden weight images at its latest epoch: (n_hidden, 28, 28)."""
        first_layer = np.frombuffer(self._weights, dtype=np.float64).reshape(784, -1)
        return first_layer.T.reshape(-1, 28, 28).copy()

    def watch(self, session: str) -> bool:
        """``session`` waits for this network too; False if the worker has already ended."""
        with _workers_lock:
            if self.outcome is None:
                self._watchers.add(session)
            return self.outcome is None

    def release(self, session: str) -> None:
        """``session`` no longer waits; the last one to leave ends the process."""
        with _workers_lock:
            self._watchers.discard(session)
            if self._watchers or self.outcome is not None:
                return
            self.process.terminate()
            self.process.join(5)
            self._end("stopped", "nobody waits for it any more")

    def check(self, data: MnistData) -> str | None:
        """How it ended ("done": the network is in the cache), or None while it trains."""
        with _workers_lock:
            if self.outcome is not None:
                return self.outcome
            process = self.process
            if process.is_alive():
                if monotonic() > self._deadline:
                    process.terminate()
                    process.join(5)
                    self._end("failed", f"took longer than {self._timeout:.0f} s")
                return self.outcome
            process.join()
            if process.exitcode == 0 and training_state(self.params, data) != "untrained":
                self._end("done")
            elif process.exitcode == _DATA_CHANGED:
                self._end("failed", "its copy of the data changed on disk while it started")
            else:
                self._end("failed", "the worker process ended unexpectedly "
                                    f"(exit code {process.exitcode})")
            return self.outcome

    def _end(self, outcome: str, error: str = "") -> None:
        """(``_workers_lock`` is held.) Give the trainer back; a new request starts anew."""
        self.outcome, self.error = outcome, error
        self.ticket.release()
        if _workers.get(self.key) is self:
            del _workers[self.key]
        log.info("seed worker ended (%s): %s", outcome, self.params)


def running_worker(params: TrainParams, data: MnistData) -> SeedWorker | None:
    """The worker training ``params`` on ``data`` now, for some page; None if there is none."""
    with _workers_lock:
        return _workers.get((params, data.fingerprint))


def _worker_for(params: TrainParams, data: MnistData, path, ticket: Ticket, *, session: str,
                context, timeout: float) -> tuple[SeedWorker, bool]:
    """The worker of ``params`` on ``data``, watched by ``session``; whether it was started
    now (with ``ticket``) rather than found under way. One lock makes the two atomic."""
    global _workers_started
    with _workers_lock:
        worker = _workers.get((params, data.fingerprint))
        if worker is not None and worker.watch(session):
            return worker, False
        worker = SeedWorker(params, data, path, ticket, context=context, timeout=timeout)
        worker.process.start()
        worker.watch(session)
        _workers[worker.key] = worker
        _workers_started += 1
        return worker, True


def workers_started() -> int:
    """How many seed worker processes this process has started."""
    return _workers_started


# The seed workers under way, one per network, and the one lock of all of them and of the
# registry (reentrant: ``_worker_for`` watches the worker it found with it held).
_workers: dict[tuple[TrainParams, str], SeedWorker] = {}
_workers_lock = threading.RLock()
_workers_started = 0


class SeedTraining:
    """Train the seeds that are not cached yet, in worker processes, ``n_jobs`` at a time.

    Each seed has its own process, so a worker that dies costs only its seed.
    Each worker takes a trainer from the server's budget (``core.budget``) first,
    reads the dataset's uint8 copy (checked against the data's fingerprint, so a
    damaged file fails its own seed only), limits its BLAS to one thread, and
    leaves its network in the persistent cache, where the page reads it. A
    supervising thread starts and reaps the workers; ``poll()`` never blocks and
    tells it a page is watching: when none has for ``unwatched_after`` seconds
    (``MLP_LENS_UNWATCHED_SECONDS``), this page lets go of its seeds.

    Identical requests share one training, server-wide. While a seed waits for a
    trainer, and again once granted one (after looking in the cache), it looks for a
    training of the same network already under way: another page's worker
    (``running_worker``) or a live training of the Explore page
    (``core.live.running_for``). It then follows that one (``following``): its card
    shows that training's epoch and weights, it is "done" once the network is in the
    cache, and it gives its place in line back. A worker belongs to no page: every
    page that waits for it watches it by name, and its process ends only when the
    last of them lets go (a Stop, a change of settings, a page nobody watched for
    the limit). So a visitor's Stop ends only the trainings nobody else waits for,
    and a worker is stopped as unwatched only when every page waiting for it went
    unwatched. If a followed training ends without a network (it failed, its own
    visitor stopped a live training, or paused it: a held training is not waited
    for), the follower goes back in line and trains the seed itself (or follows a
    newer training); the page that started a failed worker shows the failure.

    Without a usable cache folder (``core.cache.cache_problem``) a worker could
    not hand its network back, so the seeds train in threads of this process
    instead (``core.live``, which shares identical trainings itself), into the
    in-memory cache.
    """

    def __init__(self, params: TrainParams, seeds, data: MnistData, *, n_jobs: int | None = None,
                 timeout: float = 3600, trainers: Budget | None = None,
                 unwatched_after: float | None = None):
        self.data, self.timeout = data, timeout
        self._in_process = data.path is None or bool(cache_problem())
        self.n_jobs = n_jobs or min(len(seeds), os.cpu_count() or 1)
        self._trainers = trainers or budget()
        self._watch = Watch(unwatched_after)
        self._context = _worker_context()
        self._session = f"seeds-{id(self)}"  # its name among the watchers of a training
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.jobs = {seed: SeedJob(replace(params, random_state=seed)) for seed in seeds}
        for job in self.jobs.values():
            if training_state(job.params, data) != "untrained":
                job.state = "done"  # a network, or a failure the page shows for this seed
        self._supervise_in_background()

    def poll(self) -> dict[int, SeedJob]:
        """Every seed's job, as the supervising thread last left it; a page is watching."""
        self._watch.seen()
        for job in list(self.jobs.values()):
            run = job.run
            if run is not None:
                run.seen(self._session)
        return self.jobs

    # The page reads these without the lock: each reads a job's run and worker once, since
    # the supervisor may requeue the job (both None) at any moment.

    def epoch(self, seed: int) -> int:
        job = self.jobs[seed]
        run, worker = job.run, job.worker
        if run is not None:
            snapshot = run.snapshot()
            return snapshot.epoch if snapshot else 0
        return worker.epoch if worker is not None else 0

    def weights(self, seed: int) -> np.ndarray | None:
        """The seed's hidden weight images as they were at its latest epoch: (n_hidden, 28, 28);
        None before its first epoch (or when it came from the cache)."""
        job = self.jobs[seed]
        run, worker = job.run, job.worker
        if run is not None:  # training in a thread here: its latest snapshot
            snapshot = run.snapshot()
            if snapshot is None or snapshot.epoch == 0:
                return None
            return snapshot.model.coefs_[0].T.reshape(-1, 28, 28).copy()
        if worker is None or worker.epoch == 0:
            return None
        return worker.images()

    @property
    def worker_peak_mb(self) -> float:
        """The largest peak resident memory of the workers so far (MB), as each reported it
        on finishing; it counts the libraries the worker shares with the fork server."""
        peaks = [job.worker.peak_kb for job in self.jobs.values() if job.worker is not None]
        return max(peaks, default=0) / 1024

    @property
    def finished(self) -> bool:
        return all(job.state in _ENDED for job in self.poll().values())

    def wait(self, timeout: float) -> bool:
        deadline = monotonic() + timeout
        while not self.finished and monotonic() < deadline:
            threading.Event().wait(0.1)
        return self.finished

    def retry(self, seed: int) -> None:
        """Train a failed (or stopped) seed again."""
        with self._lock:
            job = self.jobs[seed]
            if job.state in ("failed", "stopped"):
                self.jobs[seed] = SeedJob(job.params)
        self._watch.seen()
        self._supervise_in_background()

    def stop(self) -> None:
        """Let go of every seed still training or waiting: the trainings nobody else waits
        for end, and the seeds leave the line for trainers."""
        self._stopped.set()
        with self._lock:
            self._stop_jobs("stopped")

    def _supervise_in_background(self) -> None:
        with self._lock:
            if self._supervisor is not None and self._supervisor.is_alive():
                return
            self._stopped.clear()
            self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                                name="seed-supervisor")
            self._supervisor.start()

    def _supervise(self) -> None:
        try:
            self._supervise_until_done()
        except Exception as exc:  # noqa: BLE001 - e.g. no process could start: say so per seed
            log.exception("supervising seeds %s failed", list(self.jobs))
            with self._lock:
                self._stop_jobs("failed")
                for job in self.jobs.values():
                    if job.state == "failed" and not job.error:
                        job.error = f"its training could not be run ({type(exc).__name__}: {exc})"

    def _supervise_until_done(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                if self._watch.unwatched:
                    log.info("letting go of seeds %s: no page watched them for %.0f s",
                             list(self.jobs), self._watch.after)
                    self._stop_jobs("stopped", abandoned=True)
                for job in self.jobs.values():
                    if job.state == "training":
                        self._reap(job)
                self._schedule()
                if all(job.state in _ENDED for job in self.jobs.values()):
                    return
            self._stopped.wait(0.1)

    def _schedule(self) -> None:
        """Follow trainings under way; put other queued seeds in line for trainers (``n_jobs``
        at most); start the granted ones."""
        active = sum(job.state == "waiting" or (job.state == "training" and not job.following)
                     for job in self.jobs.values())
        for job in self.jobs.values():
            if job.state in ("queued", "waiting") and self._follow(job):
                continue
            if job.state == "queued" and active < self.n_jobs and self._in_process:
                job.run = start_training(job.params, self.data, session=self._session,
                                         trainers=self._trainers, unwatched_after=self._watch.after)
                job.state, active = "training", active + 1
            if job.state == "queued" and active < self.n_jobs:
                job.ticket = self._trainers.request(f"seed {job.params.random_state}")
                job.state, active = "waiting", active + 1
            if job.state == "waiting" and job.ticket.granted:
                self._start(job)

    def _follow(self, job: SeedJob) -> bool:
        """Follow a training of the seed's network already under way, if there is one: another
        page's worker or a live training (not a paused one, whose visitor holds it)."""
        if self._in_process:
            return False  # core.live shares these trainings itself
        worker = running_worker(job.params, self.data)
        if worker is not None and worker.watch(self._session):
            job.worker, job.process = worker, worker.process
        else:
            run = running_for(job.params, self.data)
            if run is None or run.paused:
                return False
            run.watch(self._session)
            job.run = run
        if job.ticket is not None:  # it was in line: the place goes to the next one
            job.ticket.release()
            job.ticket = None
        job.state, job.following = "training", True
        log.info("seed %d follows the training of %s under way", job.params.random_state,
                 job.params)
        return True

    def _stop_jobs(self, state: str, *, abandoned: bool = False) -> None:
        for job in self.jobs.values():
            if job.state in _ENDED:
                continue
            job.abandoned = abandoned
            self._let_go(job)
            self._end(job, state, "no page was watching" if abandoned else "")

    def _let_go(self, job: SeedJob) -> None:
        """This page no longer waits for the seed's training (it ends if nobody else does)."""
        if job.worker is not None:
            job.worker.release(self._session)
        if job.run is not None:
            job.run.release(self._session, stop=True)

    def _end(self, job: SeedJob, state: str, error: str = "") -> None:
        job.state, job.error = state, error
        if job.ticket is not None:
            job.ticket.release()

    def _requeue(self, job: SeedJob, why: str) -> None:
        """The training it followed ended without a network: back in line, to train it itself."""
        log.info("seed %d trains itself: the training it followed %s", job.params.random_state,
                 why)
        self._let_go(job)
        job.state, job.following, job.worker, job.run, job.process = (
            "queued", False, None, None, None)

    def _start(self, job: SeedJob) -> None:
        """Its trainer is granted: start its worker, unless the network is cached by now or
        a training of it started meanwhile (then the trainer goes back)."""
        if training_state(job.params, self.data) != "untrained":
            self._end(job, "done")
            return
        if self._follow(job):
            return
        try:
            path = verified_copy(self.data)
        except OSError as exc:
            self._end(job, "failed", f"the data could not be written for the worker ({exc})")
            return
        worker, started = _worker_for(job.params, self.data, path, job.ticket,
                                      session=self._session, context=self._context,
                                      timeout=self.timeout)
        if not started:  # another page started it between the look and now
            job.ticket.release()
        job.worker, job.process, job.ticket = worker, worker.process, None
        job.state, job.following = "training", not started

    def _reap(self, job: SeedJob) -> None:
        if job.run is not None:
            self._reap_thread(job)
            return
        outcome = job.worker.check(self.data)
        if outcome is None:
            return
        if outcome == "done":
            self._end(job, "done")
        elif job.following:
            self._requeue(job, f"ended: {job.worker.error}")
        else:
            self._end(job, outcome, job.worker.error)

    def _reap_thread(self, job: SeedJob) -> None:
        run = job.run
        if job.following and run.paused and not run.done:
            self._requeue(job, "was paused by its visitor")
            return
        if not run.done:
            return
        if run.result is not None and not run.result.stopped:
            self._end(job, "done")
        elif job.following:
            self._requeue(job, "ended without a network")
        elif run.error:
            self._end(job, "failed", run.error)
        else:
            job.abandoned = True
            self._end(job, "stopped", "no page was watching")


_ENDED = ("done", "failed", "stopped")
_DATA_CHANGED = 3  # a worker's exit code when the data it read is not the page's
_SERVER_GONE = 4  # a worker's exit code when the page server that started it has ended
WORKER_THREAD = "mlp-seed"  # the system's name of a seed worker's thread


def _worker_context():
    """Workers come from a fork server: one clean process, started on first use, that has
    imported scikit-learn once and forks each worker from itself in milliseconds.

    Not plain ``fork``: the Streamlit server runs many threads, and a child forked from it
    can inherit a lock some other thread held. Not ``spawn``: each worker would spend
    2-3 s importing scikit-learn again.
    """
    context = multiprocessing.get_context("forkserver")
    # core.forkserver also keeps the page (Streamlit's __main__) out of the workers.
    context.set_forkserver_preload(["core.forkserver"])
    return context


def _train_in_worker(params, path, source, note, fingerprint, cache, epochs, peak_kb,
                     weights, server: int) -> None:
    """Runs in a worker process: one BLAS thread, the data read from its uint8 copy.

    The cache folder is the parent's now: the fork server keeps the environment it
    started with, which may be older than the parent's ``MLP_LENS_CACHE``. The worker
    ends as soon as the ``server`` process does (killed, even with SIGKILL).
    """
    from threadpoolctl import threadpool_limits

    _end_with(server)
    configure_process()
    os.environ[CACHE_ENV] = cache
    name_this_thread(WORKER_THREAD)
    with threadpool_limits(limits=1):
        try:
            data = open_copy(path, source=source, note=note, fingerprint=fingerprint)
        except ValueError:
            os._exit(_DATA_CHANGED)  # this seed fails; the page and the other seeds go on

        shown = np.frombuffer(weights, dtype=np.float64)

        def count(model):
            shown[:] = model.coefs_[0].ravel()  # before the epoch count, which says it is there
            epochs.value = int(getattr(model, "n_iter_", epochs.value + 1))

        try:
            train_mlp(params, data, on_epoch=count)
        except TrainingFailed:
            pass  # the cache holds the TrainingFailure; the page shows it for this seed
    name_this_thread("mlp-done")  # still holds its trainer until it exits, but trains no more
    peak_kb.value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _end_with(pid: int) -> None:
    """End this process the moment process ``pid`` ends: a thread waits on a pidfd of it,
    which becomes readable when it exits (a parent watch: no polling, no timer). The fork
    server, this worker's parent, outlives the page server, so parent-death signals do not
    reach it. Without pidfds (not Linux) the worker ends when its training does."""
    import select

    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(_SERVER_GONE)  # it ended before we could watch it
    except (AttributeError, OSError):
        return

    def wait() -> None:
        select.select([handle], [], [])
        os._exit(_SERVER_GONE)

    threading.Thread(target=wait, daemon=True, name="server-watch").start()
