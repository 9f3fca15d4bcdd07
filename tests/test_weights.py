"""Weight images and the lesson-style figures."""

import io

import numpy as np
import pytest
from PIL import Image

from core.params import TrainParams
from core.train import train_mlp
from core.weights import (
    LESSON,
    NARROW_COLUMN_PX,
    WeightStyle,
    digit_mosaic,
    figure_png,
    grid_layout,
    grid_shape,
    hidden_weight_images,
    output_weights_figure,
    weight_grid_figure,
    weight_grid_image,
    weight_grid_mosaic,
)
from tests.readable import (
    CAPTION_PX,
    EXPLORE_NARROW,
    EXPLORE_WIDE,
    SEED_CARD,
    assert_readable_chart,
    smallest_text_px,
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


def _titles(fig) -> list[str]:
    return [text.get_text() for text in fig.texts]


def test_lesson_figure_has_one_titled_tickless_gray_panel_per_unit(result):
    """The lesson's style: titles 1..n, no ticks, gray; unused grid cells stay empty."""
    fig = weight_grid_figure(hidden_weight_images(result.model), dead_units=(1,),
                             style=WeightStyle(LESSON, "unit"))
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == len(shown) == 7
    assert _titles(fig) == ["1", "2 (dead)", "3", "4", "5", "6", "7"]
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in shown)
    assert all(ax.images[0].get_cmap().name == "gray" for ax in shown)
    images = hidden_weight_images(result.model)
    assert [ax.images[0].get_clim() for ax in shown] == [(im.min(), im.max()) for im in images]


def test_the_default_colours_are_red_blue_centred_on_zero(result):
    """One convention: blue negative, white zero, red positive, each unit centred on 0."""
    images = hidden_weight_images(result.model)
    shown = [ax for ax in weight_grid_figure(images).axes if ax.axison]
    assert all(ax.images[0].get_cmap().name == "RdBu_r" for ax in shown)
    for ax, image in zip(shown, images, strict=True):
        low, high = ax.images[0].get_clim()
        assert low == -high == -np.abs(image).max()


def test_one_scale_for_all_units_shares_the_largest_weight(result):
    images = hidden_weight_images(result.model)
    limits = WeightStyle(scale="shared").limits(images)
    assert np.all(limits == [-np.abs(images).max(), np.abs(images).max()])
    assert np.all(WeightStyle(scale="shared").limits(images, shared=5.0) == [-5.0, 5.0])


def test_the_fast_mosaic_colours_a_unit_as_the_figure_does():
    """The live view's mosaic: white at zero, red for the most positive, blue the most negative."""
    image = np.zeros((1, 28, 28))
    image[0, 0, 0], image[0, 0, 1] = 2.0, -2.0
    mosaic = weight_grid_mosaic(image, zoom=1, gap=0)
    assert mosaic.shape == (28, 28, 3)
    red, blue, zero = mosaic[0, 0], mosaic[0, 1], mosaic[5, 5]
    assert red[0] > 2 * red[2] and blue[2] > 2 * blue[0]
    assert np.all(zero > 240)  # the middle of RdBu_r is (nearly) white
    grey = weight_grid_mosaic(image, style=WeightStyle(LESSON, "unit"), zoom=1, gap=0)
    assert tuple(grey[0, 0]) == (255, 255, 255) and tuple(grey[0, 1]) == (0, 0, 0)


def test_digits_are_drawn_dark_on_light():
    """Ink (255) is black and blank paper (0) white, on every page."""
    digit = np.zeros((1, 28, 28))
    digit[0, 3, 3] = 255
    mosaic = digit_mosaic(digit, zoom=1, gap=0)
    assert mosaic[3, 3] == 0 and mosaic[0, 0] == 255


def test_a_title_line_names_the_settings_and_the_accuracy(result):
    fig = weight_grid_figure(hidden_weight_images(result.model), title="MLP Lens · test line")
    assert fig._suptitle.get_text() == "MLP Lens · test line"


def test_lesson_figure_size_for_six_units(small):
    """About the lesson's 5 x 4 inches (its titles sized for a seed's card on Compare)."""
    six = train_mlp(TrainParams(max_iter=2), small)
    fig = weight_grid_figure(hidden_weight_images(six.model))
    assert tuple(fig.get_size_inches()) == pytest.approx((5, 4), abs=0.2)


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


@pytest.mark.parametrize("units", [6, 7, 16, 36])
def test_a_grids_numbers_are_as_large_as_the_captions_wherever_it_is_shown(units):
    """Explore's grid and Compare's cards: unit numbers and "(dead)" at least 14 px tall."""
    images = np.random.default_rng(units).normal(size=(units, 28, 28))
    fig = weight_grid_figure(images, dead_units=(0, units - 1))
    for shown in EXPLORE_WIDE + SEED_CARD:
        size, text = smallest_text_px(fig, shown)
        assert size >= CAPTION_PX - 0.05, f"{text!r} is {size:.1f} px at {shown} px"


@pytest.mark.parametrize("units", [6, 9, 16])
def test_compare_titles_with_correlations_are_as_large_as_the_captions(units):
    """'3  r=0.81 (dead)' on a seed's card was about 6 px tall; it wraps to fit instead."""
    images = np.random.default_rng(units).normal(size=(units, 28, 28))
    titles = [f"{u + 1}  r={0.5 + u / 100:.2f}" for u in range(units)]
    fig = weight_grid_figure(images, titles=titles, dead_units=(2,))
    size, text = smallest_text_px(fig, SEED_CARD[0])
    assert size >= CAPTION_PX - 0.05, f"{text!r} is {size:.1f} px"
    words = " ".join(t.get_text() for t in fig.texts).split()
    assert words == " ".join(titles).replace("r=0.52", "r=0.52 (dead)").split()


@pytest.mark.parametrize(("units", "digits"), [(6, (0, 1, 2, 3)), (7, (0, 1, 2, 3)),
                                               (36, tuple(range(10))), (5, (3, 8))])
def test_the_votes_text_is_as_large_as_the_captions_in_its_narrow_column(small, units, digits):
    """'How each unit votes' was 5.5 px on a tablet (7 units) and 7.6 px with 36 units."""
    model = train_mlp(TrainParams(hidden_units=units, digits=digits, max_iter=3,
                                  scale_pixels=True), small).model
    assert_readable_chart(output_weights_figure(model, digits), EXPLORE_NARROW, NARROW_COLUMN_PX)


def test_the_votes_numbers_are_in_the_cells_only_where_they_fit(small):
    """Four digits leave no room for a readable number per cell (the page lists them
    beside the picture); the single column of two digits does."""
    four = train_mlp(TrainParams(max_iter=3, scale_pixels=True), small).model
    assert not output_weights_figure(four, (0, 1, 2, 3)).axes[0].texts
    two = train_mlp(TrainParams(digits=(3, 8), max_iter=3, scale_pixels=True), small).model
    cells = [t.get_text() for t in output_weights_figure(two, (3, 8)).axes[0].texts]
    assert cells == [f"{w:.1f}".replace("-", "−") for w in two.coefs_[1].ravel()]


@pytest.mark.parametrize("units", [6, 7, 36])
def test_the_live_picture_is_the_finished_grid_numbered_and_as_large(units):
    """The live view's fast picture has the finished figure's size and layout and shows each
    unit's number, so nothing moves when the training ends and the figure takes its place."""
    images = np.random.default_rng(units).normal(size=(units, 28, 28))
    finished = np.asarray(Image.open(io.BytesIO(figure_png(weight_grid_figure(images))))
                          .convert("RGB")).astype(int)
    live = weight_grid_image(images).astype(int)
    assert live.shape == finished.shape
    assert np.abs(live - finished).mean() < 12  # the same picture, up to a pixel's edges
    layout = grid_layout([str(u + 1) for u in range(units)])
    scale = finished.shape[1] / layout.width
    for unit in range(units):
        left, top = (round(v * scale) for v in layout.tile_at(unit))
        right = left + round(layout.tile * scale)
        band = live[round(top - layout.band * scale):top - 2, left:right]
        assert (band.min(axis=2) < 100).any(), f"no number above unit {unit + 1}"
