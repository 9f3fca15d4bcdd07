"""Render helpers the pages share: each draws one section from core results."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from core.charts import line_spec
from core.compare import Comparing
from core.data import MnistData
from core.jobs import backend_notice
from core.outcome import epoch_word, outcome
from core.params import FIELDS, TrainParams
from core.train import TrainingFailed, TrainResult, dead_units_cause
from core.weights import (
    NARROW_COLUMN_PX,
    WeightStyle,
    chart_width,
    grid_shape,
    vote_columns,
)
from ui import cached, colours, dataview, keys, replay, text
from ui.sidebar import ADVANCED_OPEN, set_param

log = logging.getLogger("mlp_lens")
FIX = keys.FIX


@contextmanager
def guarded():
    """Turn any unexpected error into a short message; the traceback goes to the server log only."""
    trainings_notice()
    try:
        yield
    except TrainingFailed as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 - last line of defence for the page
        log.exception("page failed")
        st.error(f"Something went wrong ({type(exc).__name__}). "
                 "Try other settings; details are in the server's log.", icon=":material/error:")


def trainings_notice() -> None:
    """Once a session: why the trainings run on this machine though a Dask cluster was given
    (it could not be reached, or was lost)."""
    notice = backend_notice()
    if notice and st.session_state.get(keys.TRAININGS_NOTICE) != notice:
        st.session_state[keys.TRAININGS_NOTICE] = notice
        st.toast(text.plain(notice), icon=":material/cloud_off:", duration="long")


def data_summary(data: MnistData, params: TrainParams | None) -> None:
    """What the lesson prints about its data, folded away (the data page has it all)."""
    low, high = cached.pixel_range(data)
    label = f"The data: {len(data.y):,} × {data.X.shape[1]} pixels from {low} to {high}"
    if params is not None and params.holdout:
        train, test = data.counts(params.digits, "train"), data.counts(params.digits, "test")
        label += (f", {sum(train.values()):,} training and {sum(test.values()):,} test images "
                  f"of {join_words(params.digits, 'or')}")
    elif params is not None:
        counts = data.counts(params.digits)
        label += f", {sum(counts.values()):,} images of {join_words(params.digits, 'or')}"
    if data.source == "sample":
        label += " (offline sample)"
    with st.expander(label, icon=":material/dataset:", key="explore_data"):
        st.caption(text.plain(dataview.source_note(data)))
        row = st.container(horizontal=True, key="metrics_data")
        row.metric("X.shape", f"{len(data.y):,} × {data.X.shape[1]}", width="content",
                   help="Images × pixels: each 28 × 28 image is one row of 784 numbers.")
        row.metric("Pixel range", f"{low} – {high}", width="content",
                   help="0 is blank paper, 255 full ink.")
        row.metric("First five labels", " ".join(str(v) for v in data.y[:5]), width="content",
                   help="The digit each of the first five images shows.")
        if params is not None and params.holdout:
            row.metric("Training / test images",
                       f"{sum(train.values()):,} / {sum(test.values()):,}", width="content",
                       help="The chosen digits' images on each side of the split: the network "
                            "learns from the training side and is measured on the test side.")
            st.caption(f"Held out: {data.split}. Training / test images per chosen digit: "
                       + " · ".join(f"**{d}**: {train[d]:,} / {test[d]:,}"
                                    for d in params.digits))
        elif params is not None:
            row.metric("Training images", f"{sum(counts.values()):,}", width="content",
                       help="The images of the chosen digits: the network learns from all.")
            st.caption("Images per chosen digit: "
                       + " · ".join(f"**{d}**: {n:,}" for d, n in counts.items()))


def metrics(result: TrainResult) -> None:
    """Accuracy, epochs, dead units, the outcome's words and time in one compact row, and how
    the training ended in a sentence."""
    n_hidden, unit = result.params.hidden_units, epoch_word(result)
    row = st.container(horizontal=True, key="metrics")
    row.metric("Training accuracy", f"{result.train_accuracy:.1%}", width="content",
               help="Share of the training images the network labels correctly. Near 1 ÷ "
                    "(number of digits) is guessing.")
    if result.test_accuracy is not None:
        row.metric("Test accuracy", f"{result.test_accuracy:.1%}", width="content",
                   delta=f"{-result.gap * 100:+.1f} points vs training",
                   help=f"Share of the {result.n_test:,} held-out test images it labels "
                        "correctly: digits it never trained on. The gap to the training "
                        "accuracy is how much better it does on images it has seen.")
    row.metric(unit.capitalize(), f"{result.n_iter} of {result.params.max_iter}",
               width="content",
               help=f"{unit.capitalize()} trained, of at most max_iter. An epoch is one pass "
                    "over every training image.")
    problem = result.unit_problem
    if problem is None:
        row.metric("Dead units", "none", width="content",
                   help="identity units have a slope of 1 everywhere: they cannot die or "
                        "saturate.")
    else:
        row.metric(f"{problem.capitalize()} units", f"{len(result.dead_units)} of {n_hidden}",
                   width="content", help=_PROBLEM_HELP[problem])
    said = outcome(result, most_iter=int(FIELDS["max_iter"].high))
    row.metric("Outcome", said.words, width="content",
               help=f"How the training ended: {said.meaning} A sweep's table says the same.")
    row.metric("Training time", f"{result.fit_seconds:.1f} s", width="content",
               help="How long this network's own training took on the server.")
    st.caption(said.text)
    if said.more_epochs:
        st.button(f"Train for max_iter = {said.more_epochs}", key="fix_max_iter",
                  icon=":material/fast_forward:", on_click=_apply_fix,
                  args=(result, "max_iter", said.more_epochs))


_LIMITS = {"tanh": "−1 or 1", "logistic": "0 or 1"}
_PROBLEM_HELP = {
    "dead": "Hidden units whose output is zero on every training image: they learn nothing "
            "and pass nothing on.",
    "saturated": "Hidden units whose output sits at its limit on every training image, where "
                 "its slope is almost zero: they barely learn.",
}


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
    text += replay.deaths(result) + " " if replay.deaths(result) else ""
    text += "Why: " + dead_units_cause(result.params)
    if not result.params.scale_pixels:
        text += " The lesson's exact settings do this on real MNIST digits."
    with st.container(border=True):
        st.warning(text, icon=":material/heart_broken:")
        if not result.params.scale_pixels:
            with st.container(horizontal=True, gap="medium", vertical_alignment="center"):
                st.button("Scale pixels to 0–1 and retrain", on_click=_apply_fix,
                          args=(result, "scale_pixels", True), key="fix_scale_pixels",
                          type="primary")
                compare_pixels_link(result.params)


def compare_pixels_link(params: TrainParams) -> None:
    """A link to Compare: these settings with raw and with scaled pixels, side by side."""
    comparing = Comparing("scale_pixels", (False, True)).to_query()
    shown = {key: st.query_params[key] for key in ("colours", "scale") if key in st.query_params}
    st.page_link("pages/2_Compare_seeds.py", label="Compare raw and scaled pixels",
                 icon=":material/compare:", query_params={**params.to_query(), **shown,
                                                          **comparing})


def fix_effect(result: TrainResult) -> None:
    """After a one-click fix: what it changed, once the fixed network is shown."""
    before = st.session_state.get(FIX)
    if before is None or before["params"] != result.params or result.stopped:
        return
    problem = result.unit_problem or "dead"
    st.success(f"**{before['what']}**: training accuracy {before['accuracy']:.1%} → "
               f"{result.train_accuracy:.1%}, {problem} units {before['dead']} → "
               f"{len(result.dead_units)}.", icon=":material/auto_fix_high:")


def _apply_fix(result: TrainResult, name: str, value) -> None:
    """Change one setting for a fix, remember the network before, open the sidebar's section."""
    what = {"scale_pixels": "Scaling the pixels to 0–1",
            "max_iter": f"max_iter {result.params.max_iter} → {value}"}[name]
    st.session_state[FIX] = {"params": replace(result.params, **{name: value}), "what": what,
                             "accuracy": result.train_accuracy, "dead": len(result.dead_units)}
    set_param(name, value)
    st.session_state[ADVANCED_OPEN] = True  # both settings live under Advanced: show the change


def weight_grid(result: TrainResult, data: MnistData, style: WeightStyle) -> int | None:
    """The lesson's picture in the chosen colours, with the epoch slider under it, its legend,
    and the shapes of ``coefs_``. Returns the epoch on the slider (None without a history)."""
    n = result.params.hidden_units
    rows, cols = grid_shape(n)
    picture = st.empty()  # drawn after the slider under it, at the epoch it picks
    epoch = replay.epoch_slider(result)
    shown = f"{n} hidden units in a {rows} × {cols} grid"
    explained = "column i of coefs_[0] as a 28 × 28 image."
    if epoch is None or epoch == result.history.epochs[-1]:
        when = f" at the end of training ({replay.step_name(result)} {epoch})" if epoch else ""
        picture.image(cached.weight_grid_png(result, data, style),
                      caption=f"{shown}{when}: {explained}")
    else:
        last = result.history.epochs[-1]
        picture.image(replay.grid_png(result, data, epoch, style),
                      caption=f"{shown} at {result.history.step_name} {epoch} of {last}, "
                              f"replayed: {explained}")
    colours.legend(style)
    shapes = " and ".join(f"`{shape}`" for shape in result.layer_shapes)
    st.caption(f"`coefs_` holds **{len(result.layer_shapes)} layers**: {shapes}.")
    return epoch


def output_weights(result: TrainResult, data: MnistData) -> None:
    """The votes as a heatmap and, folded under it, as numbers: a narrow column has no room
    for them in the cells at a readable size."""
    with st.container(width=chart_width(NARROW_COLUMN_PX)):
        st.image(cached.output_weights_png(result, data),
                 caption="coefs_[1]: the weight from each hidden unit to each digit's output "
                         "(red = votes for the digit, blue = against).")
    with st.expander("The numbers", icon=":material/table:", key="explore_votes"):
        st.dataframe(_votes_table(result.model.coefs_[1], result.params.digits))


def _votes_table(weights: np.ndarray, digits):
    """coefs_[1] as a table, a row per unit, coloured as the heatmap is."""
    table = pd.DataFrame(weights, columns=vote_columns(digits),
                         index=pd.RangeIndex(1, len(weights) + 1, name="unit"))
    limit = float(np.abs(weights).max()) or 1.0
    return table.style.format("{:+.2f}").background_gradient(cmap="RdBu_r", vmin=-limit,
                                                             vmax=limit)


def loss_curve(result: TrainResult) -> None:
    """The training loss per epoch and, with early stopping, the validation accuracy beside it."""
    if len(result.loss_curve) < 2:
        return
    if not result.validation_scores:
        st.subheader("Training loss")
        loss_chart(result.loss_curve)
        return
    loss, score = st.columns(2, gap="large")
    with loss:
        st.subheader("Training loss")
        loss_chart(result.loss_curve)
    with score:
        validation_curve(result)


def validation_curve(result: TrainResult) -> None:
    """With early stopping: the accuracy on the images set aside, per epoch."""
    if not result.validation_scores:
        return
    st.subheader("Validation accuracy")
    st.vega_lite_chart(line_spec(result.validation_scores, x_label="epoch", y_label="accuracy",
                                 value_format=".1%"), height=220, width="stretch")
    share = result.params.validation_fraction
    st.caption(f"On the {share:.0%} of the training images set aside (validation_scores_); "
               "training stops when it stops improving and keeps the best network.")


def loss_chart(loss_curve, *, height: int = 220) -> None:
    """The loss after each epoch, as a Vega-Lite spec (no Altair conversion on every run)."""
    st.vega_lite_chart(line_spec(loss_curve, x_label="epoch", y_label="loss"), height=height,
                       width="stretch")


def join_words(items, last: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (or 'a, b or c')."""
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]
