"""Training the lesson's MLPClassifier, with a persistent cache and honest diagnostics."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from time import perf_counter
from typing import Literal

import joblib
import numpy as np
from scipy.special import expit
from sklearn.neural_network import MLPClassifier

from core.cache import InMemoryCache, cache_dir, cache_problem, free_space, note_save_failure
from core.data import MnistData
from core.evaluation import evaluate
from core.history import HistoryRecorder, TrainingHistory, probe_rows
from core.params import TrainParams
from core.process import one_blas_thread
from core.sklearn_hooks import initial_first_layer, recording_lbfgs_outcome, watching
from core.units import pre_activations

log = logging.getLogger("mlp_lens")
_trainings = 0
_trainings_lock = threading.Lock()


class TrainingFailed(RuntimeError):
    """Training ran but gave no usable network; the message says why and what to change."""


@dataclass(frozen=True)
class TrainingFailure:
    """The cached outcome of a training that gave no usable network (it diverged).

    Cached like a ``TrainResult``, so the same settings do not train again to
    fail again; ``train_mlp`` raises it as ``TrainingFailed``.
    """

    message: str


TrainingState = Literal["untrained", "trained", "failed"]


@dataclass(frozen=True)
class TrainResult:
    """A fitted network and what a person wants to know about its training."""

    params: TrainParams
    model: MLPClassifier
    n_samples: int
    train_accuracy: float
    n_iter: int
    converged: bool | None  # None: unknown (lbfgs whose scipy result was not seen)
    stop_reason: str
    loss_curve: tuple[float, ...]
    # 0-based units that take no part in learning: ReLU output zero on every training image
    # ("dead"), or tanh/logistic output at its limit on every one ("saturated"); see unit_problem.
    dead_units: tuple[int, ...]
    active_fraction: tuple[float, ...]  # per unit, share of training images its input is > 0 on
    fit_seconds: float
    stopped: bool = False  # stopped by the user before the end: a partial network, not cached
    validation_scores: tuple[float, ...] = ()  # per epoch, with early_stopping only
    history: TrainingHistory | None = None  # None for a stopped network
    # Measured on the held-out test rows of the chosen digits (params.holdout), else None / 0.
    test_accuracy: float | None = None
    confusion: np.ndarray | None = None  # rows: true digit, columns: predicted, params.digits order
    n_test: int = 0

    @property
    def gap(self) -> float | None:
        """Training minus test accuracy: how much better it does on images it has seen."""
        return None if self.test_accuracy is None else self.train_accuracy - self.test_accuracy

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple(w.shape for w in self.model.coefs_)

    @property
    def unit_problem(self) -> str | None:
        """What ``dead_units`` are: "dead", "saturated", or None (identity has neither)."""
        return unit_problem(self.params.activation)


SATURATION = 0.01  # a unit within this of its output's limit is saturated there


def unit_problem(activation: str) -> str | None:
    """How a hidden unit stops learning under ``activation``.

    A ReLU unit whose input is negative on every image outputs zero and gets
    no gradient: "dead". tanh and logistic never output a constant zero, but
    an output within 1 % of its limit (-1 or 1; 0 or 1) has almost no slope,
    so a unit there on every image barely learns: "saturated". identity has
    a slope of 1 everywhere: None.
    """
    return {"relu": "dead", "tanh": "saturated", "logistic": "saturated"}.get(activation)


def make_model(params: TrainParams) -> MLPClassifier:
    """The estimator ``params`` describe: every field with an ``arg`` in the parameter table.

    ``TrainParams()`` gives the lesson's estimator; every setting it leaves
    alone is scikit-learn's default.
    """
    return MLPClassifier(**params.estimator_arguments())


PIXEL_SCALE = 255.0  # "Scale pixels to 0-1" divides by this


def model_inputs(X: np.ndarray, *, scale_pixels: bool) -> np.ndarray:
    """The network's input rows for 0-255 pixels ``X`` (n x 784): float64, 0-1 when scaled.

    The one way pixels become inputs: training, the unit inspector and a drawn
    digit all go through it, and the exported script writes the same two steps.
    """
    inputs = np.asarray(X).astype(np.float64)  # a copy: the caller's pixels never change
    if scale_pixels:
        inputs /= PIXEL_SCALE  # in place: the full data set's float copy is made once
    return inputs


def training_images(params: TrainParams, data: MnistData) -> tuple[np.ndarray, np.ndarray]:
    """The images the network trains on, as stored (uint8 pixels), and their labels.

    Every image of the chosen digits, as the lesson; with ``params.holdout``
    only those on the training side of ``data``'s split.
    """
    return data.subset(params.digits, _training_part(params))


def training_inputs(params: TrainParams, data: MnistData) -> tuple[np.ndarray, np.ndarray]:
    """The images the network trains on as its inputs, and their labels."""
    X, y = training_images(params, data)
    return model_inputs(X, scale_pixels=params.scale_pixels), y


def held_out_inputs(params: TrainParams, data: MnistData) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test rows of the chosen digits as the network's inputs, and their labels."""
    X, y = data.subset(params.digits, "test")
    return model_inputs(X, scale_pixels=params.scale_pixels), y


def _training_part(params: TrainParams) -> str:
    return "train" if params.holdout else "all"


class StopTraining(Exception):
    """Raised by an epoch observer to end training at the end of the current epoch."""


def train_mlp(params: TrainParams, data: MnistData, *, on_epoch=None) -> TrainResult:
    """Train (or load from the persistent cache) the network ``params`` describe on ``data``.

    The cache key is the parameters plus ``data.fingerprint``; the arrays
    themselves are not hashed on every call. ``on_epoch(model)``, if given, is
    called at the end of every epoch (every loss evaluation for lbfgs); it only
    watches, so the network is the same as without it. It may raise
    ``StopTraining``, which propagates and leaves nothing in the cache.
    """
    _check_test_rows(params, data)
    outcome = _kept_in_memory(params, data)
    if outcome is None:
        cached_fit = _cached_fit()
        outcome = cached_fit(params, data.fingerprint, data, on_epoch)
        if not _holds_own(outcome, params):
            # Another setting's network, or no network at all, in this setting's slot (a
            # copied or damaged file): train this one, once, and put it there.
            log.warning("the cache entry for %s does not hold its network; training it "
                        "again", params)
            outcome, _ = cached_fit.call(params, data.fingerprint, data, on_epoch)
        _make_sure_it_is_kept(cached_fit, params, data, outcome)
    if isinstance(outcome, TrainingFailure):
        raise TrainingFailed(outcome.message)
    return outcome


def _kept_in_memory(params: TrainParams, data: MnistData) -> TrainResult | TrainingFailure | None:
    """The outcome held in memory for ``params`` (the cache folder was unusable, or could not
    take it), or None."""
    if _in_memory_fit.check_call_in_cache(params, data.fingerprint, data):
        return _in_memory_fit(params, data.fingerprint, data)
    return None


def _make_sure_it_is_kept(cached_fit, params: TrainParams, data: MnistData,
                          outcome: TrainResult | TrainingFailure) -> None:
    """If the disk cache did not take ``outcome`` (a full disk; joblib only warns): keep it in
    memory, so the page shows it instead of training it again, remove what the failed save
    left, and say why."""
    if cached_fit is _in_memory_fit or \
            cached_fit.check_call_in_cache(params, data.fingerprint, data):
        return
    _in_memory_fit.keep((params, data.fingerprint), outcome)
    folder = cache_dir() / "models"
    free = free_space(folder)
    log.warning("could not save the network for %s in %s (%s); kept in memory", params, folder,
                free or "free space unknown")
    note_save_failure("a trained network could not be saved there" + (f", {free}" if free
                                                                      else ""))
    try:  # joblib's half-written temporary files and the empty entry folder
        call_id = (cached_fit.func_id,
                   cached_fit._get_args_id(params, data.fingerprint, data, None))
        cached_fit.store_backend.clear_item(call_id)
    except (AttributeError, OSError) as exc:
        log.warning("could not clean up the failed save: %s", exc)


def train_once(params: TrainParams, data: MnistData, *, on_epoch=None
               ) -> TrainResult | TrainingFailure:
    """Train without the persistent cache: what a worker process runs (``core.jobs``, a Dask
    sweep's worker). ``on_epoch`` as for ``train_mlp``.

    Returns the network, or the failure saying why there is none (as the cache
    holds it). The caller puts it into its own cache with ``store_trained``.
    """
    _check_test_rows(params, data)
    return _fit(params, data.fingerprint, data, on_epoch)


def store_trained(params: TrainParams, data: MnistData,
                  outcome: TrainResult | TrainingFailure) -> None:
    """Put ``outcome`` (from ``train_once`` in another process) into this process's cache.

    It goes through the cached function itself, so it lands under exactly the
    key ``train_mlp(params, data)`` looks up, with joblib's own bookkeeping.
    """
    cached_fit = _cached_fit()
    cached_fit(params, data.fingerprint, _Delivered(outcome))
    _make_sure_it_is_kept(cached_fit, params, data, outcome)


def describe_partial(params: TrainParams, data: MnistData, model: MLPClassifier, *,
                     epoch: int, seconds: float) -> TrainResult:
    """A result for a network stopped by the user at the end of epoch ``epoch``."""
    X, y = training_inputs(params, data)
    reason = f"stopped by you at epoch {epoch} of {params.max_iter}"
    return _describe(params, model, X, y, converged=False, stop_reason=reason,
                     seconds=seconds, stopped=True, test=_test_set(params, data))


def training_state(params: TrainParams, data: MnistData) -> TrainingState:
    """Whether the cache holds a network for ``params`` on ``data``, a failure, or nothing.

    "untrained": ``train_mlp`` would train; "trained": it would load the network;
    "failed": it would raise ``TrainingFailed`` at once (``cached_failure`` says why).
    """
    outcome = _cached_outcome(params, data)
    if outcome is None:
        return "untrained"
    return "failed" if isinstance(outcome, TrainingFailure) else "trained"


def is_trained(params: TrainParams, data: MnistData) -> bool:
    """Whether ``train_mlp(params, data)`` would load a network from the cache."""
    return training_state(params, data) == "trained"


def cached_failure(params: TrainParams, data: MnistData) -> TrainingFailure | None:
    """The cached failure of ``params`` on ``data``, if its training gave no network."""
    outcome = _cached_outcome(params, data)
    return outcome if isinstance(outcome, TrainingFailure) else None


def _cached_outcome(params: TrainParams, data: MnistData) -> TrainResult | TrainingFailure | None:
    """What the caches hold for ``params`` on ``data``: the disk cache, else the networks kept
    in memory; None when neither holds its network (an entry holding anything else counts as
    nothing: ``train_mlp`` trains it again).

    It loads, never trains, unless the entry vanishes between the check and the load
    (someone clearing the cache just then).
    """
    fit = _cached_fit()
    try:
        if fit.check_call_in_cache(params, data.fingerprint, data):
            outcome = fit(params, data.fingerprint, data)
            return outcome if _holds_own(outcome, params) else None
    except OSError as exc:  # the folder became unreadable since it was checked
        log.warning("could not read the cache for %s: %s", params, exc)
    return _kept_in_memory(params, data)


def trainings_run() -> int:
    """How many networks this process has actually trained (cache hits do not count)."""
    return _trainings


def _cached_fit():
    """The persistent cache of trained networks, or one in memory if the folder is unusable."""
    if cache_problem():
        return _in_memory_fit
    memory = joblib.Memory(cache_dir() / "models", verbose=0)
    return memory.cache(_fit, ignore=["data", "on_epoch"])


def _holds_own(outcome, params: TrainParams) -> bool:
    """Whether a cache entry holds what ``params`` trains to: its network, or the message of
    its failure (not another setting's network, nor a value of some other kind)."""
    if isinstance(outcome, TrainingFailure):
        return isinstance(outcome.message, str)
    try:
        return isinstance(outcome, TrainResult) and _is_network_of(outcome, params)
    except (AttributeError, TypeError, ValueError):  # a damaged TrainResult
        return False


def _is_network_of(result: TrainResult, params: TrainParams) -> bool:
    """Whether ``result`` holds the network ``params`` describe: its settings, classes, shapes."""
    model, n_hidden, n_classes = result.model, params.hidden_units, len(params.digits)
    shapes = [(784, n_hidden), (n_hidden, 1 if n_classes == 2 else n_classes)]
    return (result.params == params
            and model.get_params() == make_model(params).get_params()
            and tuple(int(c) for c in getattr(model, "classes_", ())) == params.digits
            and [w.shape for w in getattr(model, "coefs_", ())] == shapes)


@dataclass(frozen=True)
class _Delivered:
    """An outcome trained elsewhere, handed to the cached ``_fit`` in place of the data."""

    outcome: TrainResult | TrainingFailure


def _fit(params: TrainParams, fingerprint: str, data: MnistData, on_epoch=None
         ) -> TrainResult | TrainingFailure:
    global _trainings
    if isinstance(data, _Delivered):
        return data.outcome
    with _trainings_lock:
        _trainings += 1
    X, y = training_inputs(params, data)
    model = make_model(params)
    recorder = HistoryRecorder(X[probe_rows(len(X))], per_evaluation=params.solver == "lbfgs")
    initial = initial_first_layer(model, X.shape[1])
    log.info("training %s on %d images (data %s)", params, len(y), fingerprint)
    watcher = _TimedObserver(on_epoch)
    with one_blas_thread():
        start = perf_counter()
        try:
            # The lbfgs outcome is read from scipy's result, not from caught warnings:
            # warnings.catch_warnings swaps process-wide state, so with two trainings in two
            # threads one would record the other's ConvergenceWarning, or lose its own.
            with watching(model, _observers(recorder, watcher.observer)), \
                    recording_lbfgs_outcome() as lbfgs:
                model.fit(X, y)
        except ValueError as exc:
            if "non-finite" not in str(exc):
                raise
            return TrainingFailure(_diverged_message(params))
        seconds = perf_counter() - start - watcher.seconds  # the fit's own time
        if not np.isfinite(model.loss_):
            return TrainingFailure(_diverged_message(params))
        converged, stop_reason = _how_it_stopped(params, model, lbfgs)
        return _describe(params, model, X, y, converged=converged, stop_reason=stop_reason,
                         seconds=seconds, test=_test_set(params, data), recorder=recorder,
                         start=initial)


# Where networks are kept while the cache folder is unusable (``_cached_fit``).
_in_memory_fit = InMemoryCache(_fit, key=lambda params, fingerprint, *_: (params, fingerprint))


def _how_it_stopped(params: TrainParams, model: MLPClassifier, lbfgs) -> tuple[bool | None, str]:
    """Whether the fit converged (None: unknown) and why it stopped, in words."""
    if params.solver != "lbfgs":
        # sgd and adam warn exactly when they run all max_iter epochs.
        converged = model.n_iter_ < params.max_iter
        return converged, _stop_reason(params, model, converged)
    if not lbfgs.seen:
        return None, (f"lbfgs stopped after {model.n_iter_} iterations; whether it converged "
                      "is unknown (scipy's result was not seen)")
    if lbfgs.converged:
        return True, f"lbfgs converged after {model.n_iter_} iterations"
    return False, (f"lbfgs stopped after {model.n_iter_} iterations without converging "
                   f"(scipy: {lbfgs.message})")


class _TimedObserver:
    """``on_epoch`` with the time spent in it counted, so that the training time shown is the
    fit's own: a live view's snapshots, and a pause, are not training."""

    def __init__(self, on_epoch):
        self.on_epoch, self.seconds = on_epoch, 0.0

    @property
    def observer(self):
        return None if self.on_epoch is None else self._observe

    def _observe(self, model) -> None:
        start = perf_counter()
        try:
            self.on_epoch(model)
        finally:
            self.seconds += perf_counter() - start


def _check_test_rows(params: TrainParams, data: MnistData) -> None:
    """Refuse, before any training, to hold out a test set that has no images."""
    if params.holdout and sum(data.counts(params.digits, "test").values()) == 0:
        digits = ", ".join(map(str, params.digits))
        raise TrainingFailed(
            f"The test side of this data's split has no images of the digits {digits}, so "
            "there is nothing to measure the network on. Pick other digits, or untick "
            "'Hold out MNIST's test digits' to train on every image.")


def _test_set(params: TrainParams, data: MnistData):
    return held_out_inputs(params, data) if params.holdout else None


def _observers(recorder: HistoryRecorder, on_epoch):
    """One observer: the history's recorder first, then the caller's (which may stop the fit)."""
    if on_epoch is None:
        return recorder

    def both(model):
        recorder(model)
        on_epoch(model)

    return both


def _describe(params, model, X, y, *, converged, stop_reason, seconds, stopped=False,
              test=None, recorder=None, start=None):
    active = _active_fraction(model, X)
    scores = getattr(model, "validation_scores_", None) or ()
    test_accuracy, confusion = evaluate(model, *test, params.digits) if test else (None, None)
    stuck = tuple(int(i) for i in _stuck_units(model, X))
    # Only a ReLU unit dies; the history says when, for the units dead on every training image.
    dead = stuck if unit_problem(params.activation) == "dead" else ()
    history = recorder.finish(model, dead_units=dead, start=start) if recorder else None
    return TrainResult(
        params=params,
        model=model,
        n_samples=len(y),
        train_accuracy=float(model.score(X, y)),
        n_iter=int(getattr(model, "n_iter_", 0)),
        converged=converged,
        stop_reason=stop_reason,
        loss_curve=tuple(float(v) for v in getattr(model, "loss_curve_", ())),
        dead_units=stuck,
        active_fraction=tuple(float(f) for f in active),
        fit_seconds=seconds,
        stopped=stopped,
        validation_scores=tuple(float(v) for v in scores),
        test_accuracy=test_accuracy,
        confusion=confusion,
        n_test=0 if test is None else len(test[1]),
        history=history,
    )


def _active_fraction(model: MLPClassifier, X: np.ndarray) -> np.ndarray:
    """Per hidden unit, the fraction of rows of ``X`` on which its input is positive
    (for ReLU: on which it is active)."""
    return (pre_activations(model, X) > 0).mean(axis=0)


def _stuck_units(model: MLPClassifier, X: np.ndarray) -> np.ndarray:
    """The hidden units that are dead or saturated (``unit_problem``) on every row of ``X``."""
    pre = pre_activations(model, X)
    if model.activation == "relu":
        stuck = pre <= 0
    elif model.activation == "tanh":
        stuck = np.abs(np.tanh(pre)) >= 1 - SATURATION
    elif model.activation == "logistic":
        out = expit(pre)
        stuck = (out <= SATURATION) | (out >= 1 - SATURATION)
    else:
        stuck = np.zeros_like(pre, dtype=bool)
    return np.flatnonzero(stuck.all(axis=0))


def _stop_reason(params: TrainParams, model: MLPClassifier, converged: bool) -> str:
    if not converged:
        return (
            f"stopped at max_iter = {params.max_iter} before converging "
            "(scikit-learn's ConvergenceWarning: the optimization hasn't converged yet)"
        )
    if params.early_stopping and params.solver != "lbfgs":
        return (
            f"stopped early: the accuracy on the {params.validation_fraction:.0%} of images set "
            f"aside improved by less than tol = {model.tol:g} for {model.n_iter_no_change} "
            f"epochs in a row (best {model.best_validation_score_:.1%}; the network kept is "
            "the one with that score)"
        )
    return (
        f"converged: the training loss improved by less than tol = {model.tol:g} "
        f"for {model.n_iter_no_change} epochs in a row"
    )


def dead_units_cause(params: TrainParams) -> str:
    """Why units die (or saturate) under ``params``, and what usually avoids it, in plain words."""
    if unit_problem(params.activation) == "saturated":
        return _saturated_cause(params)
    if not params.scale_pixels:
        return (f"The pixels are raw 0–255 values, so {params.solver}'s first steps are huge and "
                "push these units below zero for every image, where their gradient is zero and "
                "they never recover.")
    remedies = "a smaller alpha or another random_state"
    if params.solver != "lbfgs":
        remedies = "a smaller learning_rate_init, " + remedies
    return ("An update pushed these units below zero for every image, where their gradient is "
            f"zero; {remedies} usually avoids it.")


def _saturated_cause(params: TrainParams) -> str:
    if not params.scale_pixels:
        return (f"The pixels are raw 0–255 values, so these units' weighted inputs are huge and "
                f"{params.activation} sits at its limit for every image, where its slope is "
                "almost zero: hardly any gradient passes, so they barely learn.")
    remedies = "a larger alpha (smaller weights) or another random_state"
    if params.solver != "lbfgs":
        remedies = "a smaller learning_rate_init, " + remedies
    return (f"Training pushed these units' weighted inputs so far from zero that "
            f"{params.activation} sits at its limit for every image, where its slope is almost "
            f"zero; {remedies} usually avoids it.")


def _diverged_message(params: TrainParams) -> str:
    hint = (
        "Tick 'Scale pixels to 0-1'"
        if not params.scale_pixels
        else "Lower learning_rate_init"
    )
    return (
        f"Training diverged: the weights became infinite or NaN "
        f"(solver={params.solver}, learning_rate_init={params.learning_rate_init:g}). {hint}."
    )
