"""Figures that replay a training from its history: grid, loss and activity at an epoch, a GIF."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.figure import Figure

from core.history import TrainingHistory, deaths_by_epoch, unit_names
from core.weights import (
    CAPTION_PX,
    DEAD_COLOUR,
    DEFAULT_STYLE,
    NARROW_COLUMN_PX,
    PX_PER_INCH,
    TEXT_PT,
    WIDE_COLUMN_PX,
    WeightStyle,
    figure_inches,
    grid_shape,
    text_width,
    weight_grid_figure,
    weight_grid_mosaic,
    wrap_words,
)

GIF_GAP, GIF_FPS, GIF_DPI = 14, 8, 72  # the gap above each unit holds its number


def grid_at_figure(history: TrainingHistory, epoch: int, *,
                   style: WeightStyle = DEFAULT_STYLE) -> Figure:
    """The lesson's weight grid as it was at ``epoch``; units dead for good by then say so."""
    return weight_grid_figure(history.weight_images(epoch), style=style,
                              dead_units=history.dead_at(epoch))


def loss_at_figure(history: TrainingHistory, epoch: int, *,
                   shown_px: float = NARROW_COLUMN_PX) -> Figure:
    """The training loss over the recorded epochs, with ``epoch`` marked (its value is for the
    caption: no room for it in a narrow column). Drawn for a column ``shown_px`` wide."""
    fig = Figure(figsize=(figure_inches(shown_px), 9 * CAPTION_PX / PX_PER_INCH),
                 layout="constrained")
    ax = fig.subplots()
    loss = np.asarray(history.loss)
    ax.plot(history.epochs, loss, color="#1f77b4", linewidth=2)
    at = history.frame(epoch)
    ax.axvline(history.epochs[at], color="#444444", linestyle="--", linewidth=1.5)
    ax.plot([history.epochs[at]], [loss[at]], "o", color="#d62728", markersize=8)
    finite = loss[np.isfinite(loss)]
    if len(finite) and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
    ax.locator_params(axis="x", nbins=4)
    _label(ax, history.step_name, "training loss")
    return fig


def _label(ax, x: str, y: str) -> None:
    """Axis titles and tick labels as large as the page's captions."""
    ax.set_xlabel(x, fontsize=TEXT_PT)
    ax.set_ylabel(y, fontsize=TEXT_PT)
    ax.tick_params(labelsize=TEXT_PT)


# Each epoch at which units died has its own colour and marker (at the death, on the line),
# so the groups are told apart by more than a dash; the first is the page's red of the dead.
_DEATH_STYLES = ((DEAD_COLOUR, "X"), ("#e67e22", "o"), ("#7d3c98", "s"), ("#6e2c00", "^"),
                 ("#e75480", "D"), ("#1c2833", "v"))


def activity_figure(history: TrainingHistory, epoch: int, *,
                    shown_px: float = WIDE_COLUMN_PX) -> Figure:
    """Each unit's share of the probe images it fires on, over the epochs, ``epoch`` marked.

    Units that died at the same epoch share a colour and a marker, and one legend entry that
    says when ("units 2 and 5 died at epoch 1"); up to 8 live units are named in their own
    colours. The legend sits below the chart, wrapped to a column ``shown_px`` wide.
    """
    epochs, shares = np.asarray(history.epochs), history.active_fraction
    if history.start_active_fraction is not None:  # epoch 0: before training
        epochs = np.concatenate([[0], epochs])
        shares = np.vstack([history.start_active_fraction, shares])
    entries = _activity_lines(history, shares.shape[1])
    room = shown_px - 2 * CAPTION_PX
    labels = ["\n".join(wrap_words(label, room - _HANDLE_PX)) for *_, label in entries]
    ncol = _legend_columns(labels, room)
    legend_lines = _legend_height(labels, ncol)
    fig = Figure(figsize=(figure_inches(shown_px),
                          (11 * CAPTION_PX + 1.25 * CAPTION_PX * legend_lines) / PX_PER_INCH),
                 layout="constrained")
    ax = fig.subplots()
    for (units, colour, marker, died, _), label in zip(entries, labels, strict=True):
        for n, unit in enumerate(units):
            ax.plot(epochs, shares[:, unit], color=colour, linewidth=2 if died else 1.5,
                    alpha=1 if died else 0.85, label=label if label and n == 0 else None,
                    marker=marker, markevery=[_index(epochs, died)] if died is not None else [],
                    markersize=9)
    ax.axvline(history.epochs[history.frame(epoch)], color="#444444", linestyle="--",
               linewidth=1.5)
    ax.set_ylim(-0.05, 1.05)
    ax.locator_params(axis="x", nbins=5)
    _label(ax, history.step_name + (" (0: before)" if epochs[0] == 0 else ""),
           f"share active of\n{history.probe_size} images")
    if any(labels):
        fig.legend(loc="outside lower center", ncol=ncol, frameon=False, fontsize=TEXT_PT,
                   handlelength=2, columnspacing=1.2)
    return fig


_HANDLE_PX = 3 * CAPTION_PX  # a legend entry's line and the space after it


def _activity_lines(history: TrainingHistory, n_units: int) -> list[tuple]:
    """(units, colour, marker, died at, label) for each group of lines drawn alike: each live
    unit in its own colour (named when there are 8 or fewer), then the dead by epoch."""
    live = [u for u in range(n_units) if history.died_at[u] is None]
    colours = _live_colours(len(live))
    named = len(live) <= 8
    entries = [([u], colour, None, None, f"unit {u + 1}" if named else "")
               for u, colour in zip(live, colours, strict=True)]
    for n, (died, units) in enumerate(deaths_by_epoch(history).items()):
        colour, marker = _DEATH_STYLES[n % len(_DEATH_STYLES)]
        entries.append(([u - 1 for u in units], colour, marker, died,
                         f"{unit_names(units)} died at {history.step_name} {died}"))
    return entries


def _index(epochs: np.ndarray, epoch: int) -> int:
    return int(np.searchsorted(epochs, epoch))


def _legend_columns(labels: list[str], room: float) -> int:
    """As many columns as the widest entry allows in ``room`` pixels."""
    widest = max((text_width(line) for label in labels for line in label.split("\n")),
                 default=0)
    return max(1, min(len(labels), int(room // (widest + _HANDLE_PX + CAPTION_PX))))


def _legend_height(labels: list[str], ncol: int) -> int:
    """The legend's lines of text, in ``ncol`` columns (matplotlib fills them column by column)."""
    shown = [label.count("\n") + 1 for label in labels if label]
    per_column = -(-len(shown) // ncol) if shown else 0
    return max((sum(shown[c * per_column:(c + 1) * per_column]) for c in range(ncol)),
               default=0)


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
