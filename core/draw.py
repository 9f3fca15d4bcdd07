"""A digit drawn by a person, made into an MNIST input, and what the network makes of it.

MNIST's digits were made from binary scans: each digit's bounding box was
scaled to fit a 20 x 20 box, keeping its aspect ratio, with anti-aliasing
(hence the grey edges), then placed in a 28 x 28 image so that its centre of
mass sits at the centre. ``mnist_style`` does the same to a drawing, so the
network sees a drawn digit the way it saw its training digits.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from scipy import ndimage
from sklearn.neural_network import MLPClassifier

from core.train import model_inputs
from core.units import hidden_activations
from core.weights import DEAD_COLOUR, DEFAULT_STYLE, WeightStyle, coloured

SIZE, BOX = 28, 20  # the MNIST image, and the box the digit is scaled to fit
CENTRE = 14.0  # where real MNIST digits have their centre of mass (row, column), on average
MIN_INK = 0.05  # fainter pixels (0-1) are not ink: canvas noise, not a stroke
ROWS_PER_BLOCK = 12  # units per column of the activations figure


def mnist_style(image: np.ndarray) -> np.ndarray | None:
    """The drawing as an MNIST digit: 28 x 28 uint8, ink 255, blank 0; None if nothing is drawn.

    Parameters
    ----------
    image : ndarray
        The drawing, light ink on a dark or transparent background, as MNIST
        stores digits: grey (h, w), or RGB(A) (h, w, 3 or 4) such as the
        drawing canvas returns. A pixel's ink is its brightness times its
        opacity, so white strokes count on a black background and on a
        transparent one alike.

    Returns
    -------
    ndarray or None
        The digit cropped to its ink, scaled so the longer side is 20 px
        (aspect ratio kept, anti-aliased), placed so that its centre of mass
        is at (14, 14), and stretched so its strongest ink is 255, as in
        MNIST; None for a blank drawing, which has no digit to scale.
    """
    ink = _ink(image)
    if not np.any(ink > MIN_INK):
        return None
    small = _fit_box(_crop(ink))
    centred = _centre_by_mass(small)
    return np.round(255 * centred / centred.max()).astype(np.uint8)


def ink_from_paper(image: np.ndarray) -> np.ndarray:
    """A drawing in dark ink on light paper, as every page shows digits, as MNIST stores one.

    The colours are inverted and the opacity kept, so dark strokes on a white
    (or on a transparent) canvas become the light-on-dark drawing ``mnist_style``
    reads.
    """
    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim == 2:
        return 255 - pixels
    flipped = pixels.copy()
    flipped[..., :3] = 255 - pixels[..., :3]
    return flipped


def drawing_activations(model: MLPClassifier, x784: np.ndarray, *, scale_pixels: bool
                        ) -> np.ndarray:
    """Each hidden unit's ReLU output for one 0-255 image, scaled as in training: (n_hidden,)."""
    return hidden_activations(model, _as_input(x784, scale_pixels=scale_pixels))[0]


def digit_probabilities(model: MLPClassifier, x784: np.ndarray, *, scale_pixels: bool
                        ) -> dict[int, float]:
    """The network's probability for each digit it knows (``model.classes_``), for one image."""
    probabilities = model.predict_proba(_as_input(x784, scale_pixels=scale_pixels))[0]
    return {int(d): float(p) for d, p in zip(model.classes_, probabilities, strict=True)}


def activations_figure(images: np.ndarray, activations: np.ndarray, *,
                       dead_units=(), style: WeightStyle = DEFAULT_STYLE) -> Figure:
    """One row per hidden unit: its weight image, then a bar of its activation on the drawing.

    Every bar shares one scale, so the rows compare; dead units (zero on every
    training image) are numbered and marked in red. More than 12 units go side by side in
    blocks of up to 12 rows. Each block is two axes (the units' pictures stacked in one
    image, and one bar chart), not two per unit: the page redraws it on every stroke.
    """
    n = len(images)
    blocks = -(-n // ROWS_PER_BLOCK)
    rows = -(-n // blocks)
    fig = Figure(figsize=(4.6 * blocks, 0.2 + 0.62 * rows))
    axes = fig.subplots(1, 2 * blocks, squeeze=False, width_ratios=[0.85, 5.15] * blocks)[0]
    top = float(activations.max()) or 1.0
    for block in range(blocks):
        units = range(block * rows, min(n, (block + 1) * rows))
        _unit_pictures(axes[2 * block], images[units.start:units.stop], units, rows,
                       dead_units=dead_units, style=style)
        _activation_bars(axes[2 * block + 1], activations[units.start:units.stop], units, rows,
                         top=top, dead_units=dead_units)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.08 / blocks, right=0.97, top=1 - 0.1 / height,
                        bottom=0.55 / height, wspace=0.08)
    return fig


_ROW_PX = 28 + 5  # one unit's picture and the gap below it, in image pixels


def _unit_pictures(ax, images: np.ndarray, units: range, rows: int, *, dead_units,
                   style: WeightStyle) -> None:
    """The units' weight images one above the other, each coloured as ``style`` says."""
    stack = np.full((rows * _ROW_PX, 28, 3), 255, dtype=np.uint8)
    for i, picture in enumerate(coloured(images, style=style)):
        stack[i * _ROW_PX:i * _ROW_PX + 28] = picture
    ax.imshow(stack, aspect="auto", interpolation="nearest", extent=(0, 28, rows * _ROW_PX, 0))
    ax.set_xticks(())
    ax.set_yticks([i * _ROW_PX + 14 for i in range(len(units))], [f"{u + 1}" for u in units],
                  fontsize=9)
    ax.tick_params(axis="y", length=0)
    for label, unit in zip(ax.get_yticklabels(), units, strict=True):
        label.set_color(DEAD_COLOUR if unit in dead_units else "black")
    for spine in ax.spines.values():
        spine.set_visible(False)


def _activation_bars(ax, values: np.ndarray, units: range, rows: int, *, top: float,
                     dead_units) -> None:
    centres = [i * _ROW_PX + 14 for i in range(len(units))]
    ax.barh(centres, values, height=0.6 * 28, color="#4c78a8")
    ax.set_xlim(0, top * 1.25)
    ax.set_ylim(rows * _ROW_PX, 0)
    ax.set_yticks(())
    for centre, value, unit in zip(centres, values, units, strict=True):
        dead = unit in dead_units
        ax.text(value + top * 0.02, centre, f"{value:.2f}" + ("  dead" if dead else ""),
                va="center", fontsize=8, color=DEAD_COLOUR if dead else "black")
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines["left"].set_color("#999999")
    ax.set_xlabel("activation (ReLU output) on your drawing", fontsize=8)
    ax.tick_params(labelsize=7)


def _ink(image: np.ndarray) -> np.ndarray:
    """Ink from 0 to 1 per pixel: brightness times opacity."""
    pixels = np.asarray(image, dtype=np.float64) / 255.0
    if pixels.ndim == 2:
        return pixels
    brightness = pixels[..., :3].mean(axis=-1)
    return brightness * pixels[..., 3] if pixels.shape[-1] == 4 else brightness


def _crop(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink > MIN_INK).any(axis=1))
    cols = np.flatnonzero((ink > MIN_INK).any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Scale so the longer side is 20 px, keeping the aspect ratio.

    Shrinking averages the pixels each new pixel covers (BOX), the
    anti-aliasing that gives MNIST its grey edges; a drawing smaller than the
    box is enlarged smoothly (BILINEAR) instead of in blocks.
    """
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(ink.astype(np.float32)).resize(size, method)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, None)


def _centre_by_mass(small: np.ndarray) -> np.ndarray:
    """Paste ``small`` into 28 x 28 so that its centre of mass lands on (14, 14), to a pixel."""
    row, col = ndimage.center_of_mass(small)
    top, left = round(CENTRE - row), round(CENTRE - col)
    out = np.zeros((SIZE, SIZE))
    height, width = small.shape
    # Clip at the borders: a digit whose mass sits at one end may lose a sliver there.
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, SIZE), min(left + width, SIZE)
    out[r0:r1, c0:c1] = small[r0 - top:r1 - top, c0 - left:c1 - left]
    return out


def _as_input(x784: np.ndarray, *, scale_pixels: bool) -> np.ndarray:
    """One image as the network's input row, made as training made its rows."""
    return model_inputs(np.asarray(x784).reshape(1, -1), scale_pixels=scale_pixels)
