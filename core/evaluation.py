"""How well a network does on digits it has never seen: accuracy, confusions, mistakes.

The numbers come from scikit-learn (``model.score``, ``confusion_matrix``,
``predict_proba``); this module only picks and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix
from sklearn.neural_network import MLPClassifier

from core.weights import (
    CAPTION_PX,
    DEAD_COLOUR,
    DIGIT_CMAP,
    NARROW_COLUMN_PX,
    PX_PER_INCH,
    TEXT_PT,
    WIDE_COLUMN_PX,
    cell_px,
    cells_fit,
    figure_inches,
    grid_layout,
    titled_grid_figure,
)

N_MISTAKES = 12


def evaluate(model: MLPClassifier, X: np.ndarray, y: np.ndarray,
             digits) -> tuple[float, np.ndarray]:
    """Accuracy on ``X``, ``y`` and the confusion matrix (true x predicted, ``digits`` order).

    ``y`` must not be empty: an accuracy over no images means nothing.
    """
    if len(y) == 0:
        raise ValueError("there are no images to measure the network on")
    accuracy = float(model.score(X, y))
    return accuracy, confusion_matrix(y, model.predict(X), labels=list(digits))


def recall_per_digit(confusion: np.ndarray) -> np.ndarray:
    """Per true digit, the share of its images predicted right; NaN for a digit with none."""
    totals = confusion.sum(axis=1)
    right = np.diag(confusion).astype(float)
    return np.divide(right, totals, out=np.full(len(totals), np.nan), where=totals > 0)


def recall_labels(confusion: np.ndarray) -> list[str]:
    """Each digit's recall as a percentage; "—" for a digit without test images."""
    return ["—" if np.isnan(r) else f"{r:.0%}" for r in recall_per_digit(confusion)]


@dataclass(frozen=True)
class Mistakes:
    """Test images the network got wrong, the most confident first."""

    rows: np.ndarray  # positions in the test set it was given
    true: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray  # the probability it gave its (wrong) answer
    n_wrong: int  # all its mistakes, of which ``rows`` are the first few

    def captions(self) -> list[str]:
        """'true → predicted (probability)' for each mistake."""
        return [f"{t} → {p} ({q:.0%})"
                for t, p, q in zip(self.true, self.predicted, self.probability, strict=True)]


def confident_mistakes(model: MLPClassifier, X: np.ndarray, y: np.ndarray, *,
                       n: int = N_MISTAKES) -> Mistakes:
    """The ``n`` images of ``X`` it classifies wrongly with the highest predicted probability.

    Ties keep the images' order (a stable sort), so the same network always shows the same ones.
    """
    probabilities = model.predict_proba(X)
    predicted = model.classes_[probabilities.argmax(axis=1)]
    wrong = np.flatnonzero(predicted != y)
    confidence = probabilities[wrong].max(axis=1)
    chosen = wrong[np.argsort(-confidence, kind="stable")[:n]]
    return Mistakes(rows=chosen, true=np.asarray(y)[chosen], predicted=predicted[chosen],
                    probability=probabilities[chosen].max(axis=1), n_wrong=len(wrong))


def confusion_figure(confusion: np.ndarray, digits, *, shown_px: float = NARROW_COLUMN_PX
                     ) -> Figure:
    """The confusion matrix (true digit down, predicted across), with each digit's recall on
    the right; the diagonal is the images it got right.

    Drawn for a column ``shown_px`` wide, its text as large as the page's captions there; the
    counts are written in the cells where they all fit (else the page lists them).
    """
    n = len(digits)
    # Square cells beside the labels around them, but rows no lower than a line of text.
    rows_px = max(shown_px - 6 * CAPTION_PX, 1.3 * CAPTION_PX * n)
    fig = Figure(figsize=(figure_inches(shown_px), (rows_px + 3 * CAPTION_PX) / PX_PER_INCH),
                 layout="constrained")
    ax = fig.subplots()
    # Off-diagonal counts are the interesting ones: colour them on their own scale,
    # so a few confusions show against thousands of right answers.
    wrong = confusion * (1 - np.eye(n, dtype=confusion.dtype))
    top = max(int(wrong.max()), 1)
    ax.imshow(wrong, cmap="Reds", vmin=0, vmax=top, aspect="auto")
    labels = [str(d) for d in digits]
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.tick_params(labelsize=TEXT_PT, top=True, bottom=False, labeltop=True, labelbottom=False)
    ax.set_xlabel("answered", fontsize=TEXT_PT)
    ax.set_ylabel("true digit", fontsize=TEXT_PT)
    ax.xaxis.set_label_position("top")
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(n), recall_labels(confusion))
    right.tick_params(labelsize=TEXT_PT)
    fig.draw_without_rendering()  # lay it out, to know how wide a cell is
    counts = [f"{count:,}" for count in confusion.ravel()]
    if cells_fit(counts, cell_px(ax, n, shown_px)):
        for (row, col), count in np.ndenumerate(confusion):
            strong = row != col and count > 0.6 * top
            ax.text(col, row, f"{count:,}", ha="center", va="center", fontsize=TEXT_PT,
                    color="white" if strong else "black",
                    fontweight="bold" if row == col else "normal")
    return fig


def mistakes_figure(images: np.ndarray, mistakes: Mistakes, *,
                    shown_px: float = WIDE_COLUMN_PX) -> Figure:
    """The mistaken images, dark on light, each titled true → predicted (probability) in
    captions' size where shown ``shown_px`` wide (wrapped above its image where need be)."""
    titles = mistakes.captions()
    layout = grid_layout(titles, shown_px=shown_px, units=False)
    return titled_grid_figure(np.reshape(images, (-1, 28, 28)), layout, titles,
                              colours=[DEAD_COLOUR] * len(titles), cmap=DIGIT_CMAP,
                              limits=np.tile([0, 255], (len(titles), 1)))


@dataclass(frozen=True)
class Spread:
    """How far apart several networks' accuracies are."""

    mean: float
    low: float
    high: float
    std: float  # population standard deviation (0 for one network)

    @property
    def range(self) -> float:
        return self.high - self.low


def spread(accuracies) -> Spread:
    """The mean, lowest, highest and standard deviation of ``accuracies`` (not empty)."""
    values = np.asarray(list(accuracies), dtype=float)
    if values.size == 0:
        raise ValueError("no accuracies to compare")
    return Spread(mean=float(values.mean()), low=float(values.min()),
                  high=float(values.max()), std=float(values.std()))
