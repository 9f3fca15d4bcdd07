"""Replaying a training: the grid, loss and activity at an epoch, one unit's epochs, the GIF."""

import io

import numpy as np
from PIL import Image

from core.params import TrainParams
from core.replay import (
    activity_figure,
    grid_at_figure,
    loss_at_figure,
    training_gif,
    unit_epochs,
    unit_epochs_figure,
)
from core.train import train_mlp


def _texts(fig) -> list[str]:
    """Every title, label and legend entry, each on one line (a narrow figure wraps them)."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    texts = [t for ax in fig.axes for t in ax.texts + [ax.title]] + fig.texts + [
        t for legend in legends for t in legend.get_texts()]
    return [" ".join(t.get_text().split()) for t in texts if t.get_text()]


def test_the_gif_has_one_frame_per_recorded_epoch(small):
    result = train_mlp(TrainParams(max_iter=9, scale_pixels=True, random_state=41), small)
    gif = Image.open(io.BytesIO(training_gif(result.history)))
    assert gif.format == "GIF"
    assert gif.n_frames == len(result.history.epochs) == 9
    first = np.asarray(gif.convert("L"))
    gif.seek(gif.n_frames - 1)
    assert not np.array_equal(first, np.asarray(gif.convert("L")))  # the weights moved


def test_the_lessons_dead_units_are_labelled_with_the_epoch_they_died(sample):
    """Raw pixels: the activity chart names each dead unit and its epoch; the grid at the last
    epoch marks them dead, and the unit's epochs include the one it died at."""
    result = train_mlp(TrainParams(), sample)
    history = result.history
    labels = _texts(activity_figure(history, history.epochs[-1]))
    for unit in result.dead_units:
        assert f"unit {unit + 1} died at epoch {history.died_at[unit]}" in labels
    grid_titles = _texts(grid_at_figure(history, history.epochs[-1]))
    assert sum("(dead)" in title for title in grid_titles) == len(result.dead_units)
    dead = result.dead_units[0]
    assert history.died_at[dead] in [epoch for epoch, _ in unit_epochs(history, dead)]
    assert any("died" in title for title in _texts(unit_epochs_figure(history, dead)))


def test_the_loss_is_marked_at_the_chosen_epoch(small):
    result = train_mlp(TrainParams(max_iter=12, scale_pixels=True, random_state=42), small)
    history = result.history
    texts = _texts(loss_at_figure(history, 5))
    assert f"epoch 5: loss {history.loss[4]:.4g}" in texts
    assert _texts(grid_at_figure(history, 5)) == [str(u + 1) for u in range(6)]


def test_a_unit_shows_its_first_settled_and_last_epochs(small):
    result = train_mlp(TrainParams(max_iter=30, scale_pixels=True, random_state=43), small)
    history = result.history
    live = next(u for u in range(6) if history.died_at[u] is None)
    chosen = unit_epochs(history, live)
    assert chosen[0] == (0, "before training") and chosen[-1][0] == 30
    assert any("stopped changing" in title for _, title in chosen)
    assert len(unit_epochs_figure(history, live).axes) == len(chosen) + 1  # and a colour bar
