"""A sweep's picture: test accuracy and dead units over hidden units x alpha, across seeds,
with how each setting's trainings ended in Explore's words."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from core.outcome import MEANINGS
from core.params import SWEEPS
from core.sweep.grid import SweepRow

AXES = ("hidden_units", "alpha")  # each heatmap's rows and columns


@dataclass(frozen=True)
class Cell:
    """One (hidden units, alpha) cell: the mean and spread of a measure over the seeds."""

    mean: float
    spread: float  # standard deviation over the seeds (0 for one seed)
    n: int  # seeds that gave a network


def accuracy_of(row: SweepRow) -> float | None:
    """Test accuracy when the sweep held digits out, else training accuracy."""
    return row.test_accuracy if row.test_accuracy is not None else row.train_accuracy


def dead_share_of(row: SweepRow) -> float | None:
    return None if row.dead_units is None else row.dead_units / row.params.hidden_units


def cells(rows, measure) -> dict[tuple[int, float], Cell]:
    """``measure(row)`` averaged over the seeds of each (hidden units, alpha), failed rows out."""
    values: dict[tuple[int, float], list[float]] = defaultdict(list)
    for row in rows:
        value = measure(row) if row.ok else None
        if value is not None:
            values[_values(row, AXES)].append(value)
    return {key: Cell(float(np.mean(v)), float(np.std(v)), len(v)) for key, v in values.items()}


def panels(rows) -> dict[tuple, list[SweepRow]]:
    """The rows of each setting of the swept parameters that are neither the axes nor the
    seeds (pixels and solver): one pair of heatmaps each, so that no cell mixes two."""
    found: dict[tuple, list[SweepRow]] = defaultdict(list)
    for row in rows:
        found[_values(row, _panel_names())].append(row)
    return dict(sorted(found.items()))


def _panel_names() -> tuple[str, ...]:
    return tuple(name for name, sweep in SWEEPS.items()
                 if name not in AXES and not sweep.repeats)


def _values(row: SweepRow, names) -> tuple:
    return tuple(getattr(row.params, name) for name in names)


def _setting(values: tuple) -> str:
    """A panel's setting in words: "pixels scaled to 0–1, solver sgd"."""
    return ", ".join(f"{SWEEPS[name].column} {SWEEPS[name].text(value)}"
                     for name, value in zip(_panel_names(), values, strict=True))


def outcomes_note(rows) -> str:
    """How the networks of ``rows`` ended, counted in Explore's words (``Outcome.words``):
    "4 stuck, not finished · 2 ran out of epochs"; failed rows gave no network to count."""
    found = Counter(row.outcome for row in rows if row.ok and row.outcome)
    return " · ".join(f"{found[words]} {words}" for words in MEANINGS if words in found)


def heatmaps_figure(rows) -> Figure:
    """Per setting, mean accuracy (higher is better) and share of dead units (lower is better)
    over hidden units x alpha; each cell reads "mean ± spread over seeds". The accuracy's
    title counts how the setting's trainings ended (``outcomes_note``)."""
    rows = list(rows)
    groups = panels(rows)
    held_out = any(row.test_accuracy is not None for row in rows)
    hidden = sorted({row.params.hidden_units for row in rows})
    alphas = sorted({row.params.alpha for row in rows})
    height = 0.55 * len(hidden) + 1.3
    fig = Figure(figsize=(max(8.0, 1.9 * len(alphas) * 2 + 2), height * max(len(groups), 1)),
                 layout="constrained")
    axes = fig.subplots(max(len(groups), 1), 2, squeeze=False)
    measures = (("test accuracy" if held_out else "training accuracy (no hold-out)",
                 accuracy_of, "viridis"), ("share of dead units", dead_share_of, "magma_r"))
    for (setting, group), ax_row in zip(groups.items(), axes, strict=False):
        ended = outcomes_note(group)
        notes = (f"\n{ended}" if ended else "", "")
        for ax, (label, measure, cmap), note in zip(ax_row, measures, notes, strict=True):
            _heatmap(ax, cells(group, measure), hidden, alphas, cmap)
            ax.set_title(f"mean {label}\n{_setting(setting)}{note}", fontsize=9)
    return fig


def _heatmap(ax, found: dict[tuple[int, float], Cell], hidden, alphas, cmap) -> None:
    grid = np.full((len(hidden), len(alphas)), np.nan)
    for (h, a), cell in found.items():
        grid[hidden.index(h), alphas.index(a)] = cell.mean
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i, h in enumerate(hidden):
        for j, a in enumerate(alphas):
            cell = found.get((h, a))
            text = "no network" if cell is None else (
                f"{cell.mean:.2f}" + (f"\n± {cell.spread:.2f}" if cell.n > 1 else ""))
            dark = cell is not None and (cell.mean < 0.5) == (cmap == "viridis")
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_yticks(range(len(hidden)), [str(h) for h in hidden])
    ax.set_xlabel("alpha")
    ax.set_ylabel("hidden units")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
