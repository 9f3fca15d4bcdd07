"""Trainings on a Dask cluster: a job's fit (``core.jobs``) as a task on a Dask worker.

With ``MLP_LENS_DASK_SCHEDULER`` set, the server connects once (``Cluster``),
checking the scheduler, its workers and their versions as a sweep does
(``core.sweep.engine.DaskEngine``), and scatters each data set once to every
worker: the workers need the code, never the data. Each job's fit is then one
task (``client.submit(..., pure=False)``) running the same per-epoch loop as a
local worker process (``core.jobs._Fit``).

A job and its task talk through two ``distributed.Queue``s named for the job,
held by the scheduler: epochs, "held" and answers out (``RemoteFit``, read by
the job's thread), "pause", "unpause", "go", "model" and "stop" in
(``QueueEnd``, in the worker). The outcome is the task's result. A held fit
secedes from its worker's thread pool, so its thread is free for another
training, as a held local fit gives its trainer back.

A queue is no pipe: nothing tells one end that the other has gone. So the job
watches its worker (a worker the scheduler no longer lists has lost the fit:
``WorkerLost``) and the scheduler (``SchedulerLost``); the task watches its
own key and stops once nobody wants its result (the job was stopped, or the
server went away).
"""

from __future__ import annotations

import logging
import pickle
import threading
import uuid
from asyncio import CancelledError
from contextlib import contextmanager
from queue import Empty, SimpleQueue
from time import monotonic

from core.data import MnistData
from core.params import TrainParams

log = logging.getLogger("mlp_lens")
WORKER_CHECK_SECONDS = 1.0  # how often a job whose fit sends nothing asks if its worker is there
COMMAND_WAIT_SECONDS = 1.0  # how often a held fit looks whether its result is still wanted
RESULT_SECONDS = 60.0  # the most a job waits for the result of a task that said it ended
_END = "end"  # put into a queue by the end that reads it, to end its reader


class WorkerLost(RuntimeError):
    """The process training a job has gone: that job fails, with this message."""


class SchedulerLost(RuntimeError):
    """The Dask scheduler cannot be reached any more: the job goes on in a local worker."""


class Cluster:
    """The server's Dask client, checked as a sweep checks it, and its data on the workers.

    Raises ``core.sweep.engine.EngineUnavailable`` (saying why) when the scheduler
    cannot be reached, has no worker, or runs other versions.
    """

    def __init__(self, address: str):
        from core.sweep.engine import DaskEngine

        self.address = address
        self.client = DaskEngine(address).client
        self._scattered: dict[str, object] = {}  # data fingerprint -> its future
        self._lock = threading.Lock()

    @property
    def usable(self) -> bool:
        return self.client.status == "running"

    def slots(self) -> int:
        """Its worker threads: how many networks it trains at once."""
        with self.talking():
            return max(1, sum(self.client.nthreads().values()))

    def workers(self) -> set[str]:
        with self.talking():
            return set(self.client.nthreads())

    def submit(self, task, params: TrainParams, data: MnistData) -> RemoteFit:
        """Start ``task(params, data, names)`` on a worker; its end of the queues."""
        return RemoteFit(self, task, params, data)

    def data(self, data: MnistData):
        """The future of ``data`` on the workers: scattered to every worker once per
        fingerprint (again if the workers holding it were all lost)."""
        with self._lock:
            future = self._scattered.get(data.fingerprint)
            if future is None or future.status != "finished":
                with self.talking():
                    future = self.client.scatter(data, broadcast=True, hash=False)
                self._scattered[data.fingerprint] = future
            return future

    @contextmanager
    def talking(self):
        """Any error of a call to the scheduler is ``SchedulerLost``: whatever the cluster
        answers then (a closed connection, a timeout, a closed client), it cannot train."""
        if not self.usable:
            raise SchedulerLost(f"its client is {self.client.status}")
        try:
            yield
        except (SchedulerLost, WorkerLost):
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring
            raise self.lost(exc) from exc

    def lost(self, exc: BaseException) -> SchedulerLost:
        """``exc`` from the scheduler, logged, as ``SchedulerLost``."""
        log.warning("the Dask scheduler at %s: %s: %s", self.address, type(exc).__name__,
                    str(exc)[:300])
        return SchedulerLost(type(exc).__name__)

    def close(self) -> None:
        """Close the client in the background: with its scheduler gone it may wait."""
        threading.Thread(target=self.client.close, kwargs={"timeout": 10}, daemon=True,
                         name="dask-client-close").start()


class RemoteFit:
    """The job's end of one fit on the cluster: its task's future and its two queues."""

    def __init__(self, cluster: Cluster, task, params: TrainParams, data: MnistData):
        from distributed import Queue

        self.cluster = cluster
        self.worker: str | None = None  # the worker's address, once the fit has started there
        self._next_check = 0.0
        self._finished_seen = False
        name = f"mlp-lens-{params.hidden_units}-{params.random_state}-{uuid.uuid4().hex[:12]}"
        with cluster.talking():
            self._out = Queue(f"{name}-out", client=cluster.client)
            self._in = Queue(f"{name}-in", client=cluster.client)
            self._future = cluster.client.submit(
                task, params, cluster.data(data), (self._out.name, self._in.name),
                key=name, pure=False)
        self._inbox: SimpleQueue = SimpleQueue()
        threading.Thread(target=_carry, args=(self._out, self._inbox), daemon=True,
                         name=f"{name}-out").start()

    def receive(self, timeout: float):
        """The next message of the fit, or None when none came within ``timeout`` seconds.
        Raises ``WorkerLost`` or ``SchedulerLost``."""
        try:
            item = self._inbox.get(timeout=timeout)
        except Empty:
            with self.cluster.talking():
                return self._look()
        if isinstance(item, BaseException):
            raise self.cluster.lost(item) from item
        message = pickle.loads(item)
        if message[0] == "ended":  # everything it sent has come: its result is there
            return self._result()
        if message[0] == "started":
            self._started_on(message[1])
            return None
        return message

    def send(self, message: str) -> bool:
        """Put ``message`` in the fit's command queue; False if it cannot be sent."""
        try:
            with self.cluster.talking():
                self._in.put(message)
        except SchedulerLost:
            return False
        return True

    def end(self) -> None:
        """Stop the fit unless it has ended (at the end of its epoch under way, or at once
        while held), let its result go, and release the queues."""
        if not self.cluster.usable:
            return
        if self._future.status == "pending":
            self.send("stop")
        self._future.release()
        try:
            with self.cluster.talking():
                self._out.put(_END)  # ends this end's reader
        except SchedulerLost:
            return
        self._out.close()
        self._in.close()

    def _started_on(self, address: str) -> None:
        if self.worker is not None and address != self.worker:
            raise WorkerLost(self._lost_words(f"; the scheduler started it again on {address}"))
        self.worker = address

    def _look(self):
        """Nothing came: fail if its worker has gone, or the task failed. (Its result comes
        after its last message, "ended"; a task that ended without one has its result
        taken once nothing more came for a while.)"""
        status = self._future.status
        if status == "finished":
            if self._finished_seen:
                return self._result()
            self._finished_seen = True
            return None
        if status != "pending":
            if self.worker is not None and self.worker not in self.cluster.workers():
                raise WorkerLost(self._lost_words(""))  # (the task may say only "cancelled")
            exception = self._future.exception() if status == "error" else status
            raise WorkerLost(f"the Dask cluster could not train it ({exception!r:.300})")
        if self.worker is not None and monotonic() > self._next_check:
            self._next_check = monotonic() + WORKER_CHECK_SECONDS
            if self.worker not in self.cluster.workers():
                raise WorkerLost(self._lost_words(""))
        return None

    def _result(self):
        """The task's result: the fit's last message."""
        try:
            return self._future.result(timeout=RESULT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - whatever ended the task, it ended this job
            if not self.cluster.usable:
                raise self.cluster.lost(exc) from exc
            raise WorkerLost(f"the Dask cluster could not train it ({exc!r:.300})") from exc

    def _lost_words(self, more: str) -> str:
        return f"the Dask worker training it ({self.worker}) was lost{more}"


def _carry(queue, inbox: SimpleQueue) -> None:
    """Move what comes in ``queue`` to ``inbox`` until ``_END`` comes, or an error (put in
    ``inbox`` too). Each get waits as long as it takes: one that times out is logged in the
    scheduler as an error, with its traceback."""
    while True:
        try:
            item = queue.get()
        except (Exception, CancelledError) as exc:  # noqa: BLE001 - the reader of inbox decides
            inbox.put(exc)
            return
        if item == _END:
            return
        inbox.put(item)


class QueueEnd:
    """The fit's end of its two queues, in the Dask worker: what ``core.jobs._Fit`` sends
    and receives (``send``, ``poll``, ``recv``), as it does through a pipe locally.

    Messages go out from a thread of their own, so a fit never waits for the
    scheduler; an epoch still unsent when the next one is ready is dropped
    (each carries the whole loss curve). Commands come in through another. Once
    nobody wants the task's result (the job let it go, or the server's client
    has gone), or the scheduler is lost, the command is "stop".
    """

    def __init__(self, names: tuple[str, str]):
        from distributed import Queue, get_client, get_worker

        client, self._worker = get_client(), get_worker()
        self._key = self._worker.get_current_task()
        self._out, self._in = (Queue(name, client=client) for name in names)
        self._outbox: SimpleQueue = SimpleQueue()
        self._inbox: SimpleQueue = SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, daemon=True, name="fit-out")
        self._sender.start()
        threading.Thread(target=_carry, args=(self._in, self._inbox), daemon=True,
                         name="fit-in").start()

    def send(self, message: tuple) -> None:
        self._outbox.put((message[0], pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)))

    def poll(self) -> bool:
        if self._inbox.empty() and not self._wanted():
            self._inbox.put("stop")
        return not self._inbox.empty()

    def recv(self):
        while True:
            try:
                item = self._inbox.get(timeout=COMMAND_WAIT_SECONDS)
            except Empty:
                if not self._wanted():
                    return "stop"
                continue
            return "stop" if isinstance(item, BaseException) else item

    def close(self) -> None:
        """Send what is left, then "ended"; end the reader, and let both queues go."""
        self.send(("ended",))
        self._outbox.put(None)
        self._sender.join()
        try:
            self._in.put(_END)
            self._out.close()
            self._in.close()
        except Exception:  # noqa: BLE001 - the scheduler is gone: nothing to release there
            log.info("could not release the queues of %s", self._key)

    def _send_all(self) -> None:
        while True:
            batch = [self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get())
            for item, after in zip(batch, batch[1:] + [None], strict=True):
                if item is None:
                    return
                if item[0] == "epoch" and after is not None and after[0] == "epoch":
                    continue  # a newer epoch follows: send that one
                try:
                    self._out.put(item[1])
                except Exception:  # noqa: BLE001 - the scheduler is gone: end the fit
                    self._inbox.put("stop")
                    return

    def _wanted(self) -> bool:
        """Whether anyone still wants this task's result: the job that submitted it lets it
        go when stopped, and the scheduler when the server's client has gone."""
        task = self._worker.state.tasks.get(self._key)
        return task is not None and task.state not in ("cancelled", "released", "forgotten")


@contextmanager
def off_the_worker():
    """While a fit is held, its thread leaves the worker's pool (``distributed.secede``), so
    another training can have it; going on, it waits for a free one (``rejoin``). A fit
    stopped while held just ends: its thread never rejoins."""
    from distributed import rejoin, secede

    secede()
    yield
    rejoin()
