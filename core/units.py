"""One hidden unit at a time: what excites it, how it votes, and what it is worth.

The lesson reads the weight images by eye ("units 4 and 6 detect a 3"); these
numbers let a person check such a claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from scipy.special import expit
from sklearn.neural_network import MLPClassifier

from core.weights import DEFAULT_STYLE, WeightStyle

N_EXTREMES = 16


def pre_activations(model: MLPClassifier, X: np.ndarray) -> np.ndarray:
    """The hidden layer's input to its ReLUs for every row of ``X``: (n, n_hidden)."""
    return X @ model.coefs_[0] + model.intercepts_[0]


def activate(activation: str, pre: np.ndarray) -> np.ndarray:
    """The hidden units' outputs for inputs ``pre``, as scikit-learn's ``activation`` does."""
    if activation == "relu":
        return np.maximum(pre, 0.0)
    if activation == "tanh":
        return np.tanh(pre)
    if activation == "logistic":
        return expit(pre)
    return pre  # identity


def hidden_activations(model: MLPClassifier, X: np.ndarray) -> np.ndarray:
    """Outputs of the hidden layer (ReLU, or the model's activation) for every row of ``X``."""
    return activate(model.activation, pre_activations(model, X))


def predict_from_hidden(model: MLPClassifier, hidden: np.ndarray) -> np.ndarray:
    """The labels ``model.predict`` gives for inputs whose hidden outputs are ``hidden``.

    The output layer alone: the logits and the class of the largest one (for
    two digits, the single logit's sign), as scikit-learn decides, so the costly
    first layer is computed once and reused for every unit switched off.
    """
    return labels_from_logits(hidden @ model.coefs_[1] + model.intercepts_[1], model.classes_)


def labels_from_logits(logits: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The class of the largest logit in each row (for two classes, the single logit's sign),
    as ``MLPClassifier.predict`` decides."""
    if logits.shape[1] == 1:
        return classes[(logits[:, 0] > 0).astype(int)]
    return classes[logits.argmax(axis=1)]


def predict_without(model: MLPClassifier, hidden: np.ndarray, unit: int) -> np.ndarray:
    """The labels the network gives with ``unit`` switched off: its output reaches no digit."""
    off = hidden.copy()
    off[:, unit] = 0.0
    return predict_from_hidden(model, off)


def accuracy_per_digit(predicted: np.ndarray, y: np.ndarray) -> dict[int, float]:
    return {int(d): float(np.mean(predicted[y == d] == d)) for d in np.unique(y)}


def votes(model: MLPClassifier, unit: int) -> dict[str, float]:
    """The unit's outgoing weights, by digit (one 'b vs a' entry for two digits)."""
    classes = [str(c) for c in model.classes_]
    weights = model.coefs_[1][unit]
    if len(weights) == 1:
        return {f"{classes[1]} vs {classes[0]}": float(weights[0])}
    return {c: float(w) for c, w in zip(classes, weights, strict=True)}


@dataclass(frozen=True)
class UnitReport:
    """Everything the inspector shows about one hidden unit."""

    unit: int
    pre_activations: np.ndarray  # this unit's input to its ReLU on every training image
    active_by_digit: dict[int, float]  # share of each digit's images it is active on
    top: np.ndarray  # the images that drive it highest, strongest first
    bottom: np.ndarray  # the images that drive it lowest (most inhibit it), lowest first
    accuracy_on: dict[int, float]  # per digit, on the images the ablation is scored on
    accuracy_off: dict[int, float]
    activation: str = "relu"
    scored_on: str = "training"  # "training" images, or the "test" images held out

    @property
    def activations(self) -> np.ndarray:
        """Its output (ReLU, or the model's activation) on every training image."""
        return activate(self.activation, self.pre_activations)

    @property
    def dead(self) -> bool:
        """A ReLU unit whose input is never above zero (other activations do not die)."""
        return self.activation == "relu" and not np.any(self.pre_activations > 0)

    @property
    def contribution(self) -> dict[int, float]:
        """Accuracy per digit that is lost when the unit is switched off."""
        return {d: self.accuracy_on[d] - self.accuracy_off[d] for d in self.accuracy_on}


def unit_report(model: MLPClassifier, X: np.ndarray, y: np.ndarray, unit: int, *,
                held_out: tuple[np.ndarray, np.ndarray] | None = None) -> UnitReport:
    """Measure ``unit`` on the training images ``X`` (scaled as in training) with labels ``y``.

    What switching it off costs is scored on ``held_out`` (test images and
    labels, prepared the same way) when given, else on the training images.

    Images are ranked by the unit's input to its ReLU rather than its output, so
    the least exciting ones are those that push it furthest below zero (not an
    arbitrary pick among the many at exactly zero), and a dead unit still shows
    the images that come closest to switching it on.
    """
    pre = pre_activations(model, X)
    order = np.argsort(-pre[:, unit], kind="stable")
    if held_out is None:
        hidden, y_score = activate(model.activation, pre), y  # the first layer, computed once
    else:
        hidden, y_score = hidden_activations(model, held_out[0]), held_out[1]
    return UnitReport(
        unit=unit,
        pre_activations=pre[:, unit],
        active_by_digit={int(d): float(np.mean(pre[y == d, unit] > 0)) for d in np.unique(y)},
        top=order[:N_EXTREMES],
        bottom=order[::-1][:N_EXTREMES],
        accuracy_on=accuracy_per_digit(predict_from_hidden(model, hidden), y_score),
        accuracy_off=accuracy_per_digit(predict_without(model, hidden, unit), y_score),
        activation=model.activation,
        scored_on="training" if held_out is None else "test",
    )


def units_table(model: MLPClassifier, X: np.ndarray, y: np.ndarray, *,
                held_out: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict]:
    """One row per unit: activity, the digit it fires for most, its strongest vote, its worth
    (the accuracy lost without it, on ``held_out`` when given, else on ``X``)."""
    pre = pre_activations(model, X)
    hidden = activate(model.activation, pre)
    digits = np.unique(y)
    X_score, y_score = held_out if held_out is not None else (X, y)
    scored = hidden_activations(model, X_score) if held_out is not None else hidden
    accuracy = float(np.mean(predict_from_hidden(model, scored) == y_score))
    rows = []
    for unit in range(hidden.shape[1]):
        by_digit = [hidden[y == d, unit].mean() for d in digits]
        unit_votes = votes(model, unit)
        strongest = max(unit_votes, key=lambda k: abs(unit_votes[k]))
        rows.append({
            "unit": unit + 1,
            "active on": float(np.mean(pre[:, unit] > 0)),
            "fires most for": str(digits[int(np.argmax(by_digit))]) if max(by_digit) > 0 else "—",
            "strongest vote": f"{'for' if unit_votes[strongest] > 0 else 'against'} {strongest}",
            "accuracy lost when off": accuracy - float(
                np.mean(predict_without(model, scored, unit) == y_score)),
        })
    return rows


def unit_weight_figure(image: np.ndarray, unit: int, *, style: WeightStyle = DEFAULT_STYLE
                       ) -> Figure:
    """One unit's 28x28 weights, large, in the page's colours, with a colour bar."""
    fig = Figure(figsize=(4.2, 3.6))
    ax = fig.subplots()
    low, high = style.limits(image[None])[0]
    shown = ax.imshow(image, cmap=style.cmap, vmin=low, vmax=high)
    ax.set_title(f"unit {unit + 1}: weights from each pixel")
    ax.set_xticks(())
    ax.set_yticks(())
    fig.colorbar(shown, ax=ax, label="weight (positive excites, negative inhibits)")
    return fig


def activation_figure(report: UnitReport, y: np.ndarray) -> Figure:
    """The unit's activation over the images of each digit (box plots), with the active share."""
    digits = sorted(report.active_by_digit)
    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.subplots()
    ax.boxplot([report.activations[y == d] for d in digits], showfliers=False)
    ax.set_xticks(range(1, len(digits) + 1),
                  [f"{d}\n{report.active_by_digit[d]:.0%} on" for d in digits])
    ax.set_xlabel("digit (share of its images the unit is active on)")
    ax.set_ylabel("activation")
    fig.tight_layout()
    return fig
