"""Figures that replay a training from its history: grid, loss and activity at an epoch, a GIF."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.figure import Figure

from core.history import TrainingHistory
from core.weights import (
    DEAD_COLOUR,
    DEFAULT_STYLE,
    WeightStyle,
    grid_shape,
    weight_grid_figure,
    weight_grid_mosaic,
)

GIF_GAP, GIF_FPS, GIF_DPI = 14, 8, 72  # the gap above each unit holds its number


def grid_at_figure(history: TrainingHistory, epoch: int, *,
                   style: WeightStyle = DEFAULT_STYLE) -> Figure:
    """The lesson's weight grid as it was at ``epoch``; units dead for good by then say so."""
    return weight_grid_figure(history.weight_images(epoch), style=style,
                              dead_units=history.dead_at(epoch))


def loss_at_figure(history: TrainingHistory, epoch: int) -> Figure:
    """The training loss over the recorded epochs, with ``epoch`` marked."""
    fig = Figure(figsize=(5.2, 2.8))
    ax = fig.subplots()
    loss = np.asarray(history.loss)
    ax.plot(history.epochs, loss, color="#1f77b4", linewidth=1.5)
    at = history.frame(epoch)
    ax.axvline(history.epochs[at], color="#444444", linestyle="--", linewidth=1)
    ax.plot([history.epochs[at]], [loss[at]], "o", color="#d62728")
    right_half = history.epochs[at] > (history.epochs[0] + history.epochs[-1]) / 2
    ax.annotate(f"{history.step_name} {history.epochs[at]}: loss {loss[at]:.4g}",
                (history.epochs[at], loss[at]), textcoords="offset points",
                xytext=(-6 if right_half else 6, 8), ha="right" if right_half else "left",
                fontsize=8)
    finite = loss[np.isfinite(loss)]
    if len(finite) and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
    ax.set_xlabel(history.step_name)
    ax.set_ylabel("training loss")
    fig.tight_layout()
    return fig


def activity_figure(history: TrainingHistory, epoch: int) -> Figure:
    """Each unit's share of the probe images it fires on, over the epochs, ``epoch`` marked.

    A dead unit's line is red and falls to zero; its label says when it died.
    """
    n_labels = sum(d is not None for d in history.died_at) or history.active_fraction.shape[1]
    fig = Figure(figsize=(5.2, 2.8 + 0.2 * min(-(-n_labels // 3), 12)))
    ax = fig.subplots()
    epochs, shares = np.asarray(history.epochs), history.active_fraction
    if history.start_active_fraction is not None:  # epoch 0: before training
        epochs = np.concatenate([[0], epochs])
        shares = np.vstack([history.start_active_fraction, shares])
    n_units = shares.shape[1]
    live_colours = iter(_live_colours(n_units))
    for unit in range(n_units):
        died = history.died_at[unit]
        share = shares[:, unit]
        if died is None:
            ax.plot(epochs, share, color=next(live_colours), linewidth=1, alpha=0.8,
                    label=f"unit {unit + 1}" if n_units <= 8 else None)
        else:
            ax.plot(epochs, share, color=DEAD_COLOUR, linewidth=1.6,
                    linestyle=("-", "--", ":", "-.")[unit % 4],
                    label=f"unit {unit + 1} died at {history.step_name} {died}")
            ax.plot([died], [0], "x", color=DEAD_COLOUR)
    ax.axvline(history.epochs[history.frame(epoch)], color="#444444", linestyle="--",
               linewidth=1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(history.step_name + (" (0: before training)" if epochs[0] == 0 else ""))
    ax.set_ylabel(f"active on (share of\n{history.probe_size} training images)")
    if ax.get_legend_handles_labels()[0]:  # below the chart: readable on a phone too
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3,
                  frameon=False)
    fig.tight_layout()
    return fig


def unit_epochs(history: TrainingHistory, unit: int) -> list[tuple[int, str]]:
    """The epochs worth seeing for ``unit``, with titles: the start (before training when
    known, else the first recorded epoch), when it died or stopped changing, the last."""
    step, first, last = history.step_name, history.epochs[0], history.epochs[-1]
    if history.start_weights is not None:
        chosen = {0: "before training"}
    else:
        chosen = {first: f"{step} {first} (first)"}
    chosen[last] = f"{step} {last} (last)"
    died = history.died_at[unit]
    middle = died if died is not None else history.settled_at(unit)
    title = f"{step} {middle}: " + ("died" if died is not None else "stopped changing")
    if middle in chosen:
        title += " (last)" if middle == last else " (first)"
    chosen[middle] = title
    return sorted(chosen.items())


def unit_epochs_figure(history: TrainingHistory, unit: int) -> Figure:
    """One unit's weight image at its telling epochs, side by side on one diverging scale."""
    chosen = unit_epochs(history, unit)
    images = [(history.start_images() if epoch == 0 else history.weight_images(epoch))[unit]
              for epoch, _ in chosen]
    limit = float(max(np.abs(image).max() for image in images)) or 1.0
    fig = Figure(figsize=(2.5 * len(chosen) + 1.0, 3.0))
    axes = fig.subplots(1, len(chosen), squeeze=False)[0]
    for ax, image, (_, title) in zip(axes, images, chosen, strict=True):
        shown = ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=9, color=DEAD_COLOUR if "died" in title else "black")
        ax.set_xticks(())
        ax.set_yticks(())
    fig.colorbar(shown, ax=list(axes), shrink=0.85, label="weight")
    return fig


def training_gif(history: TrainingHistory, *, style: WeightStyle = DEFAULT_STYLE,
                 title: str = "") -> bytes:
    """The weight grid at every recorded epoch, one GIF frame each (matplotlib's Pillow writer).

    Coloured in ``style``, each frame on its own scale as the page's grid is;
    a unit is labelled "dead" from the epoch it died at.
    """
    n_units = history.active_fraction.shape[1]
    zoom = 4 if n_units <= 9 else 2  # frames of about 350 x 350 to 700 x 700 pixels

    def mosaic(epoch):
        return weight_grid_mosaic(history.weight_images(epoch), style=style, zoom=zoom,
                                  gap=GIF_GAP)

    height, width = mosaic(history.epochs[0]).shape[:2]
    fig = Figure(figsize=(max(width, 240) / GIF_DPI, (height + 24) / GIF_DPI))
    ax = fig.add_axes((0, 0, 1, height / (height + 24)))
    ax.set_axis_off()
    shown = ax.imshow(mosaic(history.epochs[0]), interpolation="nearest")  # RGB already
    labels = _unit_labels(ax, n_units, zoom)
    heading = fig.suptitle("", fontsize=10, y=0.995, va="top")
    writer = PillowWriter(fps=GIF_FPS)
    with tempfile.TemporaryDirectory(prefix="mlp-lens-gif-") as folder:
        path = Path(folder) / "training.gif"
        with writer.saving(fig, str(path), dpi=GIF_DPI):
            for epoch in history.epochs:
                shown.set_data(mosaic(epoch))
                dead = history.dead_at(epoch)
                for unit, label in enumerate(labels):
                    label.set_text(f"{unit + 1} dead" if unit in dead else str(unit + 1))
                    label.set_color(DEAD_COLOUR if unit in dead else "black")
                heading.set_text(f"{title}{history.step_name} {epoch} of {history.epochs[-1]}")
                writer.grab_frame()
        return path.read_bytes()


def _unit_labels(ax, n_units: int, zoom: int) -> list:
    """Each unit's number in the gap above its cell of the mosaic."""
    _, cols = grid_shape(n_units)
    cell = 28 * zoom + GIF_GAP
    return [ax.text(GIF_GAP + (u % cols) * cell, GIF_GAP + (u // cols) * cell - 2,
                    str(u + 1), fontsize=8, va="bottom", ha="left")
            for u in range(n_units)]


def _live_colours(n: int) -> list:
    """Distinct colours for the live units (never the red of the dead ones)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.1 + 0.8 * i / max(n - 1, 1)) for i in range(n)]
