"""Weight images and the lesson-style figures."""

import numpy as np
import pytest

from core.params import TrainParams
from core.train import train_mlp
from core.weights import (
    figure_png,
    grid_shape,
    hidden_weight_images,
    output_weights_figure,
    weight_grid_figure,
)


@pytest.fixture(scope="module")
def result(small):
    return train_mlp(TrainParams(hidden_units=7, max_iter=5, scale_pixels=True), small)


def test_each_image_is_a_column_of_the_first_layer(result):
    images = hidden_weight_images(result.model)
    assert images.shape == (7, 28, 28)
    for i in range(7):
        np.testing.assert_array_equal(images[i], result.model.coefs_[0][:, i].reshape(28, 28))


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (4, (2, 2)), (6, (2, 3)), (7, (3, 3)),
                                          (9, (3, 3)), (12, (3, 4)), (36, (6, 6))])
def test_grid_shape(n, shape):
    assert grid_shape(n) == shape


def test_lesson_figure_has_one_titled_tickless_gray_panel_per_unit(result):
    """Like the lesson: titles 1..n, no ticks, gray; unused grid cells are hidden."""
    fig = weight_grid_figure(hidden_weight_images(result.model), dead_units=(1,))
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == 9 and len(shown) == 7
    assert [ax.get_title() for ax in shown] == ["1", "2 (dead)", "3", "4", "5", "6", "7"]
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in shown)
    assert all(ax.images[0].get_cmap().name == "gray" for ax in shown)


def test_lesson_figure_size_for_six_units(small):
    six = train_mlp(TrainParams(max_iter=2), small)
    fig = weight_grid_figure(hidden_weight_images(six.model))
    assert tuple(fig.get_size_inches()) == pytest.approx((5, 4))


def test_output_weights_heatmap_has_a_column_per_digit(result):
    fig = output_weights_figure(result.model, (0, 1, 2, 3))
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["0", "1", "2", "3"]
    assert figure_png(fig).startswith(b"\x89PNG")


def test_two_digits_have_a_single_output_that_votes_between_them(small):
    """scikit-learn uses one logistic output for two classes; the heatmap says what it means."""
    two = train_mlp(TrainParams(digits=(3, 8), max_iter=3, scale_pixels=True), small)
    fig = output_weights_figure(two.model, (3, 8))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["8 (+) vs 3 (−)"]
