"""Replaying a training: the grid, loss and activity at an epoch, one unit's epochs, the GIF."""

import io
import re

import numpy as np
from PIL import Image

from core.history import deaths_by_epoch, unit_names
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
from core.weights import NARROW_COLUMN_PX, WIDE_COLUMN_PX
from tests.readable import EXPLORE_NARROW, EXPLORE_WIDE, assert_readable_chart


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
    named = [u for label in labels if "died at epoch" in label
             for u in re.findall(r"\d+", label.split("died")[0])]
    assert sorted(int(u) - 1 for u in named) == sorted(result.dead_units)
    for epoch, units in deaths_by_epoch(history).items():
        assert f"{unit_names(units)} died at epoch {epoch}" in labels
    grid_titles = _texts(grid_at_figure(history, history.epochs[-1]))
    assert sum("(dead)" in title for title in grid_titles) == len(result.dead_units)
    dead = result.dead_units[0]
    assert history.died_at[dead] in [epoch for epoch, _ in unit_epochs(history, dead)]
    assert any("died" in title for title in _texts(unit_epochs_figure(history, dead)))


def test_the_loss_is_marked_at_the_chosen_epoch(small):
    result = train_mlp(TrainParams(max_iter=12, scale_pixels=True, random_state=42), small)
    history = result.history
    ax = loss_at_figure(history, 5).axes[0]
    marked = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [tuple(line.get_xdata()) for line in marked] == [(5, 5)]
    point = next(line for line in ax.lines if line.get_marker() == "o")
    assert tuple(point.get_data()) == ((5,), (history.loss[4],))
    assert _texts(grid_at_figure(history, 5)) == [str(u + 1) for u in range(6)]


def test_units_that_died_at_different_epochs_differ_in_colour_and_marker(sample):
    """The activity chart's dead units: one legend entry per epoch of death, each in its own
    colour and marker, not told apart by their dashes alone."""
    result = train_mlp(TrainParams(hidden_units=12, random_state=0, max_iter=15), sample)
    history = result.history
    assert list(deaths_by_epoch(history)) == [1, 2]
    fig = activity_figure(history, history.epochs[-1])
    legend = fig.legends[0]
    handles = [handle for handle, text in zip(legend.legend_handles, legend.get_texts(),
                                              strict=True) if "died" in text.get_text()]
    assert len(handles) == 2
    assert len({h.get_color() for h in handles}) == len({h.get_marker() for h in handles}) == 2


def test_a_unit_shows_its_first_settled_and_last_epochs(small):
    result = train_mlp(TrainParams(max_iter=30, scale_pixels=True, random_state=43), small)
    history = result.history
    live = next(u for u in range(6) if history.died_at[u] is None)
    chosen = unit_epochs(history, live)
    assert chosen[0] == (0, "before training") and chosen[-1][0] == 30
    assert any("stopped changing" in title for _, title in chosen)
    assert len(unit_epochs_figure(history, live).axes) == len(chosen) + 1  # and a colour bar


def test_the_replay_charts_text_is_as_large_as_the_captions(sample):
    """The loss chart in Explore's narrow column and the activity chart (legend included) in
    its wide one: no text under 14 px at 1400, 1024 or 390 wide (the legend was 5.7 px), none
    over about 21."""
    history = train_mlp(TrainParams(hidden_units=12, random_state=0, max_iter=15),
                        sample).history
    assert_readable_chart(loss_at_figure(history, 5), EXPLORE_NARROW, NARROW_COLUMN_PX)
    assert_readable_chart(activity_figure(history, 5), EXPLORE_WIDE, WIDE_COLUMN_PX)
