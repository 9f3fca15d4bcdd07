"""The hidden layer's weights as 28x28 images, and figures in the lesson's style."""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure
from sklearn.neural_network import MLPClassifier

DEAD_COLOUR = "#b03a2e"


def hidden_weight_images(model: MLPClassifier) -> np.ndarray:
    """``coefs_[0][:, i].reshape(28, 28)`` for every hidden unit i: shape (n_hidden, 28, 28)."""
    first_layer = model.coefs_[0]
    return first_layer.T.reshape(first_layer.shape[1], 28, 28)


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns for n images: 2 x 3 for the lesson's 6, 3 x 3 for 9."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def weight_grid_figure(images: np.ndarray, *, dead_units=(), shared_scale: bool = False,
                       titles=None, limits: tuple[float, float] | None = None) -> Figure:
    """The lesson's picture: one gray ``matshow`` per unit, titled 1..n, no ticks.

    Each image has its own gray scale, as in the lesson, unless ``shared_scale``
    (one scale for the grid, or ``limits`` to share it with other grids); dead
    units are marked "dead" in red. ``titles`` replaces the numbers.
    """
    rows, cols = grid_shape(len(images))
    fig = Figure(figsize=(5 / 3 * cols, 2 * rows))
    if shared_scale:
        low, high = limits or (images.min(), images.max())
        scale = {"vmin": low, "vmax": high}
    else:
        scale = {}
    titles = titles or [str(i + 1) for i in range(len(images))]
    for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
        if i >= len(images):
            ax.set_axis_off()
            continue
        ax.matshow(images[i], cmap="gray", **scale)
        if i in dead_units:
            ax.set_title(f"{titles[i]} (dead)", color=DEAD_COLOUR, fontsize=9)
        else:
            ax.set_title(titles[i], fontsize=9 if len(titles[i]) > 3 else None)
        ax.set_xticks(())
        ax.set_yticks(())
    return fig


def weight_grid_mosaic(images: np.ndarray, *, zoom: int = 4, gap: int = 2) -> np.ndarray:
    """The weight grid as one gray uint8 image, each unit scaled to its own range like ``matshow``.

    A fast stand-in for ``weight_grid_figure`` (no matplotlib), for views that
    redraw often, such as a network that is still learning.
    """
    rows, cols = grid_shape(len(images))
    low = images.min(axis=(1, 2), keepdims=True)
    span = np.ptp(images, axis=(1, 2), keepdims=True)
    scaled = (255 * (images - low) / np.where(span > 0, span, 1)).astype(np.uint8)
    cell = 28 * zoom + gap
    mosaic = np.full((rows * cell + gap, cols * cell + gap), 255, dtype=np.uint8)
    for i, image in enumerate(scaled):
        top, left = gap + (i // cols) * cell, gap + (i % cols) * cell
        mosaic[top:top + 28 * zoom, left:left + 28 * zoom] = np.kron(
            image, np.ones((zoom, zoom), dtype=np.uint8))
    return mosaic


def output_weights_figure(model: MLPClassifier, digits) -> Figure:
    """``coefs_[1]`` as a unit x digit heatmap: red votes for a digit, blue against.

    With two digits scikit-learn uses one logistic output, so the single
    column votes for the second digit (positive) or the first (negative).
    """
    weights = model.coefs_[1]
    if weights.shape[1] == 1:
        columns = [f"{digits[1]} (+) vs {digits[0]} (−)"]
    else:
        columns = [str(d) for d in digits]
    n_hidden = weights.shape[0]
    fig = Figure(figsize=(1.2 + 0.6 * len(columns) + (1.2 if len(columns) == 1 else 0),
                          0.9 + 0.32 * n_hidden))
    ax = fig.subplots()
    limit = float(np.abs(weights).max()) or 1.0
    shown = ax.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(n_hidden), [str(i + 1) for i in range(n_hidden)])
    ax.set_xlabel("output: digit")
    ax.set_ylabel("hidden unit")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    if n_hidden <= 16 and len(columns) <= 10:
        for (row, col), value in np.ndenumerate(weights):
            strong = abs(value) > 0.6 * limit
            ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if strong else "black")
    fig.colorbar(shown, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
