"""The hidden layer's weights as 28x28 images, and figures in the lesson's style."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from sklearn.neural_network import MLPClassifier

DEAD_COLOUR = "#b03a2e"
DIVERGING, LESSON = "diverging", "lesson"
COLOURS = {DIVERGING: "RdBu_r", LESSON: "gray"}  # how weights are coloured, by name
SCALES = ("symmetric", "unit", "shared")
DIGIT_CMAP = "gray_r"  # digits everywhere: ink (255) dark on light paper (0), as the lesson says


@dataclass(frozen=True)
class WeightStyle:
    """How every page colours weights: one convention, the lesson's grey as the faithful option.

    ``colours``: ``"diverging"`` (blue negative, white zero, red positive) or
    ``"lesson"`` (the lesson's grey ``matshow``: black lowest, white highest).
    ``scale``: ``"symmetric"`` (each unit from -m to +m, m its largest
    |weight|, so zero is always the middle colour), ``"unit"`` (each unit
    from its own lowest to its own highest weight, as ``matshow`` does) or
    ``"shared"`` (every unit from -M to +M, M the largest |weight| of all, so
    strengths compare across units).
    """

    colours: str = DIVERGING
    scale: str = "symmetric"

    def __post_init__(self):
        if self.colours not in COLOURS or self.scale not in SCALES:
            raise ValueError(f"unknown weight style {self.colours!r}, {self.scale!r}")

    @property
    def cmap(self) -> str:
        return COLOURS[self.colours]

    def limits(self, images: np.ndarray, *, shared: float | None = None) -> np.ndarray:
        """The (low, high) of the colour scale of each image: shape (n, 2).

        ``shared`` is the largest |weight| to use for ``"shared"`` (to share one
        scale with other grids, such as other seeds'); by default these images'.
        """
        flat = images.reshape(len(images), -1)
        if self.scale == "unit":
            low, high = flat.min(axis=1), flat.max(axis=1)
        elif self.scale == "symmetric":
            high = np.abs(flat).max(axis=1)
            low = -high
        else:
            top = float(np.abs(flat).max()) if shared is None else shared
            high = np.full(len(images), top)
            low = -high
        same = high <= low  # a constant image: any scale shows it as one colour
        return np.stack([np.where(same, low - 1, low), np.where(same, high + 1, high)], axis=1)

    def legend(self) -> str:
        """The legend in words, for a caption under a weight picture."""
        scale = {"symmetric": "each unit on its own scale centred on 0",
                 "unit": "each unit from its own lowest to its own highest weight",
                 "shared": "one scale for all units"}[self.scale]
        if self.colours == DIVERGING:
            return f"red = positive weight (ink there turns the unit on), blue = negative " \
                   f"(ink there turns it off), white = 0; {scale}"
        return f"white = the highest weight, black = the lowest (the lesson's grey); {scale}"


DEFAULT_STYLE = WeightStyle()


def hidden_weight_images(model: MLPClassifier) -> np.ndarray:
    """``coefs_[0][:, i].reshape(28, 28)`` for every hidden unit i: shape (n_hidden, 28, 28)."""
    first_layer = model.coefs_[0]
    return first_layer.T.reshape(first_layer.shape[1], 28, 28)


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns for n images: 2 x 3 for the lesson's 6, 3 x 3 for 9."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def weight_grid_figure(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE, dead_units=(),
                       titles=None, shared: float | None = None, title: str | None = None
                       ) -> Figure:
    """The lesson's picture: one ``matshow`` per unit, titled 1..n, no ticks, in ``style``.

    Dead units are marked "dead" in red; ``titles`` replaces the numbers;
    ``shared`` is the largest |weight| of a scale shared with other grids;
    ``title`` is a line above the grid (the settings, on an exported file).
    """
    rows, cols = grid_shape(len(images))
    fig = Figure(figsize=(5 / 3 * cols, 2 * rows + (0.5 if title else 0)))
    limits = style.limits(images, shared=shared)
    titles = titles or [str(i + 1) for i in range(len(images))]
    for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
        if i >= len(images):
            ax.set_axis_off()
            continue
        ax.matshow(images[i], cmap=style.cmap, vmin=limits[i, 0], vmax=limits[i, 1])
        if i in dead_units:
            ax.set_title(f"{titles[i]} (dead)", color=DEAD_COLOUR, fontsize=9)
        else:
            ax.set_title(titles[i], fontsize=9 if len(titles[i]) > 3 else None)
        ax.set_xticks(())
        ax.set_yticks(())
    if title:
        fig.suptitle(title, fontsize=8, wrap=True)
    return fig


def coloured(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE,
             shared: float | None = None) -> np.ndarray:
    """Each image through the style's colour map and scale: (n, h, w, 3) uint8 RGB."""
    limits = style.limits(images, shared=shared)
    low, high = limits[:, 0, None, None], limits[:, 1, None, None]
    unit = np.clip((images - low) / (high - low), 0.0, 1.0)
    rgba = matplotlib.colormaps[style.cmap](unit, bytes=True)
    return rgba[..., :3]


def weight_grid_mosaic(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE, zoom: int = 4,
                       gap: int = 2) -> np.ndarray:
    """The weight grid as one RGB uint8 image, coloured as ``weight_grid_figure`` colours it.

    A fast stand-in for ``weight_grid_figure`` (no matplotlib figure), for views
    that redraw often, such as a network that is still learning.
    """
    rows, cols = grid_shape(len(images))
    pictures = coloured(images, style=style)
    cell = 28 * zoom + gap
    mosaic = np.full((rows * cell + gap, cols * cell + gap, 3), 255, dtype=np.uint8)
    for i, picture in enumerate(pictures):
        top, left = gap + (i // cols) * cell, gap + (i % cols) * cell
        mosaic[top:top + 28 * zoom, left:left + 28 * zoom] = picture.repeat(zoom, 0).repeat(zoom, 1)
    return mosaic


def digit_mosaic(images: np.ndarray, *, zoom: int = 3, gap: int = 2) -> np.ndarray:
    """Digits (0-255) side by side in a square-ish grid, ink dark on light as on every page."""
    rows, cols = grid_shape(len(images))
    cell = 28 * zoom + gap
    mosaic = np.full((rows * cell + gap, cols * cell + gap), 200, dtype=np.uint8)
    for i, image in enumerate(np.asarray(images, dtype=np.float64)):
        top, left = gap + (i // cols) * cell, gap + (i % cols) * cell
        paper = (255 - np.clip(image, 0, 255)).astype(np.uint8)
        mosaic[top:top + 28 * zoom, left:left + 28 * zoom] = paper.repeat(zoom, 0).repeat(zoom, 1)
    return mosaic


def legend_strip(style: WeightStyle = DEFAULT_STYLE, *, width: int = 160, height: int = 10
                 ) -> np.ndarray:
    """A small colour bar for the legend: lowest (left) to highest (right), RGB uint8."""
    ramp = np.linspace(0.0, 1.0, width)
    row = matplotlib.colormaps[style.cmap](ramp, bytes=True)[:, :3]
    return np.repeat(row[None], height, axis=0)


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


def array_png(rgb: np.ndarray) -> bytes:
    """An RGB (or grey) uint8 array as PNG bytes, made fast: pictures of flat pixel blocks
    compress well at the lowest level, and a page that shows them again sends the same bytes."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def figure_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
