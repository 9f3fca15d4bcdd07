"""The one place MLP Lens reaches into scikit-learn's private code.

``MLPClassifier`` has no per-epoch callback and does not keep scipy's lbfgs
result, so these private names are used: the method each solver calls once per
epoch (``_update_no_improvement_count`` for sgd and adam, ``_loss_grad_lbfgs``
per lbfgs loss evaluation), the module function ``_check_optimize_result``
that lbfgs hands scipy's result to, and ``_init_coef``, which draws the
weights a fit starts from (the history shows them). They were checked against scikit-learn
``CHECKED_WITH``. Importing this module checks that they are still there and
still called where we expect: with another scikit-learn that renamed them, it
fails at import with a message saying so, rather than a training that never
reports an epoch or a convergence flag that is silently wrong.

Importing it changes nothing: every hook is installed only for the duration of
one ``with`` block, on one instance or for one thread's fit.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier
from sklearn.neural_network import _multilayer_perceptron as _mlp
from sklearn.utils import check_random_state

CHECKED_WITH = "1.9.1"
EPOCH_METHODS = {"lbfgs": "_loss_grad_lbfgs", "sgd": "_update_no_improvement_count",
                 "adam": "_update_no_improvement_count"}
_RESULT_CHECK = "_check_optimize_result"


def _missing_hooks() -> list[str]:
    """What this module needs from scikit-learn and does not find, in words."""
    base = getattr(_mlp, "BaseMultilayerPerceptron", None)
    found = []
    if not callable(getattr(_mlp, _RESULT_CHECK, None)):
        found.append(f"sklearn.neural_network._multilayer_perceptron.{_RESULT_CHECK}")
    for method in sorted(set(EPOCH_METHODS.values())):
        if not callable(getattr(MLPClassifier, method, None)):
            found.append(f"MLPClassifier.{method}")
    if not callable(getattr(base, "_init_coef", None)):
        found.append("BaseMultilayerPerceptron._init_coef")
    # Present is not enough: the fit loops must call them (by name) for the hooks to see anything.
    for loop, names in (("_fit_lbfgs", ("_loss_grad_lbfgs", _RESULT_CHECK)),
                        ("_fit_stochastic", ("_update_no_improvement_count",)),
                        ("_initialize", ("_init_coef",))):
        code = getattr(getattr(base, loop, None), "__code__", None)
        for name in names:
            if code is None or name not in code.co_names:
                found.append(f"a call to {name} in BaseMultilayerPerceptron.{loop}")
    return found


_MISSING = _missing_hooks()
if _MISSING:
    raise ImportError(
        f"MLP Lens cannot watch MLPClassifier's training with scikit-learn {sklearn.__version__}: "
        f"it needs {', '.join(_MISSING)}, which this version does not have. MLP Lens was checked "
        f"against scikit-learn {CHECKED_WITH}; install the version pinned in requirements.txt "
        "(pip install -r requirements.txt), or update core/sklearn_hooks.py for this one."
    )


@contextmanager
def watching(model: MLPClassifier, on_epoch):
    """Call ``on_epoch(model)`` after each epoch of ``model.fit`` without changing the fit.

    For sgd and adam that is once per epoch (after scikit-learn has updated
    ``loss_curve_`` and ``n_iter_``); for lbfgs, once per loss evaluation, with
    ``model.loss_`` set to that evaluation's loss (scikit-learn itself sets it
    only at the end, to the accepted step's loss, which it then is again). The
    method is wrapped on this one instance and removed again on leaving the
    block, so the fitted model pickles as a plain ``MLPClassifier``.
    ``on_epoch`` may raise to end the fit; the exception propagates.
    ``on_epoch=None`` watches nothing.
    """
    if on_epoch is None:
        yield
        return
    name = EPOCH_METHODS[model.solver]
    original = getattr(model, name)

    def observed(*args, **kwargs):
        value = original(*args, **kwargs)
        if name == EPOCH_METHODS["lbfgs"]:
            model.loss_ = float(value[0])  # (loss, gradient)
        on_epoch(model)
        return value

    setattr(model, name, observed)
    try:
        yield
    finally:
        delattr(model, name)


def initial_first_layer(model: MLPClassifier, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The first layer's weights and biases that ``model.fit`` will start from.

    scikit-learn draws them first from a fresh ``RandomState(random_state)``
    with its ``_init_coef`` (Glorot's uniform initialisation); drawing them the
    same way on a clone leaves the model itself untouched.
    """
    twin = clone(model)
    twin._random_state = check_random_state(model.random_state)
    return twin._init_coef(n_features, model.hidden_layer_sizes[0], np.float64)


@dataclass
class LbfgsOutcome:
    """scipy's result for one lbfgs fit, once the fit has checked it; None if it was not seen."""

    result: object = None

    @property
    def seen(self) -> bool:
        return self.result is not None

    @property
    def converged(self) -> bool | None:
        """True or False as scipy reports it (scikit-learn warns when False); None: unknown."""
        return None if self.result is None else self.result.status == 0

    @property
    def message(self) -> str:
        return "" if self.result is None else str(self.result.message).strip()


_outcomes = threading.local()  # each thread's LbfgsOutcome being recorded, if any
_installed = 0  # how many recordings are under way, in any thread
_install_lock = threading.Lock()


@contextmanager
def recording_lbfgs_outcome():
    """Record scipy's result of an lbfgs fit run in this block, in this thread.

    lbfgs can stop short of ``max_iter`` without converging (a failed line
    search, the ``max_fun`` limit); scikit-learn then only warns, and
    ``warnings.catch_warnings`` swaps process-wide state, so two fits in two
    threads would mix up their warnings. Instead the check scikit-learn calls
    with scipy's result is wrapped while any recording is under way, and the
    wrapper keeps the result in the calling thread's ``LbfgsOutcome``.
    """
    outcome = LbfgsOutcome()
    _install()
    previous = getattr(_outcomes, "current", None)
    _outcomes.current = outcome
    try:
        yield outcome
    finally:
        _outcomes.current = previous
        _uninstall()


def _recording_check(solver, result, *args, **kwargs):
    outcome = getattr(_outcomes, "current", None)
    if outcome is not None:
        outcome.result = result
    return _original_check(solver, result, *args, **kwargs)


_original_check = getattr(_mlp, _RESULT_CHECK)


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed == 0:
            setattr(_mlp, _RESULT_CHECK, _recording_check)
        _installed += 1


def _uninstall() -> None:
    global _installed
    with _install_lock:
        _installed -= 1
        if _installed == 0:
            setattr(_mlp, _RESULT_CHECK, _original_check)
