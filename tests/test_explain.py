"""Why the network answers what it does: unit and pixel shares that add up to its scores."""

import numpy as np
import pytest

from core.explain import explain, number, pixel_picture, sentences, signed, why_figure
from core.params import TrainParams
from core.train import model_inputs, train_mlp
from core.weights import WIDE_COLUMN_PX, chart_width, hidden_weight_images
from tests.readable import EXPLORE_WIDE, assert_readable_chart

TEN = TrainParams(digits=tuple(range(10)), hidden_units=36, scale_pixels=True, max_iter=8)


@pytest.fixture(scope="module")
def ten(small):
    """Ten digits, 36 units (more than the figure shows one by one), a few epochs."""
    return train_mlp(TEN, small).model


@pytest.fixture(scope="module")
def inputs(small):
    return model_inputs(small.X[:20], scale_pixels=True)


def test_every_digits_unit_bars_and_bias_add_up_to_its_score_and_give_predict_proba(ten, inputs):
    """The bars (activation x vote) plus the bias are the logits predict_proba is built from."""
    for x in inputs:
        e = explain(ten, x)
        logits = x @ ten.coefs_[0] + ten.intercepts_[0]
        logits = np.maximum(logits, 0) @ ten.coefs_[1] + ten.intercepts_[1]
        np.testing.assert_allclose(e.units.sum(axis=0) + e.biases, logits, atol=1e-10)
        np.testing.assert_allclose(e.probabilities, ten.predict_proba(x[None])[0], atol=1e-12)
        assert e.digit == ten.predict(x[None])[0]
        assert e.scores[e.runner_up] == np.sort(e.scores)[-2]


def test_relu_pixel_shares_and_hidden_biases_add_up_to_each_score_exactly(ten, inputs):
    e = explain(ten, inputs[0])
    assert e.exact
    np.testing.assert_allclose(e.pixels.sum(axis=0) + e.hidden_biases + e.biases, e.scores,
                               atol=1e-10)
    assert np.all(e.pixels[inputs[0] == 0] == 0), "a blank pixel pushes no digit"
    np.testing.assert_allclose(e.pixel_difference().sum(),
                               e.scores[e.chosen] - e.scores[e.runner_up]
                               - (e.hidden_biases + e.biases)[[e.chosen, e.runner_up]]
                               @ [1, -1], atol=1e-10)


def test_tanh_pixel_shares_are_gradient_times_input_and_said_to_be_approximate(small, inputs):
    model = train_mlp(TrainParams(activation="tanh", scale_pixels=True, max_iter=3), small).model
    x = model_inputs(small.subset((0, 1, 2, 3))[0][:1], scale_pixels=True)[0]
    e = explain(model, x)
    np.testing.assert_allclose(e.probabilities, model.predict_proba(x[None])[0], atol=1e-12)
    slope = 1 - np.tanh(x @ model.coefs_[0] + model.intercepts_[0]) ** 2
    np.testing.assert_allclose(e.pixels[:, e.chosen],
                               x * (model.coefs_[0] @ (slope * model.coefs_[1][:, e.chosen])))
    assert not e.exact and "approximation" in sentences(e)[-1]


def test_two_digits_score_the_second_against_the_first_whose_score_is_0(small):
    """scikit-learn's one logistic output: the second digit's score is its logit, the first's 0,
    and their softmax is predict_proba."""
    model = train_mlp(TrainParams(digits=(3, 7), scale_pixels=True, max_iter=5), small).model
    X, y = small.subset((3, 7))
    for x in model_inputs(X[:10], scale_pixels=True):
        e = explain(model, x)
        logit = np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0) @ model.coefs_[1][:, 0]
        np.testing.assert_allclose(e.scores, [0.0, logit + model.intercepts_[1][0]], atol=1e-10)
        np.testing.assert_allclose(e.probabilities, model.predict_proba(x[None])[0], atol=1e-12)
        assert e.digit == model.predict(x[None])[0] and {e.digit, e.other} == {3, 7}
        assert np.all(e.units[:, 0] == 0)
    assert "a score for 7 against 3" in " ".join(sentences(e))


def test_a_given_runner_up_is_kept_unless_it_is_the_answer(ten, inputs):
    e = explain(ten, inputs[0])
    wrong = next(d for d in e.digits if d not in (e.digit, e.other))
    assert explain(ten, inputs[0], runner_up=wrong).other == wrong
    assert explain(ten, inputs[0], runner_up=e.digit).other == e.other


def test_the_sentences_name_the_strongest_unit_and_the_silent_ones(ten, inputs):
    e = explain(ten, inputs[0])
    strongest = int(np.argmax(e.units[:, e.chosen]))
    said = sentences(e)
    assert said[1].startswith(f"Unit {strongest + 1} fires strongly ")
    assert f"votes {signed(ten.coefs_[1][strongest, e.chosen])} for {e.digit}" in said[1]
    assert f"{signed(e.units[strongest, e.chosen])} towards {e.digit}" in said[1]
    silent = np.flatnonzero(e.hidden == 0)
    assert len(silent) > 6, "too few silent units to test how many are named"
    line = next(s for s in said if "silent" in s)
    assert line.startswith(f"Units {silent[0] + 1}, ") and f"{len(silent) - 6} more" in line
    assert number(-2.13) == "−2.1" and signed(0.0) == "0" and signed(0.456) == "+0.46"


def test_the_figure_rows_add_up_to_the_score_and_read_at_every_screen(ten, inputs):
    """The strongest units, one row for the others, the bias and the score; readable."""
    e = explain(ten, inputs[0])
    fig = why_figure(e, hidden_weight_images(ten), most=8)
    texts = [t.get_text() for t in fig.texts]
    assert ["unit" in t for t in texts].count(True) == 8 and "28 others" in texts
    bars = fig.axes[1].patches  # the answer's bars, then the runner-up's, a row each
    for digit, shown in ((e.chosen, bars[:11]), (e.runner_up, bars[11:])):
        widths = [bar.get_width() for bar in shown]
        assert len(widths) == 11 and widths[-1] == pytest.approx(e.scores[digit])
        assert sum(widths[:-1]) == pytest.approx(e.scores[digit])
    assert f"■ {e.digit} (its answer)" in texts
    assert_readable_chart(fig, EXPLORE_WIDE, WIDE_COLUMN_PX)
    assert chart_width(WIDE_COLUMN_PX) >= 358  # a phone's column shows it whole


def test_the_pixel_picture_is_red_where_pixels_push_to_the_answer(ten, inputs):
    e = explain(ten, inputs[0])
    picture = pixel_picture(e, zoom=1).astype(int)
    push = e.pixel_difference().reshape(28, 28)
    towards, away = np.unravel_index(push.argmax(), push.shape), np.unravel_index(
        push.argmin(), push.shape)
    assert picture[towards][0] > picture[towards][2] and picture[away][2] > picture[away][0]
    assert np.all(picture[inputs[0].reshape(28, 28) == 0] == 255), "blank paper stays white"
