"""The hidden layer's map: each image's hidden activations (one value per unit), drawn in 2-D.

Every image becomes a point of as many numbers as the layer has units; the output
layer sees nothing else. Projected to two dimensions, the points show what the
hidden layer makes of the digits: apart, overlapping, or, with units dead, pressed
onto a line or a single point.

- **PCA** (the default, instant) is refitted at each epoch: the map is the best
  flat view of *that* epoch's activations, so distances on it mean the same thing
  at every epoch. PCA's own signs may flip from one epoch to the next, so each
  axis is turned to put the first digit's images on its negative side on
  average: the 0s stay on the left (and below) as the replay moves.
- **t-SNE** (scikit-learn's, fixed ``random_state``) keeps neighbours together
  rather than distances; it takes seconds, so it places at most ``TSNE_POINTS``
  images.

How well the map separates the digits is measured by ``NEIGHBOURS``-nearest-neighbour
accuracy under stratified ``FOLDS``-fold cross-validation (each image's digit
guessed from its neighbours in the other folds), on the 2-D points and on the
full activations of the same images: what the picture loses is the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from core.charts import digit_scatter_spec
from core.data import MnistData
from core.history import TrainingHistory
from core.params import TrainParams
from core.train import held_out_inputs, training_inputs
from core.units import activate, labels_from_logits

METHODS = ("pca", "tsne")
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE"}
MAX_POINTS = 2000  # images on a PCA map: a stratified sample when there are more
TSNE_POINTS = 1000  # t-SNE's cost grows fast: about 5 s for 1,000 images on one core
NEIGHBOURS, FOLDS = 5, 5
SEED = 0  # the sample, the folds and t-SNE: the same map every time
FLAT = 1e-6  # a direction with less than this share of the largest spread counts as none


@dataclass(frozen=True, eq=False)
class NetworkAt:
    """A network's layers at one epoch, from its recorded history or the fitted model."""

    hidden_weights: np.ndarray  # (784, units)
    hidden_biases: np.ndarray  # (units,)
    output_weights: np.ndarray  # (units, outputs)
    output_biases: np.ndarray  # (outputs,)
    activation: str
    classes: np.ndarray
    epoch: int | None  # None: the fitted model, which has no history
    final: bool  # the fitted model itself (at the last epoch, or standing in for a lost one)

    def hidden(self, X: np.ndarray) -> np.ndarray:
        """The hidden layer's outputs for the inputs ``X``: (images, units)."""
        return activate(self.activation, X @ self.hidden_weights + self.hidden_biases)

    def predict_from_hidden(self, hidden: np.ndarray) -> np.ndarray:
        return labels_from_logits(hidden @ self.output_weights + self.output_biases,
                                  self.classes)


def network_at(model: MLPClassifier, history: TrainingHistory | None,
               epoch: int | None) -> NetworkAt:
    """The network as it was at ``epoch``: the fitted model at the last epoch (and when there
    is no history, or the history predates the recording of every layer), else the frame."""
    fitted = NetworkAt(model.coefs_[0], model.intercepts_[0], model.coefs_[1],
                       model.intercepts_[1], model.activation, model.classes_,
                       epoch=None if history is None else history.epochs[-1], final=True)
    if history is None or epoch is None or not history.has_whole_network:
        return fitted
    frame = history.frame(epoch)
    if frame == len(history.epochs) - 1:
        return fitted
    return NetworkAt(history.hidden_weights[frame], history.hidden_biases[frame],
                     history.output_weights[frame], history.output_biases[frame],
                     model.activation, model.classes_, epoch=history.epochs[frame], final=False)


def map_images(params: TrainParams, data: MnistData) -> tuple[np.ndarray, np.ndarray, str]:
    """The images a map shows, as the network's inputs, their digits, and what they are: the
    held-out test images when there are any, else the training images."""
    if params.holdout:
        return (*held_out_inputs(params, data), "test image")
    return (*training_inputs(params, data), "training image")


def sample_rows(y: np.ndarray, *, size: int = MAX_POINTS) -> np.ndarray:
    """Row numbers of at most ``size`` images, each digit in its share (stratified), in order."""
    if len(y) <= size:
        return np.arange(len(y))
    rows, _ = train_test_split(np.arange(len(y)), train_size=size, stratify=y,
                               random_state=SEED)
    return np.sort(rows)


@dataclass(frozen=True, eq=False)
class HiddenMap:
    """Where each image lands, and how well the map (and the full layer) separates digits."""

    method: str  # "pca" or "tsne"
    points: np.ndarray  # (images, 2)
    rows: np.ndarray  # each point's image: its row in the images the map was given
    true: np.ndarray
    predicted: np.ndarray  # the network's digit at this epoch
    means: dict[int, tuple[float, float]]  # each digit's mean point
    knn_map: float | None  # nearest-neighbour accuracy on the 2-D points (None: too few images)
    knn_full: float | None  # ... on all the hidden activations
    overlap: tuple[int, int, float] | None  # the two digits most mixed up on the map, how often
    rank: int  # how many directions the activations spread in (0: a point, 1: a line)
    units: int
    silent: tuple[int, ...]  # units with the same output on every image shown
    variance_share: tuple[float, float] | None  # PCA: each axis's share of the spread
    n_images: int  # images the map could show (``len(rows)`` are shown)

    @property
    def digits(self) -> tuple[int, ...]:
        return tuple(self.means)

    @property
    def accuracy(self) -> float:
        """How often the network's answer at this epoch is right, on the images shown."""
        return float(np.mean(self.predicted == self.true))


def hidden_map(X: np.ndarray, y: np.ndarray, network: NetworkAt, *, method: str = "pca"
               ) -> HiddenMap:
    """The map of the images ``X`` (the network's inputs) with digits ``y``.

    At most ``MAX_POINTS`` images (``TSNE_POINTS`` for t-SNE), sampled by digit.

    t-SNE and the neighbour search run on one OpenMP thread: on a busy 2-core server their
    threads wait for each other (t-SNE of 286 images took 13 s with two, 1.3 s with one).
    The limit is per thread (``omp_set_num_threads``), so other visitors are not affected.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (got {method!r}).")
    with threadpool_limits(limits=1, user_api="openmp"):
        return _hidden_map(X, y, network, method=method)


def _hidden_map(X: np.ndarray, y: np.ndarray, network: NetworkAt, *, method: str) -> HiddenMap:
    total = len(y)
    rows = sample_rows(y, size=MAX_POINTS if method == "pca" else TSNE_POINTS)
    X, y = X[rows], np.asarray(y)[rows]
    hidden = network.hidden(X)
    if method == "pca":
        points, share = pca_points(hidden, y)
    else:
        points, share = tsne_points(hidden), None
    labels_map, knn_map = _neighbour_guesses(points, y)
    _, knn_full = _neighbour_guesses(hidden, y)
    digits = [int(d) for d in np.unique(y)]
    return HiddenMap(
        method=method, points=points, rows=rows, true=y,
        predicted=network.predict_from_hidden(hidden),
        means={d: tuple(float(v) for v in points[y == d].mean(axis=0)) for d in digits},
        knn_map=knn_map, knn_full=knn_full,
        overlap=None if labels_map is None else most_mixed(y, labels_map),
        rank=spread_rank(hidden), units=hidden.shape[1],
        silent=tuple(int(u) for u in np.flatnonzero(np.ptp(hidden, axis=0) == 0)),
        variance_share=share, n_images=total,
    )


def spread_rank(hidden: np.ndarray) -> int:
    """In how many directions the activations spread: 0 when every image has the same ones
    (a point), 1 when they differ along one direction only (a line)."""
    centred = hidden - hidden.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False)
    if len(spread) == 0 or spread[0] <= FLAT * max(1.0, float(np.abs(hidden).max())):
        return 0
    return int(np.sum(spread > FLAT * spread[0]))


def pca_points(hidden: np.ndarray, y: np.ndarray
               ) -> tuple[np.ndarray, tuple[float, float] | None]:
    """The activations on their two principal axes (refitted on these images), each axis
    turned so the first digit's mean is on its negative side, and each axis's share of the
    spread. A layer with no spread is one point; one that spreads along a line (or has one
    unit) has only the first axis: the second is 0, not PCA's rounding noise."""
    points = np.zeros((len(hidden), 2))
    if spread_rank(hidden) == 0:
        return points, None
    pca = PCA(n_components=min(2, hidden.shape[1]))
    found = pca.fit_transform(hidden)
    first = y == np.min(y)
    found *= np.where(found[first].mean(axis=0) > 0, -1.0, 1.0)
    kept = min(found.shape[1], spread_rank(hidden))  # a line's second axis is rounding noise
    points[:, :kept] = found[:, :kept]
    share = np.zeros(2)
    share[:found.shape[1]] = pca.explained_variance_ratio_
    return points, (float(share[0]), float(share[1]))


def tsne_points(hidden: np.ndarray) -> np.ndarray:
    """scikit-learn's t-SNE of the activations (one point when they do not spread at all)."""
    if spread_rank(hidden) == 0 or len(hidden) < 4:
        return np.zeros((len(hidden), 2))
    perplexity = min(30.0, (len(hidden) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca",
                random_state=SEED).fit_transform(hidden)


def _neighbour_guesses(points: np.ndarray, y: np.ndarray
                       ) -> tuple[np.ndarray | None, float | None]:
    """Each image's digit as its nearest neighbours in the other folds guess it, and how often
    that is right; (None, None) when a digit has too few images for two folds."""
    fewest = int(np.bincount(y)[np.unique(y)].min())
    folds = min(FOLDS, fewest)
    if folds < 2:
        return None, None
    knn = KNeighborsClassifier(n_neighbors=min(NEIGHBOURS, len(y) - len(y) // folds))
    guesses = cross_val_predict(knn, points, y, cv=StratifiedKFold(
        folds, shuffle=True, random_state=SEED))
    return guesses, float(np.mean(guesses == y))


def most_mixed(y: np.ndarray, guesses: np.ndarray) -> tuple[int, int, float] | None:
    """The two digits whose images are most often guessed as each other, and the share of
    their images so guessed; None when no image is guessed wrong."""
    digits = [int(d) for d in np.unique(y)]
    worst = None
    for i, a in enumerate(digits):
        for b in digits[i + 1:]:
            pair = (y == a) | (y == b)
            mixed = np.sum((y == a) & (guesses == b)) + np.sum((y == b) & (guesses == a))
            share = float(mixed / pair.sum())
            if mixed and (worst is None or share > worst[2]):
                worst = (a, b, share)
    return worst


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(n: int) -> str:
    return _WORDS[n] if n < len(_WORDS) else str(n)


def map_caption(hmap: HiddenMap, *, activation: str) -> str:
    """The map read for a learner: its shape and why, the digits it mixes up most, and how
    much the flat picture loses against the whole layer."""
    return " ".join(part for part in (_shape_text(hmap, activation), _overlap_text(hmap),
                                      _loss_text(hmap)) if part)


def _silent_words(hmap: HiddenMap, activation: str) -> str:
    """'5 of 6 units dead', or 'stuck' for a unit that is not a ReLU."""
    word = "dead" if activation == "relu" else "stuck at one value"
    return f"{len(hmap.silent)} of {hmap.units} units {word}"


def _shape_text(hmap: HiddenMap, activation: str) -> str:
    digits = f"{_count(len(hmap.digits))} digits"
    if hmap.rank == 0:
        answer = int(np.bincount(hmap.predicted.astype(int)).argmax())
        why = f"with {_silent_words(hmap, activation)}, " if hmap.silent else ""
        return (f"Every image lands on one point: {why}the hidden layer gives every image the "
                f"same numbers, so the network cannot tell the {digits} apart (it answers "
                f"{answer} for {np.mean(hmap.predicted == answer):.0%} of them).")
    if hmap.rank == 1:
        if hmap.silent and len(hmap.silent) == hmap.units - 1:
            why = f"With {_silent_words(hmap, activation)} every image lands on one line"
        elif hmap.units == 1:
            why = "With one hidden unit every image lands on one line"
        else:
            why = "Every image lands on one line (the units' outputs rise and fall together)"
        return f"{why}: the network has one number to tell {digits} apart."
    dead = f"{_silent_words(hmap, activation)}; " if hmap.silent else ""
    if hmap.method == "tsne":
        return (f"{dead[:1].upper()}{dead[1:]}t-SNE puts images whose activations are alike "
                "close together; the sizes of the clusters and the gaps between them mean "
                "little.")
    kept = sum(hmap.variance_share or (0.0, 0.0))
    return (f"{dead[:1].upper()}{dead[1:]}{'the' if dead else 'The'} activations spread in "
            f"{_count(hmap.rank)} directions; these two axes hold {kept:.0%} of the spread.")


def _overlap_text(hmap: HiddenMap) -> str:
    if hmap.knn_map is None:
        return ""
    chance = 1 / len(hmap.digits)
    if hmap.knn_map < chance + 0.05:
        return (f"The digits are all mixed together: the nearest neighbours on the map guess an "
                f"image's digit no better than chance ({chance:.0%} for {_count(len(hmap.digits))}"
                " digits).")
    if hmap.overlap is None:
        return "No two digits overlap: every image's nearest neighbours on the map share its digit."
    a, b, share = hmap.overlap
    return (f"{a} and {b} overlap most: the nearest neighbours on the map take {share:.0%} of "
            "their images for the other digit.")


def _loss_text(hmap: HiddenMap) -> str:
    if hmap.knn_map is None or hmap.knn_full is None or hmap.rank == 0:
        return ""
    if hmap.knn_full < 1 / len(hmap.digits) + 0.05:
        return (f"With all {hmap.units} activations it is no better "
                f"({hmap.knn_full:.0%}): the hidden layer itself does not keep the digits apart.")
    if hmap.units <= 2 and hmap.method == "pca":
        return f"With {_count(hmap.units)} units the map is the whole layer."
    numbers = (f"the {NEIGHBOURS} nearest neighbours name an image's digit {hmap.knn_map:.0%} "
               f"of the time on the map, {hmap.knn_full:.0%} with all {hmap.units} activations")
    if hmap.knn_full - hmap.knn_map <= 0.03:
        return f"The map loses little of the layer: {numbers}."
    return (f"The flat map hides some of what the layer separates: {numbers}.")


def together(hmap: HiddenMap, *, near: float = 0.04) -> list[tuple[tuple[int, ...], tuple]]:
    """The digits' means, those closer than ``near`` of the map's width and height to another
    merged (their mean): rings drawn on top of each other could not be read."""
    span = np.ptp(hmap.points, axis=0)
    span[span == 0] = 1.0
    groups: list[list[int]] = []
    for digit, mean in hmap.means.items():
        for group in groups:
            if np.all(np.abs(np.subtract(mean, hmap.means[group[0]])) < near * span):
                group.append(digit)
                break
        else:
            groups.append([digit])
    return [(tuple(g), tuple(np.mean([hmap.means[d] for d in g], axis=0).tolist()))
            for g in groups]


def map_spec(hmap: HiddenMap, *, images: str = "image") -> dict:
    """The map as a Vega-Lite scatter: a dot per image (hover: its number among ``images``,
    its digit and the network's answer), each digit's mean as a ringed digit."""
    points = {"x": hmap.points[:, 0], "y": hmap.points[:, 1], "digit": hmap.true,
              "image": hmap.rows, "predicted": hmap.predicted}
    centres = [{"x": x, "y": y, "digits": digits} for digits, (x, y) in together(hmap)]
    name = METHOD_NAMES[hmap.method]
    x_label, y_label = f"{name} axis 1", f"{name} axis 2"
    if hmap.variance_share is not None:
        x_label += f" ({hmap.variance_share[0]:.0%} of the spread)"
        y_label += f" ({hmap.variance_share[1]:.0%})"
    return digit_scatter_spec(points, centres, x_label=x_label, y_label=y_label, tooltip={
        "image": images, "digit": "true digit", "predicted": "network's answer"})
