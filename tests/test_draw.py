"""Drawn digits made into MNIST inputs, the network's answer for them, and the Draw page."""


import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from core.draw import (
    activations_figure,
    digit_probabilities,
    drawing_activations,
    ink_from_paper,
    mnist_style,
)
from core.params import TrainParams
from core.train import train_mlp
from core.weights import DEAD_COLOUR, coloured, hidden_weight_images

CANVAS = 280  # the page's canvas, ten screen pixels per MNIST pixel
EVERY_DIGIT = TrainParams(digits=tuple(range(10)), hidden_units=16, solver="adam",
                          max_iter=30, scale_pixels=True)


@pytest.fixture(scope="module")
def every_digit(small):
    """A network that knows all ten digits, trained on 1,200 real ones."""
    return train_mlp(EVERY_DIGIT, small).model


@pytest.fixture(scope="module")
def lesson_net(small):
    """The lesson's four digits, pixels scaled, a few epochs on 480 real digits."""
    return train_mlp(TrainParams(scale_pixels=True, max_iter=30), small)


def stroke_canvas(points, *, width=24, transparent=False) -> np.ndarray:
    """A 280 x 280 RGBA canvas, white strokes on black (or on nothing), as the page's canvas."""
    picture = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0 if transparent else 255))
    ImageDraw.Draw(picture).line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
    return np.asarray(picture)


def as_canvas(digit784: np.ndarray) -> np.ndarray:
    """A real 28 x 28 digit drawn ten times larger on an opaque RGBA canvas."""
    big = np.kron(digit784.reshape(28, 28), np.ones((10, 10), dtype=np.uint8))
    return np.dstack([big, big, big, np.full_like(big, 255)])


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    return np.array(ndimage.center_of_mass(image.astype(float)))


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_an_off_centre_stroke_is_scaled_to_20_pixels_and_centred_by_its_mass():
    """A '7' drawn small in the top-left corner comes out like an MNIST digit."""
    seven = stroke_canvas([(20, 20), (120, 20), (60, 150)])
    digit = mnist_style(seven)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255 and digit.min() == 0
    assert max(ink_box(digit)) == 20
    np.testing.assert_allclose(centre_of_mass(digit), (14, 14), atol=0.5)
    assert len(np.unique(digit)) > 10, "anti-aliased: grey edges, not just ink and blank"


def test_a_wide_stroke_keeps_its_aspect_ratio():
    """A horizontal dash is 20 pixels wide and stays a thin dash, centred."""
    dash = mnist_style(stroke_canvas([(150, 250), (270, 250)], width=20))
    height, width = ink_box(dash)
    assert width == 20 and height <= 6
    np.testing.assert_allclose(centre_of_mass(dash), (14, 14), atol=0.5)


def test_white_ink_counts_on_a_transparent_background_as_on_black():
    points = [(200, 40), (160, 140), (230, 260)]
    on_black = mnist_style(stroke_canvas(points))
    on_nothing = mnist_style(stroke_canvas(points, transparent=True))
    np.testing.assert_array_equal(on_black, on_nothing)
    grey = mnist_style(stroke_canvas(points)[..., 0])
    np.testing.assert_array_equal(on_black, grey)


def test_an_empty_canvas_has_no_digit():
    """Blank, transparent, or only faint specks: None, for the page's hint."""
    assert mnist_style(np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)) is None
    black = np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)
    black[..., 3] = 255
    assert mnist_style(black) is None
    black[100:103, 100:103, :3] = 5  # a speck, darker than any stroke's edge
    assert mnist_style(black) is None


def test_real_digits_drawn_large_come_back_as_themselves(sample, every_digit):
    """Twenty real digits the network never saw, drawn ten times larger, come back as MNIST had
    them: centred, nearly identical, and given the same answer."""
    rows = np.concatenate([np.flatnonzero(sample.y == d)[-2:] for d in range(10)])
    same, similar = 0, []
    for row in rows:
        original = sample.X[row]
        digit = mnist_style(as_canvas(original))
        np.testing.assert_allclose(centre_of_mass(digit), (14, 14), atol=0.5)
        similar.append(np.corrcoef(digit.ravel(), original.astype(float))[0, 1])
        before = digit_probabilities(every_digit, original, scale_pixels=True)
        after = digit_probabilities(every_digit, digit.ravel(), scale_pixels=True)
        same += max(before, key=before.get) == max(after, key=after.get)
    assert same >= 0.85 * len(rows), f"only {same} of {len(rows)} predictions agree"
    assert np.median(similar) > 0.95


def test_probabilities_are_keyed_by_the_chosen_digits_and_sum_to_one(sample, lesson_net):
    digit = mnist_style(as_canvas(sample.X[np.flatnonzero(sample.y == 2)[0]]))
    probabilities = digit_probabilities(lesson_net.model, digit.ravel(), scale_pixels=True)
    assert list(probabilities) == [0, 1, 2, 3]
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert all(0 <= p <= 1 for p in probabilities.values())


def test_two_digits_give_two_probabilities(small):
    """With two digits scikit-learn has one logistic output; the answer still names both."""
    model = train_mlp(TrainParams(digits=(3, 8), scale_pixels=True, max_iter=20), small).model
    digit = mnist_style(stroke_canvas([(100, 30), (180, 90), (110, 150), (180, 220), (100, 260)]))
    probabilities = digit_probabilities(model, digit.ravel(), scale_pixels=True)
    assert list(probabilities) == [3, 8]
    assert sum(probabilities.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("scale_pixels", [True, False])
def test_activations_are_the_relu_of_the_weighted_pixels(sample, lesson_net, scale_pixels):
    """Scaled like training: x / 255 with scaled pixels, raw 0-255 without."""
    model = lesson_net.model
    digit = mnist_style(as_canvas(sample.X[np.flatnonzero(sample.y == 0)[0]]))
    x = digit.ravel().astype(float) / (255.0 if scale_pixels else 1.0)
    expected = np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0)
    found = drawing_activations(model, digit.ravel(), scale_pixels=scale_pixels)
    assert found.shape == (6,)
    np.testing.assert_allclose(found, expected)


def test_the_activations_figure_shows_every_unit_and_marks_dead_ones(lesson_net):
    images = np.repeat(hidden_weight_images(lesson_net.model), 3, axis=0)[:13]  # 13 units
    fig = activations_figure(images, np.linspace(0, 2, 13), dead_units=(4,))
    pictures = [ax for ax in fig.axes if ax.images]
    assert len(pictures) == 2  # 13 units: two blocks of up to 7 rows
    labels = {t.get_text(): t.get_color() for ax in pictures for t in ax.get_yticklabels()}
    assert list(labels) == [str(u) for u in range(1, 14)]
    assert labels["5"] == DEAD_COLOUR and labels["4"] == "black"
    bars = [ax for ax in fig.axes if ax.patches]
    widths = [p.get_width() for ax in bars for p in ax.patches]
    np.testing.assert_allclose(widths, np.linspace(0, 2, 13))  # one bar per unit, in order
    stacked = pictures[0].images[0].get_array()
    np.testing.assert_array_equal(stacked[:28], coloured(images[:1])[0])  # as on every page


def test_dark_ink_on_light_paper_is_read_as_mnist_stores_digits():
    """The canvas shows digits as every page does (dark on light); the network sees ink 255."""
    points = [(140, 40), (140, 240)]
    on_black = mnist_style(stroke_canvas(points))
    paper = 255 - stroke_canvas(points)
    paper[..., 3] = 255  # an opaque white canvas with a black stroke
    assert np.array_equal(mnist_style(ink_from_paper(paper)), on_black)
    drawn = np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)  # black ink on a transparent canvas
    drawn[40:240, 128:152, 3] = 255
    assert mnist_style(ink_from_paper(drawn)).max() == 255
    assert mnist_style(ink_from_paper(np.full((CANVAS, CANVAS, 4), 255, np.uint8))) is None
