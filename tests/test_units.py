"""The unit inspector's measurements and the data page's pictures."""

import copy

import numpy as np
import pytest

from core.gallery import mean_images, pixel_histogram
from core.params import TrainParams
from core.train import train_mlp, training_inputs
from core.units import (
    hidden_activations,
    predict_from_hidden,
    unit_report,
    units_table,
    votes,
)


def ablated(model, unit):
    """The plain way to switch a unit off: a copy of the model whose unit reaches no digit."""
    off = copy.deepcopy(model)
    off.coefs_[1][unit, :] = 0.0
    return off


@pytest.fixture(scope="module")
def trained(small):
    params = TrainParams(scale_pixels=True, max_iter=30)
    X, y = training_inputs(params, small)
    return train_mlp(params, small).model, X, y


def test_switching_off_a_unit_with_no_outgoing_weights_changes_nothing(trained):
    model, X, y = trained
    busiest = int(np.argmax(hidden_activations(model, X).mean(axis=0)))
    assert unit_report(model, X, y, busiest).contribution != {d: 0.0 for d in range(4)}
    silent = ablated(model, busiest)  # the same unit, still active, now reaches no digit
    report = unit_report(silent, X, y, busiest)
    assert not report.dead
    assert report.accuracy_off == report.accuracy_on
    assert all(change == 0 for change in report.contribution.values())


def test_switching_off_a_unit_is_zeroing_its_output(trained):
    model, X, y = trained
    off = ablated(model, 0)
    assert not off.coefs_[1][0].any() and model.coefs_[1][0].any()  # the original is untouched
    hidden = hidden_activations(model, X)
    hidden[:, 0] = 0
    logits = hidden @ model.coefs_[1] + model.intercepts_[1]
    np.testing.assert_array_equal(off.predict(X), model.classes_[logits.argmax(axis=1)])
    report = unit_report(model, X, y, 0)
    predicted = off.predict(X)
    assert report.accuracy_off == {d: np.mean(predicted[y == d] == d) for d in range(4)}
    predicted = model.predict(X)
    assert report.accuracy_on == {d: np.mean(predicted[y == d] == d) for d in range(4)}


def test_the_output_layer_alone_predicts_as_scikit_learn_does(small):
    for digits in ((3, 8), (0, 1, 2, 3)):  # one logit, and one per digit
        params = TrainParams(digits=digits, scale_pixels=True, max_iter=20)
        X, _ = training_inputs(params, small)
        model = train_mlp(params, small).model
        np.testing.assert_array_equal(
            predict_from_hidden(model, hidden_activations(model, X)), model.predict(X))


def test_top_and_bottom_images_are_sorted_by_the_units_input(trained):
    model, X, y = trained
    report = unit_report(model, X, y, 1)
    drive = X @ model.coefs_[0][:, 1] + model.intercepts_[0][1]
    assert len(report.top) == len(report.bottom) == 16
    np.testing.assert_array_equal(drive[report.top], np.sort(drive)[::-1][:16])  # strongest first
    np.testing.assert_array_equal(drive[report.bottom], np.sort(drive)[:16])  # most inhibited first
    assert np.all(report.activations[report.top] > 0)
    assert np.all(report.activations[report.bottom] == 0)


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
    accuracy = model.score(X, y)
    for unit, row in enumerate(rows):
        without = np.mean(ablated(model, unit).predict(X) == y)
        assert row["accuracy lost when off"] == pytest.approx(accuracy - without)


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


@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_the_inspector_uses_the_networks_own_activation(small, activation):
    """With tanh, logistic or identity units the outputs are scikit-learn's own (predict agrees),
    and no unit is called dead: that is a ReLU idea."""
    params = TrainParams(scale_pixels=True, max_iter=10, activation=activation)
    X, y = training_inputs(params, small)
    model = train_mlp(params, small).model
    hidden = hidden_activations(model, X)
    assert np.array_equal(predict_from_hidden(model, hidden), model.predict(X))
    report = unit_report(model, X, y, 0)
    assert np.allclose(report.activations, hidden[:, 0])
    assert not report.dead
    if activation != "logistic":
        assert hidden.min() < 0  # not clipped at zero as ReLU would be


def test_with_the_hold_out_switching_a_unit_off_is_scored_on_the_test_images(sample):
    """The inspector's cost of a unit, per digit, on images the network never trained on:
    with the unit on it is the confusion matrix's recall; off, a plain ablated copy's."""
    from core.evaluation import recall_per_digit
    from core.train import held_out_inputs

    params = TrainParams(scale_pixels=True, max_iter=20, holdout=True, digits=(0, 6, 8))
    result = train_mlp(params, sample)
    X, y = training_inputs(params, sample)
    X_test, y_test = held_out_inputs(params, sample)
    report = unit_report(result.model, X, y, 1, held_out=(X_test, y_test))
    assert report.scored_on == "test" and len(report.pre_activations) == len(y)
    recall = recall_per_digit(result.confusion)
    assert list(report.accuracy_on) == list(params.digits)
    assert list(report.accuracy_on.values()) == pytest.approx(recall.tolist())
    predicted = ablated(result.model, 1).predict(X_test)
    assert report.accuracy_off == {d: np.mean(predicted[y_test == d] == d) for d in params.digits}
    table = units_table(result.model, X, y, held_out=(X_test, y_test))
    off = np.mean(predicted == y_test)
    assert table[1]["accuracy lost when off"] == pytest.approx(result.test_accuracy - off)
