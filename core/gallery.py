"""Pictures of the data itself: example digits, mean digits, the pixel histogram."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from core.data import MnistData


def examples_figure(data: MnistData, digits, *, per_digit: int = 10) -> Figure:
    """The first ``per_digit`` images of each digit, one row per digit."""
    fig = Figure(figsize=(per_digit * 0.6, len(digits) * 0.62))
    axes = fig.subplots(len(digits), per_digit, squeeze=False)
    for row, digit in zip(axes, digits, strict=True):
        rows = np.flatnonzero(data.y == digit)[:per_digit]
        for ax, index in zip(row, rows, strict=False):
            ax.imshow(data.X[index].reshape(28, 28), cmap="gray_r")
        for ax in row:
            ax.set_xticks(())
            ax.set_yticks(())
        row[0].set_ylabel(str(digit), rotation=0, labelpad=10, va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.05, right=0.99, top=0.99, bottom=0.01)
    return fig


def mean_images(data: MnistData, digits) -> np.ndarray:
    """The average image of each digit: (len(digits), 28, 28), 0-255."""
    return np.stack([data.X[data.y == d].mean(axis=0).reshape(28, 28) for d in digits])


def mean_images_figure(data: MnistData, digits) -> Figure:
    means = mean_images(data, digits)
    fig = Figure(figsize=(len(digits) * 0.9, 1.2))
    for ax, digit, image in zip(fig.subplots(1, len(digits), squeeze=False)[0], digits, means,
                                strict=True):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(str(digit), fontsize=9)
        ax.set_xticks(())
        ax.set_yticks(())
    return fig


def pixel_histogram(data: MnistData) -> np.ndarray:
    """How many pixels of all images have each value 0-255."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(data.X), 10_000):  # in blocks: X may be a 55 MB memory map
        counts += np.bincount(np.asarray(data.X[start:start + 10_000]).ravel(), minlength=256)
    return counts


def pixel_histogram_figure(counts: np.ndarray) -> Figure:
    """How often each pixel value occurs, on a log scale (blank pixels dwarf the rest)."""
    fig = Figure(figsize=(4.2, 2.4))
    ax = fig.subplots()
    ax.bar(np.arange(len(counts)), counts, width=1.0, color="#3b6ea5")
    ax.set_yscale("log")
    ax.set_xlim(-6, 261)  # room either side, so the tall bars at 0 and 255 clear the frame
    ax.set_xlabel("pixel value")
    ax.set_ylabel("pixels")
    fig.tight_layout()
    return fig
