"""Every training the server runs is a ``Job``: trained in a worker process, followed by any page.

Explore's (and Inspect's, and Draw's) live trainings, each seed of Compare and
each row of a local sweep are all jobs. One registry holds the jobs under way,
keyed by the network (its parameters and the data's fingerprint), so a page
asking for a network that another page is training follows that job instead of
training it again. A job records who watches it (session -> last look); once
no page has looked for ``MLP_LENS_UNWATCHED_SECONDS`` it ends without a result
(``abandoned``), and a session that goes away lets it go (``release``).

A job takes a trainer from the server's budget (``core.budget``), waiting in
line, then trains in a worker process forked from a fork server that has
imported scikit-learn already (milliseconds to start), with one BLAS thread.
The worker reads the data from its uint8 copy (checked against the data's
fingerprint) and talks to the job's thread in the server over a pipe: after
every epoch it sends the epoch, the loss curve and the hidden weights (not the
whole model); at the end, the outcome, which the server puts into its cache.

Pause holds the fit in the worker at the end of an epoch (its trainer goes
back to the budget, so the next in line trains); Step and Resume take a
trainer again, waiting in line, and go on from there, so the finished network
is exactly the one an uninterrupted fit gives. Stop ends the worker at once;
``network_now`` first asks it for the network as it stands. A worker that dies
(even by SIGKILL) fails its own job only, with a message; asking again starts
a new job.

With ``MLP_LENS_DASK_SCHEDULER`` set, the fit runs on that Dask cluster instead
(``core.cluster``), chosen once per server: the same loop in a task on a Dask
worker, talking through two queues instead of a pipe; the budget is the
cluster's worker threads. A worker lost fails its own job only. A scheduler
that cannot be reached, or is lost, sends the job (started over) and every
later one to local worker processes, and ``backend_notice()`` says so.
"""

from __future__ import annotations

import copy
import logging
import os
import resource
import signal
import tempfile
import threading
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from time import monotonic, perf_counter

import numpy as np

from core import pace
from core.budget import Budget, Watch, budget, max_trainings, name_this_thread
from core.cluster import Cluster, QueueEnd, SchedulerLost, WorkerLost, off_the_worker
from core.data import MnistData, open_copy, verified_copy
from core.params import TrainParams
from core.process import configure_process, fork_server, freed_memory_reused, give_memory_back
from core.train import (
    StopTraining,
    TrainingFailure,
    TrainResult,
    cached_failure,
    store_trained,
    train_mlp,
    train_once,
    training_state,
)

log = logging.getLogger("mlp_lens")
TRAINING_THREAD = "mlp-train"  # the system's name of a worker process while it trains
HELD_THREAD = "mlp-held"  # ... while its fit is paused, holding no trainer
# Another session that looked at a job this recently still watches it (pages poll every second).
STILL_WATCHING_SECONDS = 10.0
# How often a job's thread looks for a stop, an unwatched limit, or a Step or Resume to pass on
# while it waits (an epoch or a trainer wakes it at once): twice a second, so a paused page costs
# the server under 0.02 of a core (five times a second it cost 0.021 in one CI run).
LOOK_SECONDS = 0.5
# A worker process trains at this lower priority (``os.nice``): the server's event loop, which
# answers every page and the health check, goes first on a busy machine. A class of 30 on 2
# cores: the health check's 99th percentile was 0.79 s with workers at the server's priority.
WORKER_NICENESS = 10
_SERVER_GONE = 4  # a worker's exit code when the process that started it has ended


@dataclass(frozen=True)
class Snapshot:
    """The network's hidden layer as it was at the end of one epoch."""

    epoch: int  # epochs done (loss evaluations for lbfgs)
    loss_curve: tuple[float, ...]
    weights: np.ndarray  # coefs_[0]: (784, n_hidden)
    seconds: float  # training time so far, held time left out

    @property
    def images(self) -> np.ndarray:
        """The hidden weight images: (n_hidden, 28, 28)."""
        return self.weights.T.reshape(-1, 28, 28)


class Job:
    """One training of ``params`` on ``data``: a thread here, the fit in a worker process (or
    on a Dask worker)."""

    def __init__(self, params: TrainParams, data: MnistData, *, trainers: Budget | None = None,
                 unwatched_after: float | None = None):
        self.params, self.data = params, data
        part = "train" if params.holdout else "all"
        self.images = sum(data.counts(params.digits, part).values())  # it trains on
        self.result: TrainResult | None = None
        self.error: str | None = None  # why it gave no network (then state is "failed")
        self.abandoned = False  # ended because no page watched it: no result
        self.pid: int | None = None  # its local worker process's, once started
        self.peak_kb = 0  # the worker's peak resident memory, reported as it finished
        self._trainers = trainers or budget()
        self._ticket = None
        self._watch = Watch(unwatched_after)
        self._watchers: dict[str, float] = {}  # session -> when it last looked (monotonic)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._snapshot: Snapshot | None = None
        self._frames: dict = {}  # weight style -> (snapshot, frame): the latest drawn
        self._drawing = threading.Lock()  # one page draws an epoch; the others wait and share it
        self.draws = 0  # frames drawn: at most one per epoch and style, however many watch
        self._control = threading.Condition()  # pause, step and resume
        self._paused = False
        self._steps = 0  # epochs a paused job may still train before it holds again
        self._held = False  # the worker's fit waits at an epoch boundary now
        self._link = None  # this end of the fit: _WorkerProcess, or core.cluster.RemoteFit
        self._sending = threading.Lock()
        self._asking = threading.Lock()  # one ``network_now`` question at a time
        self._answer = None
        self._answered = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"job-{params.hidden_units}-{params.random_state}")

    # What a page reads.

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def worker(self) -> str | None:
        """Where it trains: "local:<pid>", or the address of its Dask worker (once there)."""
        link = self._link
        return None if link is None else link.worker

    @property
    def place(self) -> int:
        """0 while it trains, is held or has ended; else its place in the line for a free
        trainer (before it starts, or after a held job was resumed or stepped)."""
        ticket = self._ticket
        return 0 if ticket is None or self.done else ticket.place

    @property
    def state(self) -> str:
        """waiting (for a trainer), training, held, done, failed or stopped."""
        if self.done:
            return "done" if self.result is not None else "failed" if self.error else "stopped"
        if self.held:
            return "held"
        return "waiting" if self.place else "training"

    @property
    def paused(self) -> bool:
        """Asked to pause (it holds at the end of the epoch under way)."""
        with self._control:
            return self._paused

    @property
    def held(self) -> bool:
        """Paused and waiting at an epoch boundary: the snapshot is where it stands. (Once
        stepped or resumed it is no longer held, though it may wait in line to go on.)"""
        with self._control:
            return self._held and self._paused and not self._steps

    def snapshot(self) -> Snapshot | None:
        with self._lock:
            return self._snapshot

    def frame(self, style):
        """The latest snapshot drawn in ``style`` (``core.live.Frame``), or None before the
        first epoch ends. Drawn by the first page to ask at each epoch; every later look until
        the next epoch (a page refreshing, or another page watching) gets the same frame."""
        from core.live import draw_frame

        snapshot = self.snapshot()
        if snapshot is None:
            return None
        with self._drawing:
            drawn, frame = self._frames.get(style, (None, None))
            if drawn is not snapshot:
                frame = draw_frame(snapshot, style)
                self._frames[style] = (snapshot, frame)
                self.draws += 1
        return frame

    def watchers(self, *, within: float | None = None) -> int:
        """How many sessions have looked at it within the last ``within`` seconds
        (``STILL_WATCHING_SECONDS`` unless given)."""
        now, within = monotonic(), STILL_WATCHING_SECONDS if within is None else within
        with self._lock:
            return sum(now - last < within for last in self._watchers.values())

    # What a page does.

    def pause(self) -> None:
        """Hold the fit at the end of the current epoch, until ``resume`` or ``step``."""
        with self._control:
            self._paused, self._steps = True, 0
        self._send("pause")

    def step(self) -> None:
        """A paused job trains one more epoch (once it has a trainer), then holds again."""
        with self._control:
            if self._paused:
                self._steps += 1

    def resume(self) -> None:
        """Go on training from where the fit holds (once it has a trainer)."""
        with self._control:
            self._paused, self._steps = False, 0
        self._send("unpause")

    def network_now(self, timeout: float = 30.0):
        """``(model, epoch, seconds)``: the whole network as it stands, asked of the worker (it
        answers at the end of the epoch under way, at once while held); None if it has no
        epoch yet, or ended first."""
        with self._asking:
            self._answered.clear()
            if self.snapshot() is None or not self._send("model"):
                return None
            deadline = monotonic() + timeout
            while not self._answered.wait(LOOK_SECONDS):
                if self.done or monotonic() > deadline:
                    return None
            return self._answer

    def seen(self, session: str) -> None:
        """``session``'s page is showing this job now."""
        with self._lock:
            if session in self._watchers:
                self._watchers[session] = monotonic()
        self._watch.seen()

    def watch(self, session: str) -> None:
        """``session`` waits for this job (again): a stop asked for earlier is called off."""
        with self._lock:
            self._watchers[session] = monotonic()
            self._stop.clear()
        self._watch.seen()

    def release(self, session: str, *, stop: bool) -> None:
        """``session`` no longer waits for this job; with ``stop``, end it unless another
        session has looked at it in the last ``STILL_WATCHING_SECONDS`` (a session whose
        browser went away, or came back as a new session, never releases its jobs)."""
        with self._lock:
            self._watchers.pop(session, None)
        if stop and not self.watchers():
            self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    # The job's thread.

    def _run(self) -> None:
        try:
            # Its place in line is when it was asked for; then the budget's limit becomes the
            # cluster's threads. Asking the scheduler first let jobs overtake each other in the
            # round trip (42 pairs out of order in a class of 30 on a local cluster).
            self._ticket = self._trainers.request(f"training {self.params}")
            cluster = _cluster()
            if self._take_trainer() and not self._found_in_cache() and not self._should_end():
                self._train(cluster)
        except Exception as exc:  # noqa: BLE001 - the page shows it; the log has the traceback
            log.exception("training %s failed", self.params)
            self.error = f"Training failed ({type(exc).__name__}: {exc})."
        finally:
            if self._link is not None:
                self._link.end()
            if self._ticket is not None:
                self._ticket.release()
            _forget(self)
            if self.abandoned:  # nobody will look at it again: let its weights go now
                with self._lock:
                    self._snapshot = None
                with self._drawing:
                    self._frames.clear()
            give_memory_back()
            self._finished.set()
            log.info("training ended (%s): %s", self.state, self.params)

    def _take_trainer(self) -> bool:
        """Wait in line for a trainer (asked for now unless it already is); False if stopped or
        abandoned first."""
        if self._ticket is None:
            self._ticket = self._trainers.request(f"training {self.params}")
        while not self._ticket.wait(LOOK_SECONDS):
            if self._should_end():
                return False
        return True

    def _found_in_cache(self) -> bool:
        """Whether the network was trained meanwhile (another process, a script): then it is
        loaded, and the trainer goes back without a worker."""
        state = training_state(self.params, self.data)
        if state == "trained":
            self.result = train_mlp(self.params, self.data)
        elif state == "failed":
            self.error = cached_failure(self.params, self.data).message
        return state != "untrained"

    def _should_end(self) -> bool:
        if self._watch.unwatched and not self.abandoned:
            self.abandoned = True
            log.info("stopping training %s: no page watched it for %.0f s", self.params,
                     self._watch.after)
        return self.abandoned or self._stop.is_set()

    def _train(self, cluster: Cluster | None) -> None:
        """Train on the cluster if there is one; else, or once it is lost, in a local worker
        process (from the start: a fit cannot move)."""
        if cluster is not None:
            try:
                self._link = cluster.submit(_work_on_cluster, self.params, self.data)
                _count_started()
                self._talk()
                return
            except SchedulerLost as exc:
                _lose(cluster, str(exc))
                if not self._start_over():
                    return
        self._link = self._start_worker()
        if self.paused:  # paused before it started (or before the cluster was lost)
            self._send("pause")
        self._talk()

    def _start_worker(self) -> _WorkerProcess:
        link = _WorkerProcess(self.params, self.data)
        self.pid = link.pid
        _count_started()
        return link

    def _start_over(self) -> bool:
        """Forget the fit on the lost cluster; a trainer for the next one (in line again if it
        held none); False if stopped first."""
        link, self._link = self._link, None
        if link is not None:
            link.end()
        with self._control:
            self._held = False
        with self._lock:
            self._snapshot = None
        if self._ticket is not None and not self._ticket.granted:
            self._ticket.release()  # asked to go on, and still in line
            self._ticket = None
        return self._ticket is not None or self._take_trainer()

    def _talk(self) -> None:
        """Take what the fit sends until it ends; stop it when asked; give its trainer back
        while it holds, and take one again (in line) when it is to go on."""
        while True:
            if self._should_end():
                return  # the fit is ended in _run: a stopped fit keeps nothing
            self._go_on_if_asked()
            try:
                message = self._link.receive(LOOK_SECONDS)
            except WorkerLost as exc:
                self.error = str(exc)
                return
            if message is None:
                continue
            kind, *body = message
            if kind == "epoch":
                self._took_epoch(Snapshot(*body))
            elif kind == "held":
                self._now_held()
            elif kind == "model":
                self._answer = tuple(body)
                self._answered.set()
            elif kind == "failed":
                self.error = body[0]
                return
            elif kind == "stopped":  # by the cluster, not by this job
                self.error = "its training was stopped on the Dask cluster"
                return
            elif kind == "outcome":
                self._keep(*body)
                return

    def _took_epoch(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
        pace.record(self.params, self.images, epoch=snapshot.epoch, seconds=snapshot.seconds)

    def _now_held(self) -> None:
        with self._control:
            self._held = True
        ticket, self._ticket = self._ticket, None
        if ticket is not None:
            ticket.release()

    def _go_on_if_asked(self) -> None:
        """Held and asked to go on (a step, or resumed): take a trainer, then let it go."""
        with self._control:
            wanted = self._held and (not self._paused or self._steps > 0)
            held = self._held
        if not held:
            return
        if not wanted:
            if self._ticket is not None:  # resumed, then paused again while in line
                self._ticket.release()
                self._ticket = None
            return
        if self._ticket is None:
            self._ticket = self._trainers.request(f"training {self.params}")
        if not self._ticket.granted:
            return
        with self._control:
            if self._paused and self._steps:
                self._steps -= 1
            self._held = False
        self._send("go")

    def _keep(self, outcome: TrainResult | TrainingFailure, peak_kb: int) -> None:
        """The worker's outcome: into this process's cache, where every page finds it."""
        self.peak_kb = peak_kb
        store_trained(self.params, self.data, outcome)
        if isinstance(outcome, TrainingFailure):
            self.error = outcome.message
        else:
            self.result = outcome

    def _send(self, message: str) -> bool:
        with self._sending:
            if self._link is None or self.done:
                return False
            return self._link.send(message)

    @property
    def _key(self) -> tuple[TrainParams, str]:
        return (self.params, self.data.fingerprint)


def start(params: TrainParams, data: MnistData, *, session: str, trainers: Budget | None = None,
          unwatched_after: float | None = None) -> Job:
    """The job training ``params`` on ``data``, started if none is under way; ``session``
    watches it. ``trainers`` (the server's budget by default) and ``unwatched_after``
    (seconds, ``MLP_LENS_UNWATCHED_SECONDS`` by default) apply to a job started now."""
    with _jobs_lock:
        job = _jobs.get((params, data.fingerprint))
        if job is None:
            job = Job(params, data, trainers=trainers, unwatched_after=unwatched_after)
            _jobs[job._key] = job
            job._thread.start()
        job.watch(session)
    return job


def running() -> list[Job]:
    """The jobs under way."""
    with _jobs_lock:
        return [job for job in _jobs.values() if job.alive]


def running_for(params: TrainParams, data: MnistData) -> Job | None:
    """The job training ``params`` on ``data`` now, if any; it starts nothing."""
    with _jobs_lock:
        job = _jobs.get((params, data.fingerprint))
    return job if job is not None and not job.done else None


def started() -> int:
    """How many fits this process has started: local worker processes and cluster tasks."""
    return _started


def backend_notice() -> str | None:
    """Why trainings run in local worker processes though a Dask scheduler was given (it
    could not be used, or was lost), else None. Said once: it does not change after."""
    return _notice


def use_cluster(address: str | None) -> None:
    """Train the jobs started from now on on the Dask cluster at ``address`` (None: in
    local worker processes), in place of what ``MLP_LENS_DASK_SCHEDULER`` says: for tests
    and scripts (the server reads the variable at its first training)."""
    global _chosen, _the_cluster, _notice
    with _backend_lock:
        old, _the_cluster, _notice, _chosen = _the_cluster, None, None, True
        if address:
            _the_cluster = _connect(address)
    if old is not None:
        old.close()
    if _the_cluster is None:
        budget().resize(max_trainings())


def _cluster() -> Cluster | None:
    """The cluster jobs train on, or None: chosen at the first training, from
    ``MLP_LENS_DASK_SCHEDULER``. The server's budget takes its worker threads (workers may
    have come or gone since the last training)."""
    global _chosen, _the_cluster
    with _backend_lock:
        if not _chosen:
            from core.sweep.engine import SCHEDULER_ENV

            _chosen = True
            _the_cluster = _connect(os.environ.get(SCHEDULER_ENV, "").strip())
        cluster = _the_cluster
    if cluster is None:
        return None
    try:
        budget().resize(cluster.slots())
    except SchedulerLost as exc:
        _lose(cluster, str(exc))
        return None
    return cluster


def _connect(address: str) -> Cluster | None:
    """The cluster at ``address``; None (and the notice) if there is none or it cannot be
    used. The lock is held."""
    global _notice
    if not address:
        return None
    from core.sweep.engine import EngineUnavailable

    try:
        cluster = Cluster(address)
    except EngineUnavailable as exc:
        _notice = f"{exc} Trainings run on this machine instead."
        log.warning("%s", _notice)
        return None
    log.info("trainings run on the Dask cluster at %s", address)
    return cluster


def _lose(cluster: Cluster, reason: str) -> None:
    """``cluster`` cannot be used any more: every job from now on trains here (said once)."""
    global _the_cluster, _notice
    with _backend_lock:
        if _the_cluster is not cluster:
            return  # another job found it lost first
        _the_cluster = None
        _notice = (f"The Dask scheduler at {cluster.address} was lost ({reason}). Trainings "
                   "run on this machine from now on; those under way there started again here.")
    log.warning("%s", _notice)
    budget().resize(max_trainings())
    cluster.close()


_jobs: dict[tuple[TrainParams, str], Job] = {}
_jobs_lock = threading.Lock()
_started = 0
_backend_lock = threading.Lock()
_chosen = False  # whether the cluster (or none) was chosen
_the_cluster: Cluster | None = None
_notice: str | None = None


def _forget(job: Job) -> None:
    with _jobs_lock:
        if _jobs.get(job._key) is job:
            del _jobs[job._key]


def _count_started() -> None:
    global _started
    with _jobs_lock:
        _started += 1


def _death(process) -> str:
    process.join(1)
    code = process.exitcode
    how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
           else f"exit code {code}")
    return f"the worker process training it died ({how})"


def _data_file(data: MnistData) -> Path:
    """The data's uint8 copy for the worker to read: its own, or one written to the temporary
    folder when the cache folder could not take it."""
    if data.path is not None:
        return verified_copy(data)
    from core.data import _write_copy

    path = Path(tempfile.gettempdir()) / f"mlp-lens-data-{data.fingerprint}.npy"
    if not path.exists():
        _write_copy(path, data.X, data.y, strict=True)
    return path


_CONTEXT = fork_server()


class _WorkerProcess:
    """A job's fit in a local worker process from the fork server, over a pipe."""

    def __init__(self, params: TrainParams, data: MnistData):
        path = _data_file(data)
        self._conn, there = _CONTEXT.Pipe()
        self._process = _CONTEXT.Process(
            target=_work, daemon=True, name=f"mlp-job-{params.random_state}",
            args=(there, params, str(path), data.source, data.note, data.fingerprint,
                  os.getpid()))
        self._process.start()
        there.close()
        self.pid = self._process.pid
        self.worker = f"local:{self.pid}"

    def receive(self, timeout: float):
        """The next message of the fit, or None when none came within ``timeout`` seconds.
        Raises ``WorkerLost`` when the process has died."""
        if not self._conn.poll(timeout):
            if not self._process.is_alive() and not self._conn.poll():
                raise WorkerLost(_death(self._process))
            return None
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            raise WorkerLost(_death(self._process)) from None

    def send(self, message: str) -> bool:
        try:
            self._conn.send(message)
        except (OSError, ValueError):  # the worker has ended (or the pipe was closed)
            return False
        return True

    def end(self) -> None:
        """End the process at once: a stopped fit keeps nothing."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(5)
        self._conn.close()


# Where the fit runs: a local worker process, or a task on a Dask worker.

def _work(conn, params, path, source, note, fingerprint, server: int) -> None:
    """Runs in a worker process: train ``params`` on the data in ``path`` and send each epoch,
    then the outcome, down ``conn``; obey pause, go, model and unpause on the way."""
    _end_with(server)
    os.nice(WORKER_NICENESS)
    configure_process()  # one BLAS thread
    name_this_thread(TRAINING_THREAD)
    try:
        data = open_copy(path, source=source, note=note, fingerprint=fingerprint)
    except ValueError as exc:
        conn.send(("failed", f"its copy of the data does not match the data's fingerprint "
                             f"{fingerprint} ({exc}); nothing was trained"))
        return
    ended = _fit_to_the_end(_Fit(conn), params, data)
    name_this_thread("mlp-done")
    conn.send(ended)


def _work_on_cluster(params: TrainParams, data: MnistData, names: tuple[str, str]) -> tuple:
    """Runs in a Dask worker (``core.cluster``): train ``params`` on ``data`` (the scattered
    copy) as ``_work`` does, talking through the job's queues ``names``; the outcome is the
    task's result."""
    from distributed import get_worker

    configure_process()  # one BLAS thread, for the worker process, as a sweep sets it
    channel = QueueEnd(names)
    try:
        channel.send(("started", get_worker().address))
        # replace() fingerprints the bytes this worker holds, not the ones that were sent.
        if replace(data).fingerprint != data.fingerprint:
            return ("failed", "the data reached the Dask worker changed on the way; nothing "
                              "was trained")
        name_this_thread(TRAINING_THREAD)
        with freed_memory_reused():
            return _fit_to_the_end(_Fit(channel, while_held=off_the_worker), params, data)
    finally:
        channel.close()  # everything sent before the result is there


def _fit_to_the_end(fit: _Fit, params: TrainParams, data: MnistData) -> tuple:
    """Train, sending epochs through ``fit``; the last message: the outcome, the failure, or
    that the job stopped it."""
    try:
        outcome = train_once(params, data, on_epoch=fit.on_epoch)
    except StopTraining:
        return ("stopped",)
    except Exception as exc:  # noqa: BLE001 - the page shows it for this job only
        return ("failed", str(exc) if type(exc).__name__ == "TrainingFailed" else
                f"Training failed ({type(exc).__name__}: {str(exc)[:300]}).")
    return ("outcome", outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _Fit:
    """The worker's end of one fit: sends epochs, holds while paused.

    ``conn`` is the pipe, or the queues' end on a Dask worker (``core.cluster.QueueEnd``);
    ``while_held`` is what holding means beyond waiting (on Dask: leaving the worker's
    threads to others)."""

    def __init__(self, conn, *, while_held=nullcontext):
        self.conn = conn
        self._while_held = while_held
        self.paused = False
        self.epochs = 0
        self.model = None
        self.epoch = 0
        self.seconds = 0.0
        self._started = perf_counter()
        self._held_seconds = 0.0

    def on_epoch(self, model) -> None:
        self.epochs += 1
        self.model, self.epoch = model, int(getattr(model, "n_iter_", self.epochs))
        self.seconds = perf_counter() - self._started - self._held_seconds
        self.conn.send(("epoch", self.epoch, tuple(getattr(model, "loss_curve_", ())),
                        model.coefs_[0], self.seconds))
        self._obey(until_go=False)
        if self.paused:
            self.conn.send(("held",))
            name_this_thread(HELD_THREAD)
            start = perf_counter()
            with self._while_held():
                self._obey(until_go=True)
            self._held_seconds += perf_counter() - start
            name_this_thread(TRAINING_THREAD)

    def _obey(self, *, until_go: bool) -> None:
        while until_go or self.conn.poll():
            try:
                message = self.conn.recv()
            except EOFError:  # the server's end closed: nobody will take the outcome
                os._exit(_SERVER_GONE)
            if message == "go":
                return
            if message == "stop":  # on Dask only: a local worker is ended from outside
                raise StopTraining
            if message in ("pause", "unpause"):
                self.paused = message == "pause"
            elif message == "model":
                self.conn.send(("model", _plain(self.model), self.epoch, self.seconds))


def _plain(model):
    """The model without the epoch hook wrapped on it during the fit (which cannot pickle);
    its arrays are pickled, so the fit's own are never shared."""
    plain = copy.copy(model)
    for name, value in list(vars(plain).items()):
        if callable(value):
            delattr(plain, name)
    return plain


def _end_with(pid: int) -> None:
    """End this process the moment process ``pid`` ends: a thread waits on a pidfd of it,
    which becomes readable when it exits (no polling). The fork server, this worker's parent,
    outlives the page server, so parent-death signals do not reach it. Without pidfds (not
    Linux) the worker ends when its training does."""
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
