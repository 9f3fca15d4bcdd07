"""The unit inspector's measurements and the data page's pictures."""

import numpy as np
import pytest

from core.gallery import mean_images, pixel_histogram
from core.params import TrainParams
from core.train import train_mlp, training_inputs
from core.units import ablated, hidden_activations, unit_report, units_table, votes


@pytest.fixture(scope="module")
def trained(small):
    params = TrainParams(scale_pixels=True, max_iter=30)
    X, y = training_inputs(params, small)
    return train_mlp(params, small).model, X, y


def test_switching_off_a_unit_with_no_outgoing_weights_changes_nothing(trained):
    model, X, y = trained
    silent = ablated(model, 2)  # unit 3 now reaches no digit
    report = unit_report(silent, X, y, 2)
    assert report.accuracy_off == report.accuracy_on
    assert all(change == 0 for change in report.contribution.values())
    np.testing.assert_array_equal(silent.predict(X), ablated(silent, 2).predict(X))


def test_switching_off_a_unit_is_zeroing_its_output(trained):
    model, X, y = trained
    off = ablated(model, 0)
    assert not off.coefs_[1][0].any() and model.coefs_[1][0].any()  # the original is untouched
    hidden = hidden_activations(model, X)
    hidden[:, 0] = 0
    logits = hidden @ model.coefs_[1] + model.intercepts_[1]
    np.testing.assert_array_equal(off.predict(X), model.classes_[logits.argmax(axis=1)])


def test_top_and_bottom_images_are_sorted_by_activation(trained):
    model, X, y = trained
    report = unit_report(model, X, y, 1)
    acts = report.activations
    assert len(report.top) == len(report.bottom) == 16
    assert np.all(np.diff(acts[report.top]) <= 0)  # strongest first
    assert np.all(np.diff(acts[report.bottom]) >= 0)  # weakest first
    assert acts[report.top[-1]] >= np.sort(acts)[-16]
    assert acts[report.bottom[-1]] <= np.sort(acts)[15]


def test_activity_per_digit_matches_the_relu_outputs(trained):
    model, X, y = trained
    report = unit_report(model, X, y, 0)
    manual = np.maximum(X @ model.coefs_[0][:, 0] + model.intercepts_[0][0], 0)
    np.testing.assert_allclose(report.activations, manual)
    for digit, share in report.active_by_digit.items():
        assert share == pytest.approx(np.mean(manual[y == digit] > 0))


def test_the_units_table_has_a_row_per_unit(trained):
    model, X, y = trained
    rows = units_table(model, X, y)
    assert [row["unit"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert all(0 <= row["active on"] <= 1 for row in rows)
    assert set(votes(model, 0)) == {"0", "1", "2", "3"}


def test_dead_units_are_flagged(sample):
    params = TrainParams()  # the lesson's settings kill units on real digits
    result = train_mlp(params, sample)
    X, y = training_inputs(params, sample)
    dead = result.dead_units[0]
    assert unit_report(result.model, X, y, dead).dead


def test_mean_images_and_pixel_histogram(small):
    means = mean_images(small, (0, 1))
    assert means.shape == (2, 28, 28)
    np.testing.assert_allclose(means[1].ravel(), small.X[small.y == 1].mean(axis=0))
    histogram = pixel_histogram(small)
    assert histogram.sum() == small.X.size
    assert histogram[255] == np.sum(small.X == 255)
