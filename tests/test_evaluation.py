"""Held-out evaluation: scikit-learn's numbers, the most confident mistakes, the figures."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from core.evaluation import (
    confident_mistakes,
    confusion_figure,
    evaluate,
    mistakes_figure,
    recall_per_digit,
)
from core.params import TrainParams
from core.train import held_out_inputs, train_mlp
from core.weights import NARROW_COLUMN_PX, WIDE_COLUMN_PX, figure_png
from tests.readable import EXPLORE_NARROW, EXPLORE_WIDE, assert_readable_chart

PARAMS = TrainParams(digits=(2, 3, 5), scale_pixels=True, max_iter=12, holdout=True)


@pytest.fixture(scope="module")
def trained(sample):
    return train_mlp(PARAMS, sample)


def test_the_numbers_are_scikit_learns(trained, sample):
    X, y = held_out_inputs(PARAMS, sample)
    accuracy, confusion = evaluate(trained.model, X, y, PARAMS.digits)
    assert accuracy == trained.test_accuracy == accuracy_score(y, trained.model.predict(X))
    np.testing.assert_array_equal(confusion, trained.confusion)
    recall = recall_per_digit(confusion)
    for i, digit in enumerate(PARAMS.digits):
        assert recall[i] == pytest.approx(np.mean(trained.model.predict(X[y == digit]) == digit))
    with pytest.raises(ValueError, match="no images"):
        evaluate(trained.model, X[:0], y[:0], PARAMS.digits)


def test_a_digit_without_test_images_has_no_recall_not_a_division_by_zero():
    recall = recall_per_digit(np.array([[3, 1], [0, 0]]))
    assert recall[0] == 0.75 and np.isnan(recall[1])


def test_the_most_confident_mistakes_are_wrong_and_in_order(trained, sample):
    """Every one is a mistake; none left out is more confident; captions say true → predicted."""
    X, y = held_out_inputs(PARAMS, sample)
    mistakes = confident_mistakes(trained.model, X, y, n=8)
    probabilities = trained.model.predict_proba(X)
    predicted = trained.model.predict(X)
    wrong = np.flatnonzero(predicted != y)
    assert mistakes.n_wrong == len(wrong) == trained.n_test - np.trace(trained.confusion)
    assert len(mistakes.rows) == min(8, len(wrong))
    assert np.all(predicted[mistakes.rows] != y[mistakes.rows])
    np.testing.assert_array_equal(mistakes.true, y[mistakes.rows])
    shown = probabilities[mistakes.rows].max(axis=1)
    assert np.all(np.diff(shown) <= 0)
    rest = np.setdiff1d(wrong, mistakes.rows)
    assert rest.size == 0 or probabilities[rest].max() <= shown.min()
    first = mistakes.captions()[0]
    assert first == f"{y[mistakes.rows[0]]} → {predicted[mistakes.rows[0]]} ({shown[0]:.0%})"


def test_the_figures_draw_counts_recall_and_captions(trained, sample):
    figure = confusion_figure(trained.confusion, PARAMS.digits)
    texts = {t.get_text() for t in figure.axes[0].texts}
    assert {f"{count:,}" for count in trained.confusion.ravel()} <= texts
    assert figure_png(figure).startswith(b"\x89PNG")
    X, y = held_out_inputs(PARAMS, sample)
    mistakes = confident_mistakes(trained.model, X, y)
    images = sample.subset(PARAMS.digits, "test")[0][mistakes.rows]
    figure = mistakes_figure(images, mistakes)
    titles = " ".join(text.get_text() for text in figure.texts)  # wrapped above each image
    assert titles.split() == " ".join(mistakes.captions()).split()
    assert figure_png(figure).startswith(b"\x89PNG")


@pytest.mark.parametrize("digits", [(2, 3, 5), tuple(range(10))])
def test_the_evaluation_text_is_as_large_as_the_captions(sample, digits):
    """The confusion matrix in Explore's narrow column and the mistakes in its wide one: no
    text under 14 px at 1400, 1024 or 390 wide (the mistakes' titles were 4.6 px on a tablet),
    none over about 21."""
    params = TrainParams(digits=digits, scale_pixels=True, max_iter=12, holdout=True)
    result = train_mlp(params, sample)
    X, y = held_out_inputs(params, sample)
    mistakes = confident_mistakes(result.model, X, y)
    images = sample.subset(digits, "test")[0][mistakes.rows]
    assert_readable_chart(confusion_figure(result.confusion, digits), EXPLORE_NARROW,
                          NARROW_COLUMN_PX)
    assert_readable_chart(mistakes_figure(images, mistakes), EXPLORE_WIDE, WIDE_COLUMN_PX)
