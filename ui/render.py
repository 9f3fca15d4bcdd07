"""Render helpers the pages share: each draws one section from core results."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import streamlit as st

from core.data import MnistData
from core.params import TrainParams
from core.train import TrainingFailed, TrainResult, dead_units_cause
from core.weights import grid_shape
from ui import cached
from ui.sidebar import set_param

log = logging.getLogger("mlp_lens")


@contextmanager
def guarded():
    """Turn any unexpected error into a short message; the traceback goes to the server log only."""
    try:
        yield
    except TrainingFailed as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 - last line of defence for the page
        log.exception("page failed")
        st.error(f"Something went wrong ({type(exc).__name__}). "
                 "Try other settings; details are in the server's log.", icon=":material/error:")


def data_summary(data: MnistData, params: TrainParams | None) -> None:
    """What the lesson prints about its data: source, shape, pixel range, first labels, counts."""
    st.subheader("The data")
    if data.source == "sample":
        st.info(data.note, icon=":material/inventory_2:")
    else:
        st.caption(data.note)
    low, high = cached.pixel_range(data.fingerprint)
    cols = st.columns(4)
    cols[0].metric("X.shape", f"{len(data.y):,} × {data.X.shape[1]}")
    cols[1].metric("Pixel range", f"{low} – {high}")
    cols[2].metric("First five labels", " ".join(str(v) for v in data.y[:5]))
    if params is not None:
        counts = data.counts(params.digits)
        cols[3].metric("Training images", f"{sum(counts.values()):,}")
        st.caption("Images per chosen digit: "
                   + " · ".join(f"**{d}**: {n:,}" for d, n in counts.items()))


def metrics(result: TrainResult) -> None:
    """Accuracy, iterations, convergence, time and dead units in one row."""
    n_hidden = result.params.hidden_units
    cols = st.columns(5)
    cols[0].metric("Training accuracy", f"{result.train_accuracy:.1%}")
    cols[1].metric("Iterations", f"{result.n_iter} / {result.params.max_iter}")
    cols[2].metric("Converged", "yes" if result.converged else "no")
    cols[3].metric("Training time", f"{result.fit_seconds:.1f} s")
    problem = result.unit_problem
    if problem is None:
        cols[4].metric("Dead units", "none", help="identity units have a slope of 1 everywhere: "
                       "they cannot die or saturate.")
    else:
        cols[4].metric(f"{problem.capitalize()} units", f"{len(result.dead_units)} of {n_hidden}")
    st.caption(f"Why it stopped: {result.stop_reason}. "
               f"Trained on {result.n_samples:,} images.")


_LIMITS = {"tanh": "−1 or 1", "logistic": "0 or 1"}


def dead_units_warning(result: TrainResult) -> None:
    """Say plainly which units never activate (or are saturated), why, and offer the fix."""
    dead = result.dead_units
    if not dead:
        return
    names = join_words([str(i + 1) for i in dead])
    unit_word = "Unit" if len(dead) == 1 else "Units"
    one = len(dead) == 1
    if result.unit_problem == "saturated":
        activation = result.params.activation
        text = (f"**{unit_word} {names} {'is' if one else 'are'} saturated**: the {activation} "
                f"output is within 1% of its limits ({_LIMITS[activation]}) on every one of the "
                f"{result.n_samples:,} training images, where its slope is almost zero, so "
                f"{'it' if one else 'they'} barely learn. ")
    else:
        verb = "never activates" if one else "never activate"
        text = (f"**{unit_word} {names} {verb}**: the ReLU output is zero on every one of the "
                f"{result.n_samples:,} training images, so {'it' if one else 'they'} "
                "learn nothing and pass nothing on. ")
    text += "Why: " + dead_units_cause(result.params)
    if not result.params.scale_pixels:
        text += " The lesson's exact settings do this on real MNIST digits."
    with st.container(border=True):
        st.warning(text, icon=":material/heart_broken:")
        if not result.params.scale_pixels:
            st.button("Scale pixels to 0–1 and retrain", on_click=set_param,
                      args=("scale_pixels", True), key="fix_scale_pixels", type="primary")


def weight_grid(result: TrainResult, data: MnistData) -> None:
    """The lesson's picture, plus the shapes of ``coefs_``."""
    n = result.params.hidden_units
    rows, cols = grid_shape(n)
    st.subheader("What each hidden unit looks for")
    st.image(cached.weight_grid_png(result, data),
             caption=f"{n} hidden units in a {rows} × {cols} grid: column i of coefs_[0] "
                     "as a 28 × 28 image (white = its most positive weight, black = most "
                     "negative).")
    shapes = " and ".join(f"`{shape}`" for shape in result.layer_shapes)
    st.markdown(f"`coefs_` holds **{len(result.layer_shapes)} layers**: {shapes}.")


def output_weights(result: TrainResult, data: MnistData) -> None:
    st.subheader("How each unit votes")
    st.image(cached.output_weights_png(result, data),
             caption="coefs_[1]: weight from each hidden unit to each digit's output "
                     "(red = votes for, blue = against).")


def loss_curve(result: TrainResult) -> None:
    """The training loss per epoch and, with early stopping, the validation accuracy beside it."""
    if len(result.loss_curve) < 2:
        return
    if not result.validation_scores:
        st.subheader("Training loss")
        st.line_chart({"loss": list(result.loss_curve)}, x_label="epoch", y_label="loss",
                      height=220)
        return
    loss, score = st.columns(2, gap="large")
    with loss:
        st.subheader("Training loss")
        st.line_chart({"loss": list(result.loss_curve)}, x_label="epoch", y_label="loss",
                      height=220)
    with score:
        st.subheader("Validation accuracy")
        st.line_chart({"accuracy": list(result.validation_scores)}, x_label="epoch",
                      y_label="accuracy", height=220)
        share = result.params.validation_fraction
        st.caption(f"On the {share:.0%} of the training images set aside (validation_scores_); "
                   "training stops when it stops improving and keeps the best network.")


def join_words(items) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
