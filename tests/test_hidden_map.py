"""The hidden layer's map: scikit-learn's PCA of the activations, at any replayed epoch, with
honest numbers and a caption that reads it."""

import pickle
from dataclasses import replace

import numpy as np
import pytest
from sklearn.decomposition import PCA

from core.hidden_map import (
    MAX_POINTS,
    NetworkAt,
    hidden_map,
    map_caption,
    map_images,
    map_spec,
    network_at,
    sample_rows,
    together,
)
from core.params import TrainParams
from core.train import train_mlp, training_inputs

GOOD = TrainParams(max_iter=10, scale_pixels=True)
LESSON = TrainParams(max_iter=10)  # unscaled pixels: most units die at once


@pytest.fixture(scope="module")
def good(sample):
    return train_mlp(GOOD, sample)


@pytest.fixture(scope="module")
def lesson(sample):
    return train_mlp(LESSON, sample)


def test_the_map_is_scikit_learns_pca_of_the_relu_activations(good, sample):
    """At the end of training the map's coordinates are PCA(2) of max(X W + b, 0), computed
    here from the model's own coefs_ and intercepts_, each axis turned so the 0s' mean is on
    its negative side."""
    X, y, images = map_images(GOOD, sample)
    assert images == "training image" and len(y) <= MAX_POINTS
    hmap = hidden_map(X, y, network_at(good.model, good.history, good.history.epochs[-1]))
    model = good.model
    expected = PCA(n_components=2).fit_transform(
        np.maximum(X @ model.coefs_[0] + model.intercepts_[0], 0))
    signs = np.where(expected[y == 0].mean(axis=0) > 0, -1.0, 1.0)
    np.testing.assert_allclose(hmap.points, expected * signs, rtol=1e-9, atol=1e-9)
    assert (hmap.points[y == 0].mean(axis=0) < 0).all()
    np.testing.assert_array_equal(hmap.predicted, model.predict(X))
    assert hmap.means[0] == pytest.approx(tuple(hmap.points[y == 0].mean(axis=0)))


def test_the_history_records_every_layer_and_an_earlier_epoch_is_that_network(good, sample):
    """The history keeps the hidden biases and the output layer at each frame; its last frame
    is the final model, and the map at epoch 4 is the map of the same training stopped after
    4 epochs (sgd's first epochs do not depend on max_iter)."""
    history = good.history
    frames, model = len(history.epochs), good.model
    assert history.hidden_biases.shape == (frames, 6)
    assert history.output_weights.shape == (frames, 6, 4)
    assert history.output_biases.shape == (frames, 4)
    for recorded, final in ((history.hidden_weights, model.coefs_[0]),
                            (history.hidden_biases, model.intercepts_[0]),
                            (history.output_weights, model.coefs_[1]),
                            (history.output_biases, model.intercepts_[1])):
        np.testing.assert_array_equal(recorded[-1], final.astype(np.float32))
    X, y = training_inputs(GOOD, sample)
    at_4 = hidden_map(X, y, network_at(model, history, 4))
    stopped = train_mlp(replace(GOOD, max_iter=4), sample).model
    expected = hidden_map(X, y, network_at(stopped, None, None))
    np.testing.assert_allclose(at_4.points, expected.points, atol=1e-4)  # float32 frames
    assert np.mean(at_4.predicted == expected.predicted) > 0.995
    assert not np.allclose(at_4.points, hidden_map(X, y, network_at(model, history, 10)).points)


def test_neighbours_tell_the_digits_apart_for_a_good_network_and_not_for_a_dead_one(
        good, lesson, sample):
    """Nearest-neighbour accuracy is high where the layer keeps the digits apart and near
    chance (a quarter) for the lesson's network, whose every image lands on one line."""
    X, y, _ = map_images(GOOD, sample)
    fine = hidden_map(X, y, network_at(good.model, good.history, None))
    assert 0.7 < fine.knn_map <= fine.knn_full + 0.02 and fine.knn_full < 1
    assert fine.rank == 6 and fine.silent == ()
    X, y, _ = map_images(LESSON, sample)
    dead = hidden_map(X, y, network_at(lesson.model, lesson.history, None))
    assert len(lesson.dead_units) == 5 and dead.silent == lesson.dead_units
    assert dead.rank == 1 and 0 <= dead.knn_map < 0.35 and dead.knn_full < 0.35
    caption = map_caption(dead, activation="relu")
    assert caption.startswith("With 5 of 6 units dead every image lands on one line: the "
                              "network has one number to tell four digits apart.")
    assert "no better than chance (25% for four digits)" in caption
    assert not dead.points[:, 1].any()  # a line: nothing on the second axis
    assert [digits for digits, _ in together(dead)] == [(0, 1, 2, 3)]  # one ring, four digits
    assert "overlap most" in map_caption(fine, activation="relu")


def test_a_layer_with_every_unit_dead_is_one_point(good, sample):
    """Negative biases and no weights: every image gets the same (zero) activations."""
    X, y, _ = map_images(GOOD, sample)
    model = good.model
    silent = NetworkAt(np.zeros_like(model.coefs_[0]), -np.ones(6), model.coefs_[1],
                       model.intercepts_[1], "relu", model.classes_, epoch=1, final=False)
    for method in ("pca", "tsne"):
        hmap = hidden_map(X[:200], y[:200], silent, method=method)
        assert hmap.rank == 0 and not hmap.points.any() and len(hmap.silent) == 6
        assert map_caption(hmap, activation="relu").startswith(
            "Every image lands on one point: with 6 of 6 units dead, the hidden layer")


def test_t_sne_places_the_images_and_keeps_the_digits_apart(good, small):
    X, y = training_inputs(GOOD, small)
    rows = np.concatenate([np.flatnonzero(y == d)[:40] for d in range(4)])  # t-SNE is slow
    X, y = X[rows], y[rows]
    hmap = hidden_map(X, y, network_at(good.model, good.history, None), method="tsne")
    assert hmap.points.shape == (len(y), 2) and np.isfinite(hmap.points).all()
    assert hmap.variance_share is None and 0.7 < hmap.knn_map <= 1
    assert "t-SNE puts images whose activations are alike close together" in map_caption(
        hmap, activation="relu")


def test_a_large_set_is_sampled_by_digit():
    y = np.repeat([0, 1, 2], [3000, 1000, 500])
    rows = sample_rows(y, size=900)
    assert len(rows) == 900 and list(rows) == sorted(set(rows))
    assert np.bincount(y[rows]).tolist() == [600, 200, 100]


def test_the_chart_has_a_dot_per_image_and_a_ring_per_digit(good, sample):
    X, y, images = map_images(GOOD, sample)
    hmap = hidden_map(X, y, network_at(good.model, good.history, None))
    spec = map_spec(hmap, images=images)
    dots, rings = spec["layer"]
    header, *rows = dots["data"]["values"].split("\n")
    assert header == "x,y,digit,image,predicted" and len(rows) == len(y)
    x, y_, digit, image, predicted = rows[5].split(",")
    assert (float(x), float(y_)) == pytest.approx(tuple(hmap.points[5]), rel=1e-4)
    assert (digit, image, predicted) == (str(y[5]), "5", str(hmap.predicted[5]))
    assert [d["label"] for d in rings["data"]["values"]] == ["0", "1", "2", "3"]
    assert [t["title"] for t in dots["encoding"]["tooltip"]] == [
        "training image", "true digit", "network's answer"]
    assert dots["encoding"]["x"]["title"].startswith("PCA axis 1 (")


def test_a_history_cached_before_the_layers_were_recorded_still_loads(good):
    """An old pickled history has no hidden biases: it loads, and the map falls back to the
    fitted network at the end of training."""
    old = replace(good.history)
    for name in ("hidden_biases", "output_weights", "output_biases"):
        vars(old).pop(name)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.hidden_biases is None and not loaded.has_whole_network
    network = network_at(good.model, loaded, 2)
    assert network.final and network.epoch == loaded.epochs[-1]
