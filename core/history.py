"""A network's training history: its hidden weights, activity and loss, epoch by epoch.

A ``HistoryRecorder`` is fed by the per-epoch observer that also drives the
live view (after every epoch; after every loss evaluation for lbfgs). It only
reads the model, so the fitted weights are the same as without it. It keeps at
most ``MAX_FRAMES`` frames: every epoch while there are few, then evenly thinned,
always keeping epoch 1 and the last. During training it holds at most
``BUFFER`` times that many, at a stride that doubles when the buffer fills, so
its memory is bounded however long the training runs (45 MB for 36 units),
and the frames finally kept are at most a third apart from evenly spaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neural_network import MLPClassifier

MAX_FRAMES = 100
BUFFER = 4  # frames held while training, in multiples of MAX_FRAMES
PROBE_SIZE = 500  # training images each unit's activity is measured on (fewer for small data)


@dataclass(frozen=True, eq=False)
class TrainingHistory:
    """What a training looked like at each recorded epoch (loss evaluation for lbfgs)."""

    epochs: tuple[int, ...]  # the epoch numbers recorded, from 1, ending with the last
    hidden_weights: np.ndarray  # (frames, 784, hidden units) float32: coefs_[0] at each
    active_fraction: np.ndarray  # (frames, hidden units): share of the probe a unit fires on
    loss: tuple[float, ...]  # training loss at each recorded epoch
    died_at: tuple[int | None, ...]  # per unit: first recorded epoch of a death lasting to the end
    probe_size: int  # how many training images the activity is measured on
    per_evaluation: bool = False  # lbfgs: the "epochs" are loss evaluations
    start_weights: np.ndarray | None = None  # (784, hidden units) float32: before training
    start_active_fraction: np.ndarray | None = None  # (hidden units,): before training
    # The rest of the network at each frame, for the hidden layer's map (core.hidden_map):
    # intercepts_[0], coefs_[1] and intercepts_[1]. None in a history cached before they were
    # recorded (an unpickled old history finds these class defaults).
    hidden_biases: np.ndarray | None = None  # (frames, hidden units) float32
    output_weights: np.ndarray | None = None  # (frames, hidden units, outputs) float32
    output_biases: np.ndarray | None = None  # (frames, outputs) float32

    @property
    def step_name(self) -> str:
        """'epoch', or 'evaluation' for lbfgs."""
        return "evaluation" if self.per_evaluation else "epoch"

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the frames dominate)."""
        rest = (self.hidden_biases, self.output_weights, self.output_biases)
        return (self.hidden_weights.nbytes + self.active_fraction.nbytes
                + sum(a.nbytes for a in rest if a is not None))

    @property
    def has_whole_network(self) -> bool:
        """Whether every layer was recorded at each frame (not in histories cached before)."""
        return self.hidden_biases is not None and self.output_weights is not None

    def frame(self, epoch: int) -> int:
        """The index of the recorded frame at ``epoch``, or of the last one before it."""
        index = int(np.searchsorted(self.epochs, epoch, side="right")) - 1
        return max(index, 0)

    def weight_images(self, epoch: int) -> np.ndarray:
        """The hidden units' weights at ``epoch`` as 28x28 images: (hidden units, 28, 28)."""
        weights = self.hidden_weights[self.frame(epoch)]
        return weights.T.reshape(weights.shape[1], 28, 28)

    def start_images(self) -> np.ndarray | None:
        """The hidden units' weights before training, as 28x28 images (None if unknown)."""
        if self.start_weights is None:
            return None
        return self.start_weights.T.reshape(self.start_weights.shape[1], 28, 28)

    def dead_at(self, epoch: int) -> tuple[int, ...]:
        """The units (0-based) that, at ``epoch``, have died for good."""
        return tuple(u for u, died in enumerate(self.died_at) if died is not None and died <= epoch)

    def settled_at(self, unit: int, *, tolerance: float = 0.05) -> int:
        """The first recorded epoch from which ``unit``'s weights stay close to their final values.

        Close means within ``tolerance`` of the whole way they travelled, from
        the first recorded epoch to the last (distance between weight vectors).
        """
        weights = self.hidden_weights[:, :, unit].astype(np.float64)
        to_final = np.linalg.norm(weights - weights[-1], axis=1)
        travelled = to_final[0]
        if travelled == 0:
            return self.epochs[0]
        far = np.flatnonzero(to_final > tolerance * travelled)
        return self.epochs[far[-1] + 1] if len(far) else self.epochs[0]


class HistoryRecorder:
    """Call it with the model after every epoch; ``finish`` turns what it saw into a history.

    ``probe`` is a fixed set of training images (the model's own inputs) on
    which each unit's activity is measured. The recorder keeps float32 copies of
    ``coefs_[0]`` and of the small rest of the network (the hidden biases and the
    output layer); it never changes the model and knows nothing of threads.
    """

    def __init__(self, probe: np.ndarray, *, per_evaluation: bool = False,
                 max_frames: int = MAX_FRAMES):
        self.probe = probe
        self.per_evaluation = per_evaluation
        self.max_frames = max_frames
        self.epoch = 0
        self._stride = 1
        self._frames: list[tuple] = []  # (epoch, coefs_[0], activity, loss, rest of the net)

    def __call__(self, model: MLPClassifier) -> None:
        self.epoch += 1
        if (self.epoch - 1) % self._stride:
            return
        self._frames.append(self._frame(model, self.epoch))
        if len(self._frames) > BUFFER * self.max_frames:
            # Every other frame goes; those left are epochs 1, 1 + 2s, 1 + 4s, ...
            self._frames = self._frames[::2]
            self._stride *= 2

    def finish(self, model: MLPClassifier, *, dead_units=None,
               start: tuple[np.ndarray, np.ndarray] | None = None) -> TrainingHistory | None:
        """The history of the fit that just ended, or None if no epoch was seen.

        The last frame is the fitted model itself, at the last epoch: lbfgs keeps
        its last accepted step rather than its last evaluation, and early stopping
        restores its best weights. Given ``dead_units`` (those silent on every
        training image at the end), a unit silent on the probe but alive on the
        whole training set counts as alive, and no unit dies under an activation
        that cannot die (pass ``()``). ``start`` is the first layer's weights and
        biases before training (``core.sklearn_hooks.initial_first_layer``).
        """
        if self.epoch == 0:
            return None
        frames = [f for f in self._frames if f[0] < self.epoch]
        frames.append(self._frame(model, self.epoch))
        frames = [frames[i] for i in thin(len(frames), [f[0] for f in frames], self.max_frames)]
        epochs = tuple(f[0] for f in frames)
        active = np.stack([f[2] for f in frames])
        return TrainingHistory(
            epochs=epochs,
            hidden_weights=np.stack([f[1] for f in frames]),
            active_fraction=active,
            loss=tuple(f[3] for f in frames),
            died_at=died_at(epochs, active, dead_units=dead_units),
            probe_size=len(self.probe),
            per_evaluation=self.per_evaluation,
            hidden_biases=np.stack([f[4][0] for f in frames]),
            output_weights=np.stack([f[4][1] for f in frames]),
            output_biases=np.stack([f[4][2] for f in frames]),
            start_weights=None if start is None else start[0].astype(np.float32),
            start_active_fraction=None if start is None else self._active(*start),
        )

    def _frame(self, model: MLPClassifier, epoch: int):
        weights, bias = model.coefs_[0], model.intercepts_[0]
        loss = float(getattr(model, "loss_", np.nan))
        rest = tuple(a.astype(np.float32) for a in (bias, model.coefs_[1], model.intercepts_[1]))
        return epoch, weights.astype(np.float32), self._active(weights, bias), loss, rest

    def _active(self, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return ((self.probe @ weights + bias) > 0).mean(axis=0).astype(np.float32)


def probe_rows(n_samples: int, size: int = PROBE_SIZE) -> np.ndarray:
    """Evenly spaced row numbers of the training images, the same for every training.

    At most a tenth of the rows: measuring the probe at each recorded epoch
    then costs at most a few percent of an epoch's work, however small the data.
    """
    size = max(1, min(size, n_samples // 10))
    return np.unique(np.linspace(0, n_samples - 1, size).round().astype(int))


def thin(n: int, epochs, max_frames: int) -> list[int]:
    """Which of ``n`` recorded frames to keep: all if few, else those nearest to evenly
    spaced epochs from the first to the last (both always kept)."""
    if n <= max_frames:
        return list(range(n))
    epochs = np.asarray(epochs, dtype=float)
    targets = np.linspace(epochs[0], epochs[-1], max_frames)
    nearest = np.abs(epochs[None, :] - targets[:, None]).argmin(axis=1)
    return sorted(set(int(i) for i in nearest))


def died_at(epochs, active: np.ndarray, *, dead_units=None) -> tuple[int | None, ...]:
    """Per unit, the first recorded epoch from which it is silent on the whole probe to the end
    (None for a unit that is not, or not among ``dead_units`` when they are given)."""
    out = []
    for unit in range(active.shape[1]):
        silent = active[:, unit] == 0
        if not silent[-1] or (dead_units is not None and unit not in dead_units):
            out.append(None)
            continue
        alive = np.flatnonzero(~silent)
        out.append(int(epochs[alive[-1] + 1]) if len(alive) else int(epochs[0]))
    return tuple(out)


def deaths_by_epoch(history: TrainingHistory) -> dict[int, list[int]]:
    """The units (numbered from 1) that died at each epoch, the earliest epoch first."""
    by_epoch: dict[int, list[int]] = {}
    for unit, died in enumerate(history.died_at):
        if died is not None:
            by_epoch.setdefault(died, []).append(unit + 1)
    return dict(sorted(by_epoch.items()))


def unit_names(units: list[int]) -> str:
    """'unit 5', 'units 1 and 2', 'units 1, 2 and 4'."""
    names = ", ".join(map(str, units[:-1])) + f" and {units[-1]}" if units[1:] else units[0]
    return f"{'unit' if len(units) == 1 else 'units'} {names}"


def deaths_text(history: TrainingHistory) -> str:
    """When the dead units died, in a sentence: 'Units 1 and 2 died at epoch 1, unit 5 at epoch 3.'

    Empty when no unit died.
    """
    parts = []
    for epoch, units in deaths_by_epoch(history).items():
        verb = " died" if not parts else ""
        parts.append(f"{unit_names(units)}{verb} at {history.step_name} {epoch}")
    return (parts[0][0].upper() + ", ".join(parts)[1:] + ".") if parts else ""
