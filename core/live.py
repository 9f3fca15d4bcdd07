"""Training in a background thread that pages can watch, pause, step, stop and abandon.

A page may not call Streamlit from its own threads, so the worker only
updates a ``TrainingRun``; the page polls ``run.snapshot()``. Runs are shared
per process: two sessions asking for the same network watch the same run,
so each configuration trains once however many people wait for it.

Pause holds the fit itself at the end of an epoch: the per-epoch observer
waits on a condition, so no CPU is used and nothing about the fit changes.
Resumed, it goes on from where it was, and the finished network is exactly
the one an uninterrupted ``fit`` gives (and is cached as such). A step lets
it run one more epoch and holds it again.

Every run takes a trainer from the server's budget (``core.budget``) before it
trains, and waits in line (``run.place``) while none is free. A run that no page
has polled (``run.seen(session)``) for ``MLP_LENS_UNWATCHED_SECONDS`` ends without a
result (``run.abandoned``): nothing is cached, and the next request trains anew.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from time import monotonic, perf_counter

from sklearn.neural_network import MLPClassifier

from core import pace
from core.budget import Budget, Watch, budget, name_this_thread
from core.charts import line_spec
from core.data import MnistData
from core.params import TrainParams
from core.process import give_memory_back
from core.train import StopTraining, TrainingFailed, TrainResult, describe_partial, train_mlp
from core.weights import WeightStyle, array_png, hidden_weight_images, weight_grid_mosaic

log = logging.getLogger("mlp_lens")
HOLD_CHECK_SECONDS = 0.5  # a held fit looks up this often (to notice it is no longer watched)
# Another session that looked at a run this recently still watches it (pages poll every second).
STILL_WATCHING_SECONDS = 10.0
_runs: dict[tuple[TrainParams, str], TrainingRun] = {}
_runs_lock = threading.Lock()
TRAINING_THREAD = "mlp-train"  # the system's name of a thread while it trains
HELD_THREAD = "mlp-held"  # ... while it is paused, holding no trainer


@dataclass(frozen=True)
class Snapshot:
    """The network as it was at the end of one epoch."""

    epoch: int  # epochs done (loss evaluations for lbfgs)
    loss_curve: tuple[float, ...]
    model: MLPClassifier  # a copy: the worker goes on changing its own
    seconds: float


@dataclass(frozen=True)
class Frame:
    """What a live view shows of a run at one epoch: drawn once per epoch (and weight style),
    and shared by every page watching the run."""

    epoch: int
    units: int
    grid_png: bytes  # the weight grid, coloured in the style it was drawn for, at half size
    width: int  # pixels to show it at: twice its own, each weight a 4 x 4 block
    loss_spec: dict | None  # the loss curve so far (a Vega-Lite spec); None before epoch 2


def draw_frame(snapshot: Snapshot, style: WeightStyle) -> Frame:
    """The grid at 2 x 2 pixels per weight (a quarter of the pixels to colour and compress,
    shown twice as large with sharp edges), and the loss curve."""
    images = hidden_weight_images(snapshot.model)
    mosaic = weight_grid_mosaic(images, style=style, zoom=2, gap=1)
    curve = snapshot.loss_curve
    spec = line_spec(curve, x_label="epoch", y_label="loss") if len(curve) > 1 else None
    return Frame(epoch=snapshot.epoch, units=len(images), grid_png=array_png(mosaic),
                 width=2 * mosaic.shape[1], loss_spec=spec)


class TrainingRun:
    """One training of ``params`` on ``data`` in a daemon thread."""

    def __init__(self, params: TrainParams, data: MnistData, *, trainers: Budget | None = None,
                 unwatched_after: float | None = None):
        self.params, self.data = params, data
        part = "train" if params.holdout else "all"
        self.images = sum(data.counts(params.digits, part).values())  # it trains on
        self.result: TrainResult | None = None
        self.error: str | None = None
        self.abandoned = False  # ended because no page watched it: no result, nothing cached
        self._trainers = trainers or budget()
        self._ticket = None
        self._watch = Watch(unwatched_after)
        self._watchers: dict[str, float] = {}  # session -> when it last looked (monotonic)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._snapshot: Snapshot | None = None
        self._frames: dict[WeightStyle, tuple[Snapshot, Frame]] = {}  # the latest, per style
        self._drawing = threading.Lock()  # one page draws an epoch; the others wait and share it
        self.draws = 0  # frames drawn: at most one per epoch and style, however many watch
        self._epochs = 0
        self._started = perf_counter()
        self._control = threading.Condition()  # pause, step and resume, and stop while held
        self._paused = False
        self._steps = 0  # epochs a paused run may still train before it holds again
        self._held = False  # the fit waits at an epoch boundary now
        self._held_seconds = 0.0  # time spent held, which is not the run's training time
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name=f"train-{params.hidden_units}-{params.random_state}")

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def alive(self) -> bool:
        """Still burning CPU."""
        return self._thread.is_alive()

    @property
    def place(self) -> int:
        """0 while it trains, is held or has ended; else its place in the line for a free
        trainer (before it starts, or after a held run was resumed or stepped)."""
        ticket = self._ticket
        return 0 if ticket is None or self.done else ticket.place

    def snapshot(self) -> Snapshot | None:
        with self._lock:
            return self._snapshot

    def frame(self, style: WeightStyle) -> Frame | None:
        """The latest snapshot drawn in ``style``, or None before the first epoch ends. Drawn
        by the first page to ask at each epoch; every later look until the next epoch (a
        page refreshing, or another page watching) gets the same frame for free."""
        snapshot = self.snapshot()
        if snapshot is None:
            return None
        with self._drawing:
            drawn, frame = self._frames.get(style, (None, None))
            if drawn is not snapshot:  # a new epoch (or loss evaluation) since
                frame = draw_frame(snapshot, style)
                self._frames[style] = (snapshot, frame)
                self.draws += 1
        return frame

    @property
    def paused(self) -> bool:
        """Asked to pause (it holds at the end of the epoch under way)."""
        with self._control:
            return self._paused

    @property
    def held(self) -> bool:
        """Paused and waiting at an epoch boundary: the snapshot is where it stands."""
        with self._control:
            return self._held

    def pause(self) -> None:
        """Hold the fit at the end of the current epoch, until ``resume`` or ``step``."""
        with self._control:
            self._paused, self._steps = True, 0

    def step(self) -> None:
        """A paused run trains one more epoch, then holds again."""
        with self._control:
            if self._paused:
                self._steps += 1
                self._control.notify_all()

    def resume(self) -> None:
        """Go on training from where the fit holds."""
        with self._control:
            self._paused, self._steps = False, 0
            self._control.notify_all()

    def seen(self, session: str) -> None:
        """``session``'s page is showing this run now (its live view polls once a second)."""
        with self._lock:
            if session in self._watchers:
                self._watchers[session] = monotonic()
        self._watch.seen()

    def watch(self, session: str) -> None:
        """``session`` waits for this run (again): a stop asked for earlier is called off."""
        with self._lock:
            self._watchers[session] = monotonic()
            self._stop.clear()
        self._watch.seen()

    def release(self, session: str, *, stop: bool) -> None:
        """``session`` no longer waits for this run; with ``stop``, end it unless another
        session has looked at it in the last ``STILL_WATCHING_SECONDS`` (a session whose
        browser went away, or reconnected as a new session, never releases its runs)."""
        with self._lock:
            self._watchers.pop(session, None)
            now = monotonic()
            unwatched = not any(now - last < STILL_WATCHING_SECONDS
                                for last in self._watchers.values())
        if stop and unwatched:
            self._stop.set()
            with self._control:
                self._control.notify_all()  # a held fit wakes up to end

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def _on_epoch(self, model: MLPClassifier) -> None:
        self._epochs += 1
        epoch = int(getattr(model, "n_iter_", self._epochs))
        seconds = perf_counter() - self._started - self._held_seconds
        snapshot = Snapshot(epoch=epoch, loss_curve=tuple(getattr(model, "loss_curve_", ())),
                            model=copy.deepcopy(model), seconds=seconds)
        with self._lock:
            self._snapshot = snapshot
        pace.record(self.params, self.images, epoch=epoch, seconds=seconds)
        self._hold()
        if self._stop.is_set() or self._give_up():
            raise StopTraining

    def _hold(self) -> None:
        """While paused, wait here, between two epochs, using no CPU and no trainer (it goes
        back to the budget, so someone else's training can go on); a step lets one more
        epoch through, after taking a trainer again (waiting in line, its place shown);
        a stop ends the wait (and the training)."""
        with self._control:
            if not self._paused:
                return
            if self._steps:
                self._steps -= 1
                return
            start, self._held = perf_counter(), True
        self._give_trainer_back()
        with self._control:
            while (self._paused and not self._steps and not self._stop.is_set()
                   and not self._give_up()):
                self._control.wait(HOLD_CHECK_SECONDS)
            if self._paused and self._steps:
                self._steps -= 1
            self._held = False
        if not self._stop.is_set() and not self.abandoned:
            self._wait_for_trainer()  # False if stopped meanwhile: _on_epoch then ends it
            name_this_thread(TRAINING_THREAD)
        with self._control:
            self._held_seconds += perf_counter() - start

    def _give_trainer_back(self) -> None:
        ticket, self._ticket = self._ticket, None
        if ticket is not None:
            name_this_thread(HELD_THREAD)  # holds no trainer, uses no CPU
            ticket.release()

    def _give_up(self) -> bool:
        """Whether no page has watched this run for too long (then it ends, uncached)."""
        if self._watch.unwatched and not self.abandoned:
            self.abandoned = True
            log.info("stopping training %s: no page watched it for %.0f s", self.params,
                     self._watch.after)
        return self.abandoned

    def _wait_for_trainer(self) -> bool:
        """Take a trainer from the budget, waiting in line; False if stopped or abandoned first."""
        self._ticket = self._trainers.request(f"training {self.params}")
        while not self._ticket.wait(0.2):
            if self._stop.is_set() or self._give_up():
                return False
        return True

    def _work(self) -> None:
        try:
            if not self._wait_for_trainer():
                return
            name_this_thread(TRAINING_THREAD)
            self._started = perf_counter()
            self.result = train_mlp(self.params, self.data, on_epoch=self._on_epoch)
        except StopTraining:
            snapshot = self.snapshot()
            if not self.abandoned:
                self.result = describe_partial(self.params, self.data, snapshot.model,
                                               epoch=snapshot.epoch, seconds=snapshot.seconds)
        except TrainingFailed as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the page shows it; the log has the traceback
            log.exception("training %s failed", self.params)
            self.error = f"Training failed ({type(exc).__name__}: {exc})."
        finally:
            if self._ticket is not None:
                name_this_thread("mlp-done")  # no longer a training, seen from outside
                self._ticket.release()
            with _runs_lock:
                if _runs.get(self._key) is self:
                    del _runs[self._key]
            if self.abandoned:  # nobody will look at it again: let its network go now
                with self._lock:
                    self._snapshot = None
                with self._drawing:
                    self._frames.clear()
            give_memory_back()
            self._finished.set()
            log.info("training ended (%s): %s", self._ending(), self.params)

    def _ending(self) -> str:
        if self.error:
            return "failed"
        return "stopped" if self.result is None or self.result.stopped else "finished"

    @property
    def _key(self) -> tuple[TrainParams, str]:
        return (self.params, self.data.fingerprint)


def start_training(params: TrainParams, data: MnistData, *, session: str,
                   trainers: Budget | None = None, unwatched_after: float | None = None
                   ) -> TrainingRun:
    """The running training of ``params`` on ``data``, started if none is running yet.

    ``trainers`` (the server's budget by default) and ``unwatched_after`` (seconds,
    ``MLP_LENS_UNWATCHED_SECONDS`` by default) apply to a run started now.
    """
    with _runs_lock:
        run = _runs.get((params, data.fingerprint))
        if run is None:
            run = TrainingRun(params, data, trainers=trainers, unwatched_after=unwatched_after)
            _runs[run._key] = run
            run._thread.start()
        run.watch(session)
    return run


def running() -> list[TrainingRun]:
    """The trainings under way in this process."""
    with _runs_lock:
        return [run for run in _runs.values() if run.alive]


def running_for(params: TrainParams, data: MnistData) -> TrainingRun | None:
    """The training of ``params`` on ``data`` under way in this process, if any; it starts
    nothing (``start_training`` does). A caller joins it with ``run.watch(session)``."""
    with _runs_lock:
        run = _runs.get((params, data.fingerprint))
    return run if run is not None and not run.done else None
