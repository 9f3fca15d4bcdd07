"""How fast trainings go on this server, to say how long the next one will take.

Every live training reports its own time per epoch (pauses excluded). One
epoch costs about one pass of every image through the network, so the time is
kept per unit of work, ``images × (hidden units + OVERHEAD_UNITS)``, by
solver; a new training's estimate is that rate times its own work times
its epochs. Runs of the same solver are the "similar runs"; the estimate is
an upper bound in epochs (a training may stop early) and says so.
"""

from __future__ import annotations

import threading
from collections import deque
from statistics import median

from core.params import TrainParams

OVERHEAD_UNITS = 16  # per-image work that does not grow with the hidden units (input, output)
MIN_EPOCHS = 3  # a run's first epochs include start-up costs; its rate counts from here
_KEPT = 20  # recent runs per solver
_rates: dict[str, deque] = {}
_lock = threading.Lock()


def record(params: TrainParams, images: int, *, epoch: int, seconds: float) -> None:
    """A run of ``params`` on ``images`` images has trained ``epoch`` epochs in ``seconds``."""
    if epoch < MIN_EPOCHS or seconds <= 0:
        return
    rate = seconds / epoch / _work(params, images)
    with _lock:
        kept = _rates.setdefault(params.solver, deque(maxlen=_KEPT))
        key = (params, images)
        for i, (other, _) in enumerate(kept):
            if other == key:  # the same run, later: its newer, longer measurement
                del kept[i]
                break
        kept.append((key, rate))


def seconds_per_epoch(params: TrainParams, images: int) -> float | None:
    """The expected time of one epoch of ``params`` on ``images`` images; None if no run of
    the same solver has been measured yet."""
    with _lock:
        rates = [rate for _, rate in _rates.get(params.solver, ())]
    return median(rates) * _work(params, images) if rates else None


def estimate(params: TrainParams, images: int, *, done: int = 0,
             own: float | None = None) -> float | None:
    """Seconds left for the epochs after ``done``, at most ``max_iter`` in all; ``own`` (this
    run's own seconds per epoch so far) is used when it has one."""
    per_epoch = own if own is not None else seconds_per_epoch(params, images)
    if per_epoch is None:
        return None
    return per_epoch * max(params.max_iter - done, 0)


def describe(seconds: float) -> str:
    """'about 40 s', 'about 3 min'."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"


def _work(params: TrainParams, images: int) -> float:
    return max(images, 1) * (params.hidden_units + OVERHEAD_UNITS)
